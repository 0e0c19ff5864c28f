import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, pod, service } from "./client";

async function nodeToken(node: string): Promise<string> {
  const res = await call("POST", `/api/v1/nodes/${node}/token`, undefined, { raw: "{}" });
  expect(res.status).toBe(201);
  const body = await json(res);
  expect(body.kind).toBe("TokenRequest");
  return body.status.token;
}

describe("authentication and authorization", () => {
  it("answers 401 without a token and with a wrong one, on every admin route", async () => {
    for (const path of ["/api/v1/namespaces/default/services", "/api/v1/nodes", "/version", "/apis/discovery.k8s.io/v1/endpointslices", "/nothing"]) {
      const none = await call("GET", path, undefined, { token: null });
      expect(none.status).toBe(401);
      expect(await json(none)).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
      expect((await call("GET", path, undefined, { token: "wrong" })).status).toBe(401);
    }
    const write = await call("POST", "/api/v1/namespaces/default/services", service("sneaky"), { token: "test-admin-token-x" });
    expect(write.status).toBe(401);
    expect((await call("GET", "/api/v1/namespaces/default/services/sneaky")).status).toBe(404);
  });

  it("lets a node token read what an agent needs and write only its own Node", async () => {
    const node = `node-a-${Date.now()}`;
    const token = await nodeToken(node);
    expect((await call("GET", "/api/v1/services", undefined, { token })).status).toBe(200);
    expect((await call("GET", "/apis/discovery.k8s.io/v1/endpointslices", undefined, { token })).status).toBe(200);
    const own = await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: node } }, { token });
    expect(own.status).toBe(201);
    const other = await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: `${node}-other` } }, { token });
    expect(other.status).toBe(403);
    const denied = await json(other);
    expect(denied).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
    expect(denied.message).toContain(`User "system:node:${node}" cannot create resource "nodes"`);
    expect((await call("GET", `/api/v1/nodes/${node}-other`)).status).toBe(404);
    expect((await call("POST", "/api/v1/namespaces/default/services", service(`s${Date.now()}`), { token })).status).toBe(403);
    expect((await call("DELETE", `/api/v1/nodes/${node}`, undefined, { token })).status).toBe(403);
    expect((await call("POST", `/api/v1/nodes/${node}/token`, undefined, { token, raw: "{}" })).status).toBe(403);
  });

  it("lets a node register Pods for itself and update the status of Pods bound to it, and nothing else", async () => {
    const ns = await freshNamespace();
    const node = `node-b-${Date.now()}`;
    const token = await nodeToken(node);
    const mine = await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("mine", { app: "x" }, "10.9.0.1", { nodeName: node }), { token });
    expect(mine.status).toBe(201);
    expect((await json(mine)).metadata.annotations["svcedge.io/registered-by"]).toBe(node);
    const elsewhere = await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("theirs", { app: "x" }, "10.9.0.2", { nodeName: "other-node" }), { token });
    expect(elsewhere.status).toBe(403);
    // A pod the admin bound to this node: status yes, spec no.
    const adminPod = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("bound", { app: "x" }, "10.9.0.3", { nodeName: node })));
    const st = { ...adminPod, status: { ...adminPod.status, conditions: [{ type: "Ready", status: "True" }] } };
    expect((await call("PUT", `/api/v1/namespaces/${ns}/pods/bound/status`, st, { token })).status).toBe(200);
    expect(
      (
        await call(
          "PATCH",
          `/api/v1/namespaces/${ns}/pods/bound`,
          { metadata: { labels: { app: "y" } } },
          { token, contentType: "application/merge-patch+json" },
        )
      ).status,
    ).toBe(403);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/pods/bound`, undefined, { token })).status).toBe(403);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/pods/mine`, undefined, { token })).status).toBe(200);
  });

  it("refuses a node's tokens on the very next request once the Node is deleted", async () => {
    const node = `node-c-${Date.now()}`;
    const token = await nodeToken(node);
    await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: node } });
    expect((await call("GET", "/api/v1/nodes", undefined, { token })).status).toBe(200);
    expect((await call("GET", `/api/v1/nodes/${node}`, undefined, { token })).status).toBe(200);
    expect((await call("DELETE", `/api/v1/nodes/${node}`)).status).toBe(200);
    const refused = await call("GET", "/api/v1/nodes", undefined, { token });
    expect(refused.status).toBe(401);
    expect(await json(refused)).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    // Routes that never reach the registry's data refuse it too.
    expect((await call("GET", "/version", undefined, { token })).status).toBe(401);
  });
});

describe("/metrics", () => {
  it("serves gateway and registry figures in Prometheus text to the admin only", async () => {
    const res = await call("GET", "/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^svcedge_gateway_kv_reads_total \d+$/m);
    expect(text).toMatch(/^svcedge_registry_objects\{resource="namespaces"\} [1-9]\d*$/m);
    expect((await call("GET", "/metrics", undefined, { token: null })).status).toBe(401);
    const token = (await json(await call("POST", `/api/v1/nodes/metrics-node-${Date.now()}/token`, undefined, { raw: "{}" }))).status.token;
    expect((await call("GET", "/metrics", undefined, { token })).status).toBe(403);
  });

  it("issues node tokens only for names a Node may have (RFC 1123 subdomains), with a 422 that says why", async () => {
    for (const name of ["a..b", "-a", "a-", "x".repeat(254)]) {
      const res = await call("POST", `/api/v1/nodes/${name}/token`, undefined, { raw: "{}" });
      expect(res.status, name).toBe(422);
      const body = await json(res);
      expect(body.details.causes[0]).toMatchObject({ reason: "FieldValueInvalid", field: "metadata.name" });
      expect(body.details.causes[0].message).toContain(`Invalid value: "${name}": `);
    }
  });
});
