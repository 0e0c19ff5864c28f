// Ejection arithmetic (Envoy's model), on the module alone: real clock, short times.
import { beforeEach, expect, it } from "vitest";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { isEjected, recordFailure, recordSuccess } from "../../src/gateway/outlier";

const SCOPE = "default/web/http";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(() => resetGatewayState());

it("ejects for base × ejections in a row, capped, and a success after the ejection resets the count", async () => {
  configureGateway({ baseEjectionMs: 40, maxEjectionMs: 100, maxEjectionPercent: 100 });
  const t1 = Date.now();
  expect(recordFailure(SCOPE, "pod-a", 4)).toBe(true);
  expect(isEjected(SCOPE, "pod-a", t1 + 30)).toBe(true);
  expect(isEjected(SCOPE, "pod-a", t1 + 50)).toBe(false);
  expect(isEjected(SCOPE, "pod-b", t1)).toBe(false);

  await sleep(50);
  const t2 = Date.now();
  expect(recordFailure(SCOPE, "pod-a", 4)).toBe(true);
  // Second ejection in a row: 2 × 40 ms.
  expect(isEjected(SCOPE, "pod-a", t2 + 70)).toBe(true);
  expect(isEjected(SCOPE, "pod-a", t2 + 90)).toBe(false);

  await sleep(90);
  const t3 = Date.now();
  recordFailure(SCOPE, "pod-a", 4);
  // Third: 3 × 40 = 120 ms, capped at 100 ms.
  expect(isEjected(SCOPE, "pod-a", t3 + 95)).toBe(true);
  expect(isEjected(SCOPE, "pod-a", t3 + 105)).toBe(false);

  await sleep(110);
  recordSuccess(SCOPE, "pod-a");
  const t4 = Date.now();
  recordFailure(SCOPE, "pod-a", 4);
  expect(isEjected(SCOPE, "pod-a", t4 + 30)).toBe(true);
  expect(isEjected(SCOPE, "pod-a", t4 + 50)).toBe(false);
});

it("a success while ejected does not cut the ejection short", () => {
  configureGateway({ baseEjectionMs: 10_000, maxEjectionPercent: 100 });
  recordFailure(SCOPE, "pod-a", 2);
  recordSuccess(SCOPE, "pod-a");
  expect(isEjected(SCOPE, "pod-a")).toBe(true);
});

it("caps the ejected share per scope, always allowing one", () => {
  configureGateway({ baseEjectionMs: 10_000, maxEjectionPercent: 50 });
  const ids = ["a", "b", "c", "d", "e"];
  const ejected = ids.map((id) => recordFailure(SCOPE, id, ids.length));
  // floor(5 × 50 %) = 2
  expect(ejected).toEqual([true, true, false, false, false]);
  // Another scope (another Service or port) has its own budget.
  expect(recordFailure("default/other/http", "a", 1)).toBe(true);
});
