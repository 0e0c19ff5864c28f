// Node liveness hands out expired nodes in slices, so that an alarm after a mass expiry
// (a partition) does bounded work and the next alarm takes the rest.
import { describe, expect, it } from "vitest";
import { NodeLiveness } from "../../src/registry/node-liveness";

describe("NodeLiveness", () => {
  it("reports at most `max` expired nodes per call, each once, the rest on later calls", () => {
    const liveness = new NodeLiveness(1000);
    for (let i = 0; i < 25; i++) liveness.renew({ metadata: { name: `n${i}` } }, 0);
    liveness.renew({ metadata: { name: "fresh" } }, 5000);
    expect(liveness.expired(500)).toEqual([]);
    const first = liveness.expired(2000, 20);
    const second = liveness.expired(2000, 20);
    expect(first).toHaveLength(20);
    expect(second).toHaveLength(5);
    expect(new Set([...first, ...second]).size).toBe(25);
    expect(liveness.expired(2000, 20)).toEqual([]);
    expect(liveness.nextExpiry()).toBe(6000);
  });
});
