// Route records built by the real compiler: objects go in through the admin API, the
// registry compiles and replicates them to KV (flushKv), and requests go through the
// Worker's fetch handler to the loopback pods.
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/api/credentials";
import { NODE_TOKEN_KEY_PREFIX, routeKey } from "../../src/api/route";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { CREDENTIAL_HEADER } from "../../src/gateway/access";
import { call, flushKvToEdge, freshNamespace, json, pod, service } from "../admin/client";
import { podRequests, pods, type Echo } from "./fixtures";

/** Re-read KV quickly, so that a change shows up within a test's patience. */
const ROUTE_CACHE_TTL_MS = 200;

beforeAll(() => resetGatewayState());
beforeEach(() => configureGateway({ routeCacheTtlMs: ROUTE_CACHE_TTL_MS }));
afterAll(() => resetGatewayState());

function through(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(new Request(url, { headers: { host: new URL(url).host, ...headers } }));
}

const clusterCredential = () => ({ [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! });

async function created(res: Response): Promise<void> {
  expect(res.status, await res.clone().text()).toBe(201);
}

describe("loadBalancerSourceRanges", () => {
  it("admits callers inside the ranges and answers 403 to the rest without forwarding", async () => {
    const ns = await freshNamespace();
    await created(
      await call(
        "POST",
        `/api/v1/namespaces/${ns}/services`,
        service("vault", { type: "LoadBalancer", loadBalancerSourceRanges: ["198.18.0.0/15"], ports: [{ name: "http", port: 80, targetPort: pods.f }] }),
      ),
    );
    await created(await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("vault-1", { app: "vault" }, "127.0.0.1", { ready: true })));
    await flushKvToEdge();
    const url = `http://vault-${ns}.lb.svcedge.local/`;

    const inside = await through(url, { "cf-connecting-ip": "198.18.1.1" });
    expect(inside.status).toBe(200);
    expect((await inside.json<Echo>()).pod).toBe("f");

    const before = await podRequests("f");
    const outside = await through(url, { "cf-connecting-ip": "203.0.113.9" });
    expect(outside.status).toBe(403);
    expect(outside.headers.get("x-pod")).toBeNull();
    expect(await outside.text()).toMatch(/^403 Forbidden/);
    expect((await through(url, { "x-forwarded-for": "198.18.1.1" })).status).toBe(403);
    // Only the /count call reached the pod.
    expect((await podRequests("f")) - before).toBe(1);

    // The cluster-domain name of the same Service is for in-cluster callers and has no ranges.
    const cluster = await through(`http://vault.${ns}.svc.cluster.local/`, clusterCredential());
    expect(cluster.status).toBe(200);
    await cluster.body?.cancel();
  });
});

describe("a headless Service", () => {
  it("has no route record and answers 404, while a sibling with a cluster IP is routable", async () => {
    const ns = await freshNamespace();
    await created(
      await call("POST", `/api/v1/namespaces/${ns}/services`, service("db", { clusterIP: "None", ports: [{ name: "http", port: 80, targetPort: pods.e }] })),
    );
    await created(
      await call(
        "POST",
        `/api/v1/namespaces/${ns}/services`,
        service("cache", { selector: { app: "db" }, ports: [{ name: "http", port: 80, targetPort: pods.e }] }),
      ),
    );
    await created(await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("db-0", { app: "db" }, "127.0.0.1", { ready: true })));
    await flushKvToEdge();

    expect(await env.KV.get(routeKey(`db.${ns}.svc.cluster.local`))).toBeNull();
    const res = await through(`http://db.${ns}.svc.cluster.local/`, clusterCredential());
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("404 page not found\n");

    expect(await env.KV.get(routeKey(`cache.${ns}.svc.cluster.local`))).not.toBeNull();
    const sibling = await through(`http://cache.${ns}.svc.cluster.local/`, clusterCredential());
    expect(sibling.status).toBe(200);
    expect((await sibling.json<Echo>()).pod).toBe("e");
  });
});

describe("an ExternalName Service", () => {
  it("proxies in-cluster callers to the external name, on the port they dialled, with the external name as Host", async () => {
    const ns = await freshNamespace();
    const ext = { apiVersion: "v1", kind: "Service", metadata: { name: "partner" }, spec: { type: "ExternalName", externalName: "localhost" } };
    await created(await call("POST", `/api/v1/namespaces/${ns}/services`, ext));
    await flushKvToEdge();
    const host = `partner.${ns}.svc.cluster.local`;
    expect((await env.KV.get<{ externalName?: string }>(routeKey(host), "json"))?.externalName).toBe("localhost");

    const res = await through(`http://${host}:${pods.b}/orders?id=7`, clusterCredential());
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.pod).toBe("b");
    expect(echo.url).toBe("/orders?id=7");
    expect(echo.headers.host).toBe(`localhost:${pods.b}`);
    expect(echo.headers["x-forwarded-host"]).toBe(`${host}:${pods.b}`);
    expect(echo.headers[CREDENTIAL_HEADER]).toBeUndefined();

    // Not for callers without a credential: the unknown-host 404.
    const anonymous = await through(`http://${host}:${pods.b}/`);
    expect(anonymous.status).toBe(404);
    expect(anonymous.headers.get("x-pod")).toBeNull();
  });
});

describe("node-token revocation", () => {
  it("a node token opens cluster hosts until its Node is deleted, then gets 404 once the verdict cache expires", async () => {
    configureGateway({ credentialCacheTtlMs: 300 });
    const ns = await freshNamespace();
    const nodeName = `edge-${ns}`;
    await created(await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: nodeName } }));
    const issued = await call("POST", `/api/v1/nodes/${nodeName}/token`, undefined, { raw: "{}" });
    expect(issued.status).toBeLessThan(300);
    const token = (await json(issued)).status.token as string;
    await created(await call("POST", `/api/v1/namespaces/${ns}/services`, service("api", { ports: [{ name: "http", port: 80, targetPort: pods.d }] })));
    await created(await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("api-1", { app: "api" }, "127.0.0.1", { ready: true })));
    await flushKvToEdge();
    const url = `http://api.${ns}.svc.cluster.local/`;

    const ok = await through(url, { [CREDENTIAL_HEADER]: token });
    expect(ok.status).toBe(200);
    expect((await ok.json<Echo>()).pod).toBe("d");

    expect((await call("DELETE", `/api/v1/nodes/${nodeName}`)).status).toBe(200);
    await flushKvToEdge();
    expect(await env.KV.get(NODE_TOKEN_KEY_PREFIX + (await sha256Hex(token)))).toBeNull();
    // The isolate's verdict outlives the revocation by at most its TTL.
    await new Promise((resolve) => setTimeout(resolve, 350));
    const revoked = await through(url, { [CREDENTIAL_HEADER]: token });
    expect(revoked.status).toBe(404);
    expect(revoked.headers.get("x-pod")).toBeNull();
  });
});
