// The whole edge path with real parts: admin API → registry → KV → gateway → loopback pods.
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { configureGateway, resetGatewayConfig } from "../../src/gateway/config";
import { runDurableObjectAlarm } from "cloudflare:test";
import { call, flushKvToEdge, freshNamespace, json, pod, registry, service } from "../admin/client";

const pods = inject("pods");

beforeAll(() => {
  // Re-read KV quickly, so a change shows up within this test's patience.
  configureGateway({ routeCacheTtlMs: 200 });
});
afterAll(() => resetGatewayConfig());

async function through(host: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(new Request(`http://${host}/hello`, { headers: { host, ...headers } }));
}

async function podsHit(host: string, n: number, headers: Record<string, string> = {}): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await through(host, headers);
    expect(res.status).toBe(200);
    seen.add(res.headers.get("x-pod")!);
    await res.body?.cancel();
  }
  return seen;
}

describe("a Service created through the admin API is routable at the edge", () => {
  it("routes the LoadBalancer hostname to the selected ready pods, following readiness", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("shop", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: "web" }] }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("shop-a", { app: "shop" }, "127.0.0.1", { ready: true, ports: [{ name: "web", containerPort: pods.a }] }),
    );
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("shop-b", { app: "shop" }, "127.0.0.1", { ready: true, ports: [{ name: "web", containerPort: pods.b }] }),
    );
    await flushKvToEdge();
    const host = `shop-${ns}.lb.svcedge.local`;
    expect(await podsHit(host, 40)).toEqual(new Set(["a", "b"]));

    const b = await json(await call("GET", `/api/v1/namespaces/${ns}/pods/shop-b`));
    b.status.conditions = [{ type: "Ready", status: "False" }];
    expect((await call("PUT", `/api/v1/namespaces/${ns}/pods/shop-b/status`, b)).status).toBe(200);
    await flushKvToEdge();
    expect(await podsHit(host, 20)).toEqual(new Set(["a"]));

    await call("DELETE", `/api/v1/namespaces/${ns}/services/shop`);
    await flushKvToEdge();
    expect((await through(host)).status).toBe(404);
  });

  it("answers the cluster-domain name only to callers with a node token", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("api", { ports: [{ name: "http", port: 80, targetPort: pods.c }] }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("api-1", { app: "api" }, "127.0.0.1", { ready: true }));
    const token = (await json(await call("POST", `/api/v1/nodes/edge-${ns}/token`, undefined, { raw: "{}" }))).status.token as string;
    await flushKvToEdge();
    const host = `api.${ns}.svc.cluster.local`;
    expect((await through(host)).status).toBe(404);
    expect((await through(host, { "svcedge-credential": "not-a-token" })).status).toBe(404);
    const ok = await through(host, { "svcedge-credential": token });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-pod")).toBe("c");
  });

  it("stops sending to the pods of a Node whose lease expired", async () => {
    const ns = await freshNamespace();
    const node = `edge-node-${ns}`;
    await call("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: node },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: node }, spec: { holderIdentity: node, leaseDurationSeconds: 4 } };
    await call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease);
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("blog", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: "web" }] }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("blog-d", { app: "blog" }, "127.0.0.1", { nodeName: node, ready: true, ports: [{ name: "web", containerPort: pods.d }] }),
    );
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("blog-e", { app: "blog" }, "127.0.0.1", { ready: true, ports: [{ name: "web", containerPort: pods.e }] }),
    );
    await flushKvToEdge();
    const host = `blog-${ns}.lb.svcedge.local`;
    expect(await podsHit(host, 30)).toEqual(new Set(["d", "e"]));
    // The lease lasts 4 s (longer than the test grace period of 1 s): wait it out.
    await new Promise((r) => setTimeout(r, 4100));
    await runDurableObjectAlarm(registry());
    await flushKvToEdge();
    expect(await podsHit(host, 20)).toEqual(new Set(["e"]));
  });
});
