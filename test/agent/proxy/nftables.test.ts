import { describe, expect, it } from "vitest";
import { buildProxyState, type ProxyState } from "../../../src/agent/proxy/state";
import { renderNftables, renderNftablesUpdate } from "../../../src/agent/proxy/nftables/render";
import { NftModel } from "../../../src/agent/proxy/nftables/trace";
import { endpoint, GOLDEN_CASES, NODE, NODE_IP, service, slice } from "./fixtures";
import { expectGolden } from "./golden";

const POD_CIDR = "198.18.0.0/15";

const emptyState = buildProxyState({ services: [], slices: [], nodeName: NODE, nodeIPs: [NODE_IP] });
const baseRender = renderNftables(emptyState);
/** Everything up to the end of the fixed chains; each case's golden holds only what follows. */
const basePrefix = baseRender.slice(0, baseRender.lastIndexOf("}\n"));

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
    expect(renderNftables(buildProxyState(skipped.input))).toBe(baseRender);
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
    const update = renderNftablesUpdate(prev, next);
    const updated = new NftModel(renderNftables(prev)).apply(update);
    expect(modelOf(updated)).toEqual(modelOf(new NftModel(renderNftables(next))));
    // And back again.
    const restored = new NftModel(renderNftables(next)).apply(renderNftablesUpdate(next, prev));
    expect(modelOf(restored)).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("handles services appearing and disappearing", () => {
    const prev = bigState(10, 2);
    const next = bigState(12, 2);
    const grown = new NftModel(renderNftables(prev)).apply(renderNftablesUpdate(prev, next));
    expect(modelOf(grown)).toEqual(modelOf(new NftModel(renderNftables(next))));
    const shrunk = new NftModel(renderNftables(next)).apply(renderNftablesUpdate(next, prev));
    expect(modelOf(shrunk)).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("keeps one endpoint's change to a small transaction at 10,000 services x 10 endpoints", () => {
    const prev = bigState(10_000, 10);
    const next = bigState(10_000, 10, (s, e) => (s === 4242 && e === 3 ? { ready: false } : undefined));
    const update = renderNftablesUpdate(prev, next).trim().split("\n");
    // The service chain is rewritten, the endpoint chain goes away.
    expect(update).toHaveLength(1 + 1 + 1 + 1);
    expect(update.filter((l) => l.startsWith("flush chain ip svcedge service-"))).toHaveLength(1);
    expect(update.filter((l) => l.startsWith("delete chain ip svcedge endpoint-"))).toHaveLength(1);
    expect(renderNftables(next).split("\n").length).toBeGreaterThan(10_000 * 10 * 3);
  });
});
