// The registry keeps `routes/filter` (src/api/host-filter.ts) in step with its routable
// hosts: rewritten when a host comes or goes, through the coalesced KV replica, and not
// when the set stays the same (a relabel, a restart). The gateway then answers unknown
// hosts without KV reads, and a new Service's hosts route after one cache period.
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { decodeHostFilter, HOST_FILTER_KEY, mayContainHost, type HostFilter } from "../../src/api/host-filter";
import { resetGatewayState } from "../gateway/reset-state";
import { configureGateway } from "../../src/gateway/config";
import { gatewayStats } from "../../src/gateway/stats";
import { call, flushKv, freshNamespace, pod, registry, service } from "../admin/client";

const pods = inject("pods");

async function storedFilter(): Promise<HostFilter> {
  const text = await env.KV.get(HOST_FILTER_KEY);
  const filter = text === null ? null : decodeHostFilter(text);
  if (!filter) throw new Error(`no readable ${HOST_FILTER_KEY} in KV`);
  return filter;
}

const shop = () => service("shop", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: pods.d }] });

beforeEach(() => resetGatewayState());
afterAll(() => resetGatewayState());

describe("the host filter in KV", () => {
  it("holds every routable host, and is rewritten when a host comes or goes", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, shop());
    await flushKv();
    const hosts = [`shop-${ns}.lb.svcedge.local`, `shop.${ns}.svc.cluster.local`];
    const filter = await storedFilter();
    for (const host of hosts) expect(mayContainHost(filter, host), host).toBe(true);
    expect(mayContainHost(filter, `other-${ns}.lb.svcedge.local`)).toBe(false);

    await call("DELETE", `/api/v1/namespaces/${ns}/services/shop`);
    await flushKv();
    const after = await storedFilter();
    for (const host of hosts) expect(mayContainHost(after, host), host).toBe(false);
  });

  it("is not rewritten when the host set stays the same: an update, or a restart of the registry", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, shop());
    await flushKv();
    const written = await env.KV.get(HOST_FILTER_KEY);
    const before = await registry().stats();
    await call("PATCH", `/api/v1/namespaces/${ns}/services/shop`, { metadata: { labels: { tier: "front" } } }, { contentType: "application/merge-patch+json" });
    await flushKv();
    // Neither the filter nor the route records changed: no KV write at all.
    expect((await registry().stats()).kvWrites - before.kvWrites).toBe(0);

    await evictDurableObject(registry());
    // The restarted registry rebuilt the filter and found it unchanged: nothing queued.
    expect((await registry().stats()).kvPending).toBe(0);
    expect(await env.KV.get(HOST_FILTER_KEY)).toBe(written);
  });

  it("still gets a host added just before the registry was evicted", async () => {
    const ns = await freshNamespace();
    await flushKv();
    await call("POST", `/api/v1/namespaces/${ns}/services`, shop());
    await evictDurableObject(registry());
    await flushKv();
    expect(mayContainHost(await storedFilter(), `shop-${ns}.lb.svcedge.local`)).toBe(true);
  });
});

describe("at the edge", () => {
  it("answers unknown hosts without KV reads, and routes a new Service after one cache period", async () => {
    configureGateway({ routeCacheTtlMs: 200 });
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, shop());
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("shop-1", { app: "shop" }, "127.0.0.1", { ready: true }));
    await flushKv();
    const through = (host: string) => exports.default.fetch(new Request(`http://${host}/`, { headers: { host } }));
    const known = await through(`shop-${ns}.lb.svcedge.local`);
    expect(known.status).toBe(200);
    await known.body?.cancel();

    // Hosts the filter rules out (about 1% of random names are false positives, which may cost a read: not these).
    const filter = await storedFilter();
    const unknown: string[] = [];
    while (unknown.length < 50) {
      const host = `${crypto.randomUUID()}.lb.svcedge.local`;
      if (!mayContainHost(filter, host)) unknown.push(host);
    }
    const start = gatewayStats();
    const startedAt = Date.now();
    for (const host of unknown) expect((await through(host)).status).toBe(404);
    // No read per host: at most the filter's own re-read once per cache period (200 ms) that the loop lasted.
    expect(gatewayStats().kvReads - start.kvReads).toBeLessThanOrEqual(Math.ceil((Date.now() - startedAt) / 200));

    await call(
      "POST",
      `/api/v1/namespaces/${ns}/services`,
      service("blog", { type: "LoadBalancer", selector: { app: "shop" }, ports: [{ name: "http", port: 80, targetPort: pods.d }] }),
    );
    await flushKv();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const added = await through(`blog-${ns}.lb.svcedge.local`);
    expect(added.status).toBe(200);
    expect(added.headers.get("x-pod")).toBe("d");
    await added.body?.cancel();
  });
});
