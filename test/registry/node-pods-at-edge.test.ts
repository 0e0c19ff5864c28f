// A node may register Pods, but only the admin decides where public traffic goes: a
// Pod a node registered reaches the edge only through a URL the admin gave it (issue:
// a node registered 20 Pods matching a public Service's selector and blackholed it).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { routeKey } from "../../src/api/route";
import { call, flushKv, freshNamespace, json, pod, service } from "../admin/client";

interface StoredRoute {
  ports: { ready: { url: string }[] }[];
}

async function readyUrls(host: string): Promise<string[]> {
  const raw = await env.KV.get(routeKey(host));
  if (!raw) throw new Error(`no route record for ${host}`);
  return (JSON.parse(raw) as StoredRoute).ports[0]!.ready.map((e) => e.url).sort();
}

describe("Pods registered by a node at the edge", () => {
  it("are left out of public route records until the admin gives them a URL, while they still count as endpoints", async () => {
    const ns = await freshNamespace();
    const node = `edge-node-${Date.now().toString(36)}`;
    const token = (await json(await call("POST", `/api/v1/nodes/${node}/token`, undefined, { raw: "{}" }))).status.token as string;
    const host = `web-${ns}.lb.svcedge.local`;
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("real", { app: "web" }, "198.18.4.1", { ready: true, annotations: { "svcedge.io/url": "http://real.example" } }),
    );
    for (let i = 0; i < 20; i++) {
      const res = await call(
        "POST",
        `/api/v1/namespaces/${ns}/pods`,
        pod(`fake-${i}`, { app: "web" }, `198.18.4.${100 + i}`, { ready: true, nodeName: node }),
        { token },
      );
      expect(res.status).toBe(201);
    }
    await flushKv();
    expect(await readyUrls(host)).toEqual(["http://real.example"]);
    // In-cluster, the node's Pods are endpoints like any other (as Kubernetes' mirror Pods are).
    const slices = await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`));
    expect(slices.items.flatMap((s: { endpoints: unknown[] }) => s.endpoints)).toHaveLength(21);

    // The node cannot give itself a URL, nor drop the mark that keeps its Pods off the edge.
    const setUrl = { metadata: { annotations: { "svcedge.io/url": "http://attacker.example" } } };
    expect((await call("PATCH", `/api/v1/namespaces/${ns}/pods/fake-0`, setUrl, { token, contentType: "application/merge-patch+json" })).status).toBe(403);
    const unmark = { metadata: { annotations: { "svcedge.io/registered-by": null } } };
    expect((await call("PATCH", `/api/v1/namespaces/${ns}/pods/fake-0`, unmark, { token, contentType: "application/merge-patch+json" })).status).toBe(403);

    // The admin approves one by giving it a URL: it joins the public record.
    const approve = { metadata: { annotations: { "svcedge.io/url": "http://fake-1.example" } } };
    expect((await call("PATCH", `/api/v1/namespaces/${ns}/pods/fake-1`, approve, { contentType: "application/merge-patch+json" })).status).toBe(200);
    await flushKv();
    expect(await readyUrls(host)).toEqual(["http://fake-1.example", "http://real.example"]);
  });
});
