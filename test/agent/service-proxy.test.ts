// ServiceProxy's search for the Services a kernel rejects, against a proxier that rejects
// what the test says (the kernel tests in proxy/kernel.test.ts do the same with real
// rejections; here the counts of attempts are checked, and failures no Service causes).
import { describe, expect, it } from "vitest";
import type { EndpointSlice, Service } from "../../src/api/types";
import { AgentMetrics } from "../../src/agent/metrics";
import type { Proxier, SyncResult } from "../../src/agent/proxy/proxier";
import type { ProxyState } from "../../src/agent/proxy/state";
import { MAX_ISOLATION_ATTEMPTS, ServiceProxy } from "../../src/agent/service-proxy";
import { endpoint, service, slice } from "./proxy/fixtures";

/** Rejects any state holding a Service `rejects` names; remembers every state it was given. */
class ChoosyProxier implements Proxier {
  readonly backend = "nftables";
  readonly tried: ProxyState[] = [];
  programmed: ProxyState | undefined;
  constructor(public rejects: (serviceName: string) => boolean) {}
  async sync(state: ProxyState): Promise<SyncResult> {
    this.tried.push(state);
    const bad = state.services.find((p) => this.rejects(p.service));
    if (bad) return { ok: false, error: `nft -f: exit 1: Error: rejected ${bad.service}` };
    this.programmed = state;
    return { ok: true, mode: "full" };
  }
  async cleanup() {
    return { ok: true } as const;
  }
}

function cluster(count: number): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < count; i++) {
    services.push(service("default", `svc-${i}`, { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: "http", port: 80 }] }));
    slices.push(slice("default", `svc-${i}`, [{ name: "http", port: 80 }], [endpoint(`198.18.${i >> 8}.${i & 255}`)]));
  }
  return { services, slices };
}

function proxyFor(proxier: Proxier, objects: { services: Service[]; slices: EndpointSlice[] }, metrics = new AgentMetrics()) {
  return new ServiceProxy({
    proxier,
    nodeName: "node-a",
    nodeIPs: ["198.18.0.1"],
    services: () => objects.services,
    slices: () => objects.slices,
    metrics,
    conntrack: { cleanStaleUDP: async () => ({ ok: true, filters: 0, entries: 0 }) },
  });
}

const names = (state: ProxyState | undefined) => new Set(state?.services.map((p) => p.service));

describe("ServiceProxy with a kernel that rejects some Services", () => {
  it("finds two rejected Services among 1,000 in a few dozen attempts and programs the other 998", async () => {
    const proxier = new ChoosyProxier((name) => name === "svc-17" || name === "svc-600");
    const metrics = new AgentMetrics();
    const proxy = proxyFor(proxier, cluster(1000), metrics);
    expect(await proxy.sync(true)).toBe(true);
    expect([...proxy.rejectedServices().keys()].sort()).toEqual(["default/svc-17", "default/svc-600"]);
    expect(proxy.rejectedServices().get("default/svc-17")).toContain("rejected svc-17");
    expect(names(proxier.programmed).size).toBe(998);
    expect(proxier.tried.length).toBeLessThanOrEqual(1 + 2 * 2 * Math.ceil(Math.log2(1000)) + 1);
    expect(metrics.rejectedServiceSyncs.get()).toBe(2);
    expect(metrics.rejectedServices.get({ service: "default/svc-600" })).toBe(1);

    // An unchanged rejected Service is not tried again by partial syncs; a full sync does try it.
    const before = proxier.tried.length;
    expect(await proxy.sync(false)).toBe(true);
    expect(proxier.tried.length).toBe(before + 1);
    expect(names(proxier.tried.at(-1)).has("svc-17")).toBe(false);
    proxier.rejects = (name) => name === "svc-600";
    expect(await proxy.sync(true)).toBe(true);
    expect([...proxy.rejectedServices().keys()]).toEqual(["default/svc-600"]);
    expect(names(proxier.programmed).has("svc-17")).toBe(true);
  });

  it("keeps a rejected Service at the rules it had before the change the kernel rejects", async () => {
    const objects = cluster(4);
    const proxier = new ChoosyProxier(() => false);
    const proxy = proxyFor(proxier, objects);
    expect(await proxy.sync(true)).toBe(true);
    const old = proxier.programmed!.services.find((p) => p.service === "svc-2");
    objects.services = objects.services.map((s) => (s.metadata.name === "svc-2" ? { ...s, spec: { ...s.spec, ports: [{ name: "http", port: 81 }] } } : s));
    proxier.rejects = (name) => name === "svc-2";
    // Rejecting only the new version: a state with the old one is fine.
    const sync = proxier.sync.bind(proxier);
    proxier.sync = async (state) =>
      state.services.some((p) => p.service === "svc-2" && p.port === 81) ? sync(state) : ((proxier.programmed = state), { ok: true, mode: "full" });
    expect(await proxy.sync(false)).toBe(true);
    expect(proxier.programmed!.services.find((p) => p.service === "svc-2")).toBe(old);
    expect([...proxy.rejectedServices().keys()]).toEqual(["default/svc-2"]);
  });

  it("does not blame Services when the kernel rejects everything: the sync fails whole, within the attempt budget", async () => {
    const proxier = new ChoosyProxier(() => true);
    const proxy = proxyFor(proxier, cluster(5000));
    expect(await proxy.sync(true)).toBe(false);
    expect(proxy.rejectedServices().size).toBe(0);
    expect(proxier.tried.length).toBeLessThanOrEqual(1 + MAX_ISOLATION_ATTEMPTS + 1);
  });

  it("fails whole when the only change is rejected and so is the state before it", async () => {
    const objects = cluster(3);
    const proxier = new ChoosyProxier(() => false);
    const proxy = proxyFor(proxier, objects);
    expect(await proxy.sync(true)).toBe(true);
    objects.services = [...objects.services, ...cluster(4).services.slice(3)];
    proxier.rejects = () => true;
    expect(await proxy.sync(false)).toBe(false);
    expect(proxy.rejectedServices().size).toBe(0);
  });
});
