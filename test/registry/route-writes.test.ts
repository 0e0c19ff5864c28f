// Route records reach KV only when they change: a write that leaves a Service's routes as
// they were (a relabel, an unselected Pod) must not rewrite them, while one that changes
// them (a new ready endpoint) must.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { routeKey } from "../../src/api/route";
import { call, flushKv, freshNamespace, pod, registry, service } from "../admin/client";

async function storedRoute(host: string): Promise<{ resourceVersion: string; ports: { ready: unknown[] }[] }> {
  const raw = await env.KV.get(routeKey(host));
  if (!raw) throw new Error(`no route record for ${host}`);
  return JSON.parse(raw);
}

describe("route records in KV", () => {
  it("are rewritten only when the record itself changes", async () => {
    const ns = await freshNamespace();
    const host = `web-${ns}.lb.svcedge.local`;
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("web-a", { app: "web" }, "198.18.3.1", { ready: true, annotations: { "svcedge.io/url": "http://a.example" } }),
    );
    await flushKv();
    const first = await storedRoute(host);
    expect(first.ports[0]!.ready).toHaveLength(1);

    // A relabel and a Pod the Service does not select: the Service's records stay as they were.
    const before = await registry().stats();
    expect(
      (
        await call(
          "PATCH",
          `/api/v1/namespaces/${ns}/services/web`,
          { metadata: { labels: { tier: "front" } } },
          { contentType: "application/merge-patch+json" },
        )
      ).status,
    ).toBe(200);
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("other", { app: "other" }, "198.18.3.9", { ready: true }));
    await flushKv();
    expect((await storedRoute(host)).resourceVersion).toBe(first.resourceVersion);
    // Nothing was written to KV: objects are not copied there, and no route record changed.
    expect((await registry().stats()).kvWrites - before.kvWrites).toBe(0);

    // A second ready endpoint changes the record: it is rewritten.
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("web-b", { app: "web" }, "198.18.3.2", { ready: true, annotations: { "svcedge.io/url": "http://b.example" } }),
    );
    await flushKv();
    const second = await storedRoute(host);
    expect(second.ports[0]!.ready).toHaveLength(2);
    expect(second.resourceVersion).not.toBe(first.resourceVersion);
  });
});
