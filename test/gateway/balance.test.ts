import { applyGatewayVars } from "../../src/gateway/config";
import { beforeEach, describe, expect, it } from "vitest";
import { resetGatewayState } from "./reset-state";
import { pickByRendezvous, rendezvousScore } from "../../src/gateway/pick-endpoint";
import { gateway, httpPort, podEndpoint, podOf, seedRoute, type PodName } from "./fixtures";

beforeEach(() => resetGatewayState());

/** χ² critical value for 2 degrees of freedom at p = 0.001: a fair gateway fails this once in a thousand runs. */
const CHI_SQUARE_2DF_P001 = 13.816;

describe("random choice", () => {
  it("spreads 300 requests fairly over 3 ready pods", async () => {
    const host = "fair-default.lb.svcedge.local";
    await seedRoute(host, { ports: [httpPort(["a", "b", "c"])] });
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 30 }, () => gateway(`http://${host}/`).then(podOf)));
      for (const pod of answers) counts[pod!] = (counts[pod!] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(["a", "b", "c"]);
    const chiSquare = Object.values(counts).reduce((sum, n) => sum + (n - 100) ** 2 / 100, 0);
    expect(chiSquare, JSON.stringify(counts)).toBeLessThan(CHI_SQUARE_2DF_P001);
  });
});

describe("ClientIP session affinity", () => {
  const host = "sticky-default.lb.svcedge.local";
  const clients = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);

  async function podsFor(ready: PodName[]): Promise<Map<string, string>> {
    await seedRoute(host, { sessionAffinity: "ClientIP", affinityTimeoutSeconds: 10800, ports: [httpPort(ready)] });
    resetGatewayState();
    const chosen = new Map<string, string>();
    for (const ip of clients) {
      const answers = new Set<string | null>();
      for (let i = 0; i < 4; i++) answers.add(await podOf(await gateway(`http://${host}/`, { headers: { "cf-connecting-ip": ip } })));
      expect([...answers], ip).toHaveLength(1);
      chosen.set(ip, [...answers][0]!);
    }
    return chosen;
  }

  it("keeps a client on one pod, spreads clients, and moves only the clients of a removed pod", async () => {
    const before = await podsFor(["a", "b", "c"]);
    expect(new Set(before.values()).size).toBe(3);
    const after = await podsFor(["a", "c"]);
    let moved = 0;
    for (const ip of clients) {
      if (before.get(ip) === "b") {
        expect(["a", "c"]).toContain(after.get(ip));
        moved += 1;
      } else {
        expect(after.get(ip), ip).toBe(before.get(ip));
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it("uses the first X-Forwarded-For hop when there is no CF-Connecting-IP", async () => {
    await seedRoute(host, { sessionAffinity: "ClientIP", ports: [httpPort(["a", "b", "c", "d"])] });
    const viaCf = await podOf(await gateway(`http://${host}/`, { headers: { "cf-connecting-ip": "203.0.113.9" } }));
    for (let i = 0; i < 5; i++) {
      const viaXff = await podOf(await gateway(`http://${host}/`, { headers: { "x-forwarded-for": `203.0.113.9, 10.0.0.${i}` } }));
      expect(viaXff).toBe(viaCf);
    }
  });

  it("under GATEWAY_TRUST_X_FORWARDED_FOR (npm start) hashes the first X-Forwarded-For hop, although CF-Connecting-IP is there", async () => {
    await seedRoute(host, { sessionAffinity: "ClientIP", ports: [httpPort(["a", "b", "c", "d"])] });
    const expected = await podOf(await gateway(`http://${host}/`, { headers: { "cf-connecting-ip": "198.18.0.7" } }));
    applyGatewayVars({ GATEWAY_TRUST_X_FORWARDED_FOR: "true" });
    const local = { "cf-connecting-ip": "127.0.0.1", "x-forwarded-for": "198.18.0.7" };
    for (let i = 0; i < 5; i++) expect(await podOf(await gateway(`http://${host}/`, { headers: local }))).toBe(expected);
    // Without it, every local client is 127.0.0.1: the same pod for all, which is what made affinity untestable locally.
    const clients = new Set<string | null>();
    for (let i = 1; i <= 16; i++)
      clients.add(await podOf(await gateway(`http://${host}/`, { headers: { "cf-connecting-ip": "127.0.0.1", "x-forwarded-for": `198.18.0.${i}` } })));
    expect(clients.size).toBeGreaterThan(1);
  });

  it("is a pure function of (client IP, endpoint ids): every isolate agrees", () => {
    const endpoints = (["a", "b", "c", "d", "e"] as const).map(podEndpoint);
    // Golden values: changing the hash would silently reshuffle every sticky client.
    // cyrb53 of key, NUL, id (api/content-hash.ts), computed independently.
    expect(rendezvousScore("203.0.113.7", "uid-a")).toBe(4738173217156868);
    expect(rendezvousScore("203.0.113.7", "uid-b")).not.toBe(4738173217156868);
    expect(rendezvousScore("", "")).toBe(4446763975410778);
    const first = pickByRendezvous(endpoints, "203.0.113.7", () => true);
    const reversed = pickByRendezvous([...endpoints].reverse(), "203.0.113.7", () => true);
    expect(reversed).toEqual(first);
  });
});
