import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, flushKv, freshNamespace, json, KV_WRITE_INTERVAL_MS, pod, registry, service } from "../admin/client";

describe("KV replica", () => {
  it("writes the compiled route records for every host of a Service, and no object copies", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("shop", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("shop-1", { app: "shop" }, "10.7.0.1", { ready: true }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("shop-2", { app: "shop" }, "10.7.0.2", { ready: false, annotations: { "svcedge.io/url": "https://shop-2.pods.example.net" } }),
    );
    await flushKv();
    // The edge reads route records only: objects stay in the Durable Object.
    expect((await env.KV.list({ prefix: "obj/" })).keys).toEqual([]);
    const lb = (await env.KV.get(`route/shop-${ns}.lb.svcedge.local`, "json")) as any;
    expect(lb).toMatchObject({ v: 1, namespace: ns, service: "shop", access: "public", sessionAffinity: "None" });
    expect(lb.ports).toEqual([{ name: "http", port: 80, protocol: "TCP", ready: [expect.objectContaining({ url: "http://10.7.0.1:8080" })], terminating: [] }]);
    const cluster = (await env.KV.get(`route/shop.${ns}.svc.cluster.local`, "json")) as any;
    expect(cluster.access).toBe("cluster");

    // Readiness flips reach the record; a pod URL annotation replaces the bare IP.
    const p2 = await json(await call("GET", `/api/v1/namespaces/${ns}/pods/shop-2`));
    p2.status.conditions = [{ type: "Ready", status: "True" }];
    await call("PUT", `/api/v1/namespaces/${ns}/pods/shop-2/status`, p2);
    await flushKv();
    const after = (await env.KV.get(`route/shop-${ns}.lb.svcedge.local`, "json")) as any;
    expect(after.ports[0].ready.map((e: any) => e.url).sort()).toEqual(["http://10.7.0.1:8080", "https://shop-2.pods.example.net"]);

    await call("DELETE", `/api/v1/namespaces/${ns}/services/shop`);
    await flushKv();
    expect(await env.KV.get(`route/shop-${ns}.lb.svcedge.local`)).toBeNull();
  });

  it("coalesces many writes to one key into at most one KV write per flush", async () => {
    const ns = await freshNamespace();
    await flushKv();
    const before = (await registry().stats()).kvWrites;
    const started = Date.now();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("busy", {}, { annotations: { "svcedge.io/timeout": "1s" } }));
    // Each timeout change rewrites the Service's route record.
    for (let i = 2; i <= 21; i++)
      await call(
        "PATCH",
        `/api/v1/namespaces/${ns}/services/busy`,
        { metadata: { annotations: { "svcedge.io/timeout": `${i}s` } } },
        { contentType: "application/merge-patch+json" },
      );
    const burstIntervals = (Date.now() - started) / KV_WRITE_INTERVAL_MS;
    await flushKv();
    const written = (await registry().stats()).kvWrites - before;
    // Two keys (route/busy.<ns>.svc.cluster.local, and routes/filter for the new host) changed 21 and 1 times:
    // at most one write each per flush interval of the burst, plus one for the flush that may have started it.
    expect(written).toBeGreaterThanOrEqual(2);
    expect(written).toBeLessThanOrEqual(2 * (Math.ceil(burstIntervals) + 1));
    expect(((await env.KV.get(`route/busy.${ns}.svc.cluster.local`, "json")) as any).timeoutMs).toBe(21_000);
  });

  it("keeps pending KV writes across a restart of the Durable Object", async () => {
    const { evictDurableObject } = await import("cloudflare:test");
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("durable"));
    expect((await registry().stats()).kvPending).toBeGreaterThan(0);
    await evictDurableObject(registry());
    await flushKv();
    expect(await env.KV.get(`route/durable.${ns}.svc.cluster.local`)).not.toBeNull();
  });
});
