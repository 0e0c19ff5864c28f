import { describe, expect, it } from "vitest";
import { buildProxyState, type ProxyState } from "../../../src/agent/proxy/state";
import { renderNftables, renderNftablesUpdate } from "../../../src/agent/proxy/nftables/render";
import { NftModel } from "../../../src/agent/proxy/nftables/trace";
import { BASE_CHAINS } from "../../../src/agent/proxy/nftables/layout";
import { endpoint, GOLDEN_CASES, NODE, NODE_IP, service, slice } from "./fixtures";
import { expectGolden } from "./golden";

const POD_CIDR = "198.18.0.0/15";

const emptyState = buildProxyState({ services: [], slices: [], nodeName: NODE, nodeIPs: [NODE_IP] });
const baseRender = renderNftables(emptyState, { clusterCIDRs: [POD_CIDR] });
/** Everything up to the end of the fixed chains; each case's golden holds only what follows. */
const basePrefix = baseRender.slice(0, baseRender.indexOf(BASE_CHAINS) + BASE_CHAINS.length);

describe("renderNftables golden text", () => {
  it("base table", () => {
    const { expected, actual } = expectGolden("base.nft", baseRender);
    expect(actual).toBe(expected);
  });

  it.each(GOLDEN_CASES)("$name", ({ name, input }) => {
    const full = renderNftables(buildProxyState(input), { clusterCIDRs: [POD_CIDR] });
    expect(full.startsWith(basePrefix)).toBe(true);
    const { expected, actual } = expectGolden(`${name}.nft`, full.slice(basePrefix.length));
    expect(actual).toBe(expected);
  });

  it("renders nothing per service for ExternalName and headless Services", () => {
    const skipped = GOLDEN_CASES.find((c) => c.name === "externalname-and-headless")!;
    expect(renderNftables(buildProxyState(skipped.input), { clusterCIDRs: [POD_CIDR] })).toBe(baseRender);

  });
});

