import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectRejectedWithoutWrites, freshNamespace, json, pod, registry, service } from "../admin/client";

async function slices(ns: string, svc: string) {
  const list = await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${svc}`));
  return list.items as any[];
}
const endpoints = async (ns: string, svc: string) =>
  (await slices(ns, svc)).flatMap((s) => s.endpoints.map((e: any) => ({ ip: e.addresses[0], ...e.conditions, node: e.nodeName })));

describe("endpoints controller", () => {
  it("builds EndpointSlices from the Pods a Service selects, resolving named targetPorts", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { ports: [{ name: "http", port: 80, targetPort: "http" }] }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-1", { app: "web" }, "10.1.0.1", { ports: [{ name: "http", containerPort: 8080 }] }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-2", { app: "web" }, "10.1.0.2", { ports: [{ name: "http", containerPort: 9090 }] }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("other", { app: "other" }, "10.1.0.3"));
    const got = await slices(ns, "web");
    expect(got).toHaveLength(2); // two port mappings, two slices
    for (const s of got) {
      expect(s.addressType).toBe("IPv4");
      expect(s.metadata.labels["endpointslice.kubernetes.io/managed-by"]).toBe("endpointslice-controller.k8s.io");
      expect(s.metadata.ownerReferences[0]).toMatchObject({ kind: "Service", name: "web" });
    }
    const byIp = Object.fromEntries(got.map((s) => [s.endpoints[0].addresses[0], s.ports[0].port]));
    expect(byIp).toEqual({ "10.1.0.1": 8080, "10.1.0.2": 9090 });
    expect(got[0].endpoints[0].targetRef).toMatchObject({ kind: "Pod", namespace: ns });
  });

  it("puts every one of 120 selected Pods in slices of at most 100 endpoints (the Pods are read in chunks of 98)", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("many", { ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    const ips = Array.from({ length: 120 }, (_, i) => `10.2.${Math.floor(i / 100)}.${(i % 100) + 1}`);
    for (const [i, ip] of ips.entries()) expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, pod(`many-${i}`, { app: "many" }, ip))).status).toBe(201);
    const got = await slices(ns, "many");
    expect(got.map((s) => s.endpoints.length).sort((a, b) => a - b)).toEqual([20, 100]);
    expect(got.flatMap((s) => s.endpoints.map((e: any) => e.addresses[0])).sort()).toEqual([...ips].sort());
  });

  it("names an endpoint after its Pod's hostname when the Pod's subdomain is the Service", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("db", { clusterIP: "None", ports: [{ name: "pg", port: 5432, targetPort: 5432 }] }));
    const named = pod("db-0", { app: "db" }, "10.3.0.1");
    Object.assign(named.spec, { hostname: "db-0", subdomain: "db" });
    const elsewhere = pod("db-1", { app: "db" }, "10.3.0.2");
    Object.assign(elsewhere.spec, { hostname: "db-1", subdomain: "other" });
    for (const p of [named, elsewhere]) expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, p)).status).toBe(201);
    const byIp = Object.fromEntries((await slices(ns, "db")).flatMap((s) => s.endpoints).map((e: any) => [e.addresses[0], e.hostname]));
    expect(byIp).toEqual({ "10.3.0.1": "db-0", "10.3.0.2": undefined });
  });

  it("follows Pod readiness through the status subresource", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("api"));
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("api-1", { app: "api" }, "10.2.0.1", { ready: false })));
    expect(await endpoints(ns, "api")).toEqual([{ ip: "10.2.0.1", ready: false, serving: false, terminating: false }]);
    const st = { ...created, status: { ...created.status, conditions: [{ type: "Ready", status: "True" }] } };
    const res = await call("PUT", `/api/v1/namespaces/${ns}/pods/api-1/status`, st);
    expect(res.status).toBe(200);
    expect(await endpoints(ns, "api")).toEqual([{ ip: "10.2.0.1", ready: true, serving: true, terminating: false }]);
    await call("DELETE", `/api/v1/namespaces/${ns}/pods/api-1`);
    expect(await slices(ns, "api")).toEqual([]);
  });

  it("keeps a gracefully deleted Pod as serving and terminating until its grace period ends", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("term"));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("term-1", { app: "term" }, "10.3.0.1", { ready: true }));
    const del = await call("DELETE", `/api/v1/namespaces/${ns}/pods/term-1`, { gracePeriodSeconds: 30 });
    expect(del.status).toBe(200);
    expect((await json(del)).metadata.deletionTimestamp).toBeTruthy();
    expect(await endpoints(ns, "term")).toEqual([{ ip: "10.3.0.1", ready: false, serving: true, terminating: true }]);
  });

  it("refuses a grace period no deletion timestamp can hold (1e400 in the body, 1e20 in the query) with 400, and the Pod stays", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("long-1", { app: "long" }, "10.3.0.2", { ready: true }));
    const url = `/api/v1/namespaces/${ns}/pods/long-1`;
    // These made an Invalid Date (a 500) when the registry computed the Pod's deletionTimestamp.
    const body = await expectRejectedWithoutWrites(() => call("DELETE", url, undefined, { raw: '{"gracePeriodSeconds":1e400}' }), 400);
    expect(body.message).toBe("gracePeriodSeconds: Invalid value: Infinity: must be at most 9223372036 seconds");
    await expectRejectedWithoutWrites(() => call("DELETE", `${url}?gracePeriodSeconds=100000000000000000000`), 400);
    expect((await json(await call("GET", url))).metadata.deletionTimestamp).toBeUndefined();
    const longest = await call("DELETE", url, { gracePeriodSeconds: 9_223_372_036 });
    expect(longest.status).toBe(200);
    expect(Date.parse((await json(longest)).metadata.deletionTimestamp)).toBeGreaterThan(Date.now() + 9e12);
  });

  it("marks endpoints not ready when their Node's lease expires, and ready again on renewal", async () => {
    const ns = await freshNamespace();
    const node = `n-${ns}`;
    await call("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: node },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: node }, spec: { holderIdentity: node, leaseDurationSeconds: 1 } };
    expect((await call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)).status).toBe(201);
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("lease"));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("lease-1", { app: "lease" }, "10.4.0.1", { nodeName: node, ready: true }));
    expect(await endpoints(ns, "lease")).toEqual([{ ip: "10.4.0.1", ready: true, serving: true, terminating: false, node }]);
    await new Promise((r) => setTimeout(r, 1100)); // the test grace period is 1 s
    await runDurableObjectAlarm(registry());
    const n = await json(await call("GET", `/api/v1/nodes/${node}`));
    expect(n.status.conditions.find((c: any) => c.type === "Ready")).toMatchObject({ status: "Unknown", reason: "NodeStatusUnknown" });
    expect(await endpoints(ns, "lease")).toEqual([{ ip: "10.4.0.1", ready: false, serving: false, terminating: false, node }]);
    const current = await json(await call("GET", `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`));
    current.spec.renewTime = new Date().toISOString();
    expect((await call("PUT", `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`, current)).status).toBe(200);
    expect((await endpoints(ns, "lease"))[0].ready).toBe(true);
  });

  it("leaves a selector-less Service's user-written EndpointSlices alone", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: "ext" }, spec: { ports: [{ port: 80 }] } });
    const slice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "ext-1", labels: { "kubernetes.io/service-name": "ext" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.5.0.1"] }],
      ports: [{ name: "", port: 8080, protocol: "TCP" }],
    };
    expect((await call("POST", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, slice)).status).toBe(201);
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("p", { app: "ext" }, "10.5.0.9"));
    expect((await slices(ns, "ext")).map((s) => s.metadata.name)).toEqual(["ext-1"]);
  });
});
