import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, service } from "../admin/client";

const create = (ns: string, body: unknown) => call("POST", `/api/v1/namespaces/${ns}/services`, body);

describe("allocation", () => {
  it("rejects a ClusterIP that is already allocated, with the apiserver's message", async () => {
    const ns = await freshNamespace();
    const first = await json(await create(ns, service("one")));
    const res = await create(ns, service("two", { clusterIP: first.spec.clusterIP }));
    expect(res.status).toBe(422);
    const st = await json(res);
    expect(st.details.causes[0]).toMatchObject({ field: "spec.clusterIPs" });
    expect(st.message).toBe(
      `Service "two" is invalid: spec.clusterIPs: Invalid value: []string{"${first.spec.clusterIP}"}: failed to allocate IP ${first.spec.clusterIP}: provided IP is already allocated`,
    );
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/two`)).status).toBe(404);
  });

  it("rejects a ClusterIP outside the service CIDR", async () => {
    const ns = await freshNamespace();
    const res = await create(ns, service("out", { clusterIP: "192.168.1.1" }));
    expect(res.status).toBe(422);
    expect((await json(res)).message).toContain("the provided IP (192.168.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12");
  });

  it("rejects a NodePort already allocated or out of range, and rolls back the rest of the request", async () => {
    const ns = await freshNamespace();
    const first = await json(await create(ns, service("np1", { type: "NodePort", ports: [{ port: 80, nodePort: 30123 }] })));
    expect(first.spec.ports[0].nodePort).toBe(30123);
    const dup = await create(
      ns,
      service("np2", {
        type: "NodePort",
        ports: [
          { name: "a", port: 80 },
          { name: "b", port: 81, nodePort: 30123 },
        ],
      }),
    );
    expect(dup.status).toBe(422);
    expect((await json(dup)).message).toBe(`Service "np2" is invalid: spec.ports[1].nodePort: Invalid value: 30123: provided port is already allocated`);
    const range = await create(ns, service("np3", { type: "NodePort", ports: [{ port: 80, nodePort: 80 }] }));
    expect(range.status).toBe(422);
    expect((await json(range)).message).toContain("provided port is not in the valid range. The range of valid ports is 30000-32767");
    // Nothing leaked: the ClusterIP np2 would have taken is free, so 30123 stays the only port held.
    await call("DELETE", `/api/v1/namespaces/${ns}/services/np1`);
    const reuse = await create(ns, service("np4", { type: "NodePort", ports: [{ port: 80, nodePort: 30123 }] }));
    expect(reuse.status).toBe(201);
  });

  it("hands out distinct ClusterIPs and NodePorts under concurrent creates", async () => {
    const ns = await freshNamespace();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => create(ns, service(`c${i}`, { type: "NodePort" }))));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const svcs = await Promise.all(results.map((r) => json(r)));
    expect(new Set(svcs.map((s) => s.spec.clusterIP)).size).toBe(40);
    expect(new Set(svcs.map((s) => s.spec.ports[0].nodePort)).size).toBe(40);
  });

  it("keeps nodePorts across updates and releases them when the type goes back to ClusterIP", async () => {
    const ns = await freshNamespace();
    const np = await json(await create(ns, service("flip", { type: "NodePort", ports: [{ port: 80, nodePort: 30061 }] })));
    const toCluster = structuredClone(np);
    toCluster.spec.type = "ClusterIP";
    delete toCluster.spec.externalTrafficPolicy;
    const res = await call("PUT", `/api/v1/namespaces/${ns}/services/flip`, toCluster);
    expect(res.status).toBe(200);
    expect((await json(res)).spec.ports[0].nodePort).toBeUndefined();
    expect((await create(ns, service("takes", { type: "NodePort", ports: [{ port: 80, nodePort: 30061 }] }))).status).toBe(201);
  });

  it("rejects a second Service claiming the same public hostname", async () => {
    const ns = await freshNamespace();
    const a = await create(ns, service("a", { type: "LoadBalancer" }, { annotations: { "svcedge.io/hostnames": `shop-${ns}.example.com` } }));
    expect(a.status).toBe(201);
    const b = await create(ns, service("b", { type: "LoadBalancer" }, { annotations: { "svcedge.io/hostnames": `shop-${ns}.example.com` } }));
    expect(b.status).toBe(422);
    expect((await json(b)).message).toContain(`hostname is already claimed by Service "${ns}/a"`);
    await call("DELETE", `/api/v1/namespaces/${ns}/services/a`);
    expect((await create(ns, service("b", { type: "LoadBalancer" }, { annotations: { "svcedge.io/hostnames": `shop-${ns}.example.com` } }))).status).toBe(201);
  });
});

describe("LoadBalancer status", () => {
  it("is owned by the registry: a /status write cannot point the Service at another hostname", async () => {
    const ns = await freshNamespace();
    const svc = await json(await create(ns, service("lbs", { type: "LoadBalancer" })));
    svc.status = { loadBalancer: { ingress: [{ hostname: "evil.example.com" }] } };
    const res = await call("PUT", `/api/v1/namespaces/${ns}/services/lbs/status`, svc);
    expect(res.status).toBe(200);
    expect((await json(res)).status.loadBalancer.ingress).toEqual([{ hostname: `lbs-${ns}.lb.svcedge.local`, ipMode: "Proxy" }]);
  });
});