/** A cluster of `count` ClusterIP services with `perService` endpoints each. */
function bigState(count: number, perService: number, tweak?: (svc: number, ep: number) => { ready?: boolean } | undefined): ProxyState {
  const services = [];
  const slices = [];
  for (let s = 0; s < count; s++) {
    const ip = `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`;
    services.push(service(`ns-${s % 50}`, `svc-${s}`, { clusterIP: ip, ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    const eps = [];
    for (let e = 0; e < perService; e++) eps.push(endpoint(`198.18.${(s * perService + e) >> 8 & 255}.${(s * perService + e) & 255}`, tweak?.(s, e)));
    slices.push(slice(`ns-${s % 50}`, `svc-${s}`, [{ name: "http", port: 8080 }], eps));
  }
  return buildProxyState({ services, slices, nodeName: NODE, nodeIPs: [NODE_IP] });
}

const modelOf = (m: NftModel) => ({ chains: Object.fromEntries(m.ruleText), maps: Object.fromEntries([...m.maps].map(([k, v]) => [k, Object.fromEntries(v)])) });

/** The update for a change the kernel can take incrementally (fails the test otherwise). */
function updateOf(prev: ProxyState, next: ProxyState): string {
  const update = renderNftablesUpdate(prev, next);
  if (update === undefined) throw new Error("expected an incremental update, got a full sync");
  return update;
}

const traceIn = (m: NftModel, dst: string, src = "198.19.9.9") => m.trace({ src, dst, proto: "TCP", dport: 80 }, { nodeIPs: [NODE_IP] });

describe("renderNftablesUpdate", () => {
  const all = (extra: Parameters<typeof bigState>[2]) => bigState(40, 3, extra);

  it("is empty when nothing changed", () => {
    const state = all(undefined);
    expect(renderNftablesUpdate(state, bigState(40, 3))).toBe("");
  });

  it.each([
    ["an endpoint becomes unready", (s: number, e: number) => (s === 7 && e === 1 ? { ready: false } : undefined)],
    ["a service loses all endpoints", (s: number) => (s === 3 ? { ready: false } : undefined)],
  ])("full(prev) + update(prev, next) holds what full(next) holds: %s", (_name, tweak) => {
    const prev = all(undefined);
    const next = all(tweak);
    const updated = new NftModel(renderNftables(prev)).apply(updateOf(prev, next));
    expect(modelOf(updated)).toEqual(modelOf(new NftModel(renderNftables(next))));
    // And back again.
    const restored = new NftModel(renderNftables(next)).apply(updateOf(next, prev));
    expect(modelOf(restored)).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("handles services appearing and disappearing", () => {
    const prev = bigState(10, 2);
    const next = bigState(12, 2);
    const grown = new NftModel(renderNftables(prev)).apply(updateOf(prev, next));
    expect(modelOf(grown)).toEqual(modelOf(new NftModel(renderNftables(next))));
    const shrunk = new NftModel(renderNftables(next)).apply(updateOf(next, prev));
    expect(modelOf(shrunk)).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("finds the pick chain for one fewer endpoint already there, and adds or deletes pick chains only when the largest count moves", () => {
    const prev = bigState(5, 3);
    const next = bigState(5, 3, (s, e) => (s === 2 && e === 0 ? { ready: false } : undefined));
    const update = updateOf(prev, next);
    // Pick chains 1..3 exist since the full sync: no map lookup rule is added by a shrinking Service.
    expect(update).not.toContain("add chain ip svcedge endpoints-");
    expect(update).toContain("add chain ip svcedge clusterip-tcp-mod-2\n");
    const updated = new NftModel(renderNftables(prev)).apply(update);
    expect(modelOf(updated)).toEqual(modelOf(new NftModel(renderNftables(next))));
    expect(traceIn(updated, "10.96.0.2").output).toBe("198.18.0.7:8080, 198.18.0.8:8080");
    const back = updateOf(next, prev);
    expect(back).toContain("delete chain ip svcedge clusterip-tcp-mod-2\n");
    expect(back).not.toContain("chain ip svcedge endpoints-");
    expect(modelOf(new NftModel(renderNftables(next)).apply(back))).toEqual(modelOf(new NftModel(renderNftables(prev))));

    const grown = bigState(5, 5);
    const up = updateOf(prev, grown);
    expect(up.match(/^add chain ip svcedge endpoints-tcp-mod-\d+$/gm)!.sort()).toEqual(["add chain ip svcedge endpoints-tcp-mod-4", "add chain ip svcedge endpoints-tcp-mod-5"]);
    expect(modelOf(new NftModel(renderNftables(prev)).apply(up))).toEqual(modelOf(new NftModel(renderNftables(grown))));
    const down = updateOf(grown, prev);
    expect(down.match(/^delete chain ip svcedge endpoints-tcp-mod-\d+$/gm)!.sort()).toEqual(["delete chain ip svcedge endpoints-tcp-mod-4", "delete chain ip svcedge endpoints-tcp-mod-5"]);
    expect(modelOf(new NftModel(renderNftables(grown)).apply(down))).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("keeps a hairpin element while another service port still uses the endpoint", () => {
    const shared = (ready: boolean) =>
      buildProxyState({
        services: [
          service("default", "a", { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
          service("default", "b", { clusterIP: "10.96.0.2", ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
        ],
        slices: [
          slice("default", "a", [{ name: "http", port: 8080 }], [endpoint("198.18.1.1", { ready })]),
          slice("default", "b", [{ name: "http", port: 8080 }], [endpoint("198.18.1.1")]),
        ],
        nodeName: NODE,
        nodeIPs: [NODE_IP],
      });
    const update = updateOf(shared(true), shared(false));
    expect(update).not.toContain("hairpin-endpoints");
    const updated = new NftModel(renderNftables(shared(true))).apply(update);
    expect(traceIn(updated, "10.96.0.2", "198.18.1.1")).toEqual({ output: "198.18.1.1:8080", masquerade: true });
  });

  it("asks for a full sync when a changed service port shares an entry with another", () => {
    const clash = (port: number) =>
      buildProxyState({
        services: [
          service("default", "a", { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
          service("default", "b", { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80, targetPort: port }] }),
        ],
        slices: [
          slice("default", "a", [{ name: "http", port: 8080 }], [endpoint("198.18.1.1")]),
          slice("default", "b", [{ name: "http", port }], [endpoint("198.18.1.2")]),
        ],
        nodeName: NODE,
        nodeIPs: [NODE_IP],
      });
    expect(renderNftablesUpdate(clash(8080), clash(9090))).toBeUndefined();
    // The full render gives the entry to the first Service only.
    expect(traceIn(new NftModel(renderNftables(clash(9090))), "10.96.0.1").output).toBe("198.18.1.1:8080");
  });

  it("keeps one endpoint's change to a small transaction at 10,000 services x 10 endpoints", () => {
    const prev = bigState(10_000, 10);
    const next = bigState(10_000, 10, (s, e) => (s === 4242 && e === 3 ? { ready: false } : undefined));
    const update = updateOf(prev, next).trim().split("\n");
    // The ClusterIP now goes to the shared 9-endpoint chains; indexes 3..9 move; the endpoint leaves the hairpin set.
    // No chain of its own is rewritten: service ports without affinity own none.
    expect(update.filter((l) => / chain ip svcedge service-/.test(l))).toHaveLength(0);
    expect(update.filter((l) => l.startsWith("add element ip svcedge service-ips ") && l.endsWith(": goto clusterip-tcp-mod-9 }"))).toHaveLength(1);
    expect(update.filter((l) => l.startsWith("delete element ip svcedge service-endpoints "))).toHaveLength(7);
    expect(update.filter((l) => l.startsWith("add element ip svcedge service-endpoints "))).toHaveLength(6);
    expect(update.filter((l) => l.startsWith("delete element ip svcedge hairpin-endpoints "))).toHaveLength(1);
    expect(update.length).toBeLessThan(25);
    // ...out of a full render holding an endpoint map element per (service, endpoint).
    expect(renderNftables(next).match(/ : [\d.]+ \. 8080/g)!.length).toBeGreaterThan(10_000 * 9);
  });
});

describe("full sync over an existing table", () => {
  it("deletes stale chains and affinity sets, keeps current affinity sets, and replaces a set whose timeout changed", () => {
    const sticky = GOLDEN_CASES.find((c) => c.name === "session-affinity")!;
    const state = buildProxyState(sticky.input);
    const sets = [...renderNftables(state).matchAll(/^\tset (affinity-\S+) /gm)].map((m) => m[1]!);
    expect(sets).toHaveLength(2);
    const existing = {
      chains: ["services", "service-OLD-default/gone/tcp/http", "endpoint-OLD"],
      sets: new Map<string, number | undefined>([[sets[0]!, 600], [sets[1]!, 300], ["affinity-OLD", 600], ["hairpin-endpoints", undefined]]),
    };
    const text = renderNftables(state, {}, existing);
    expect(text).toContain("delete chain ip svcedge service-OLD-default/gone/tcp/http\n");
    expect(text).toContain("delete chain ip svcedge endpoint-OLD\n");
    expect(text).not.toContain("delete chain ip svcedge services\n");
    expect(text).toContain("delete set ip svcedge affinity-OLD\n");
    expect(text).toContain(`delete set ip svcedge ${sets[1]}\n`);
    expect(text).not.toContain(`delete set ip svcedge ${sets[0]}\n`);
    // Never the whole table: affinity sets keep their clients across full syncs.
    expect(text).not.toContain("delete table");
  });
});
