// Requests that must be refused whole: svcedge's own annotations, hostnames that
// would shadow what others own, cluster-wide writes, and node tokens reaching beyond
// NodeRestriction. Each check also proves that nothing was written.
import { describe, expect, it } from "vitest";
import { call, expectRejectedWithoutWrites, freshNamespace, json, pod, service } from "../admin/client";

const lb = (name: string, annotations: Record<string, string>) => service(name, { type: "LoadBalancer" }, { annotations });

describe("Service annotations and hostnames", () => {
  it("refuses extra hostnames that are malformed or shadow the cluster domain, the LoadBalancer domain or an admin host", async () => {
    const ns = await freshNamespace();
    for (const [host, detail] of [
      ["bad_host!!", "a lowercase RFC 1123 subdomain"],
      [`victim.${ns}.svc.cluster.local`, "must not be under the cluster domain cluster.local"],
      ["someone-else.lb.svcedge.local", "must not be under the LoadBalancer domain"],
      ["localhost", "must not be an admin API host"],
    ] as const) {
      const st = await expectRejectedWithoutWrites(
        () => call("POST", `/api/v1/namespaces/${ns}/services`, lb("web", { "svcedge.io/hostnames": `ok.example.com, ${host}` })),
        422,
      );
      expect(st.details.causes).toEqual([expect.objectContaining({ field: "metadata.annotations[svcedge.io/hostnames]" })]);
      expect(st.message).toContain(detail);
    }
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, lb("web", { "svcedge.io/hostnames": "shop.example.com" }))).status).toBe(201);
  });

  it("refuses a timeout annotation that is not a positive duration", async () => {
    const ns = await freshNamespace();
    const st = await expectRejectedWithoutWrites(
      () => call("POST", `/api/v1/namespaces/${ns}/services`, service("t", {}, { annotations: { "svcedge.io/timeout": "banana" } })),
      422,
    );
    expect(st.details.causes[0]).toMatchObject({ field: "metadata.annotations[svcedge.io/timeout]" });
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, service("t", {}, { annotations: { "svcedge.io/timeout": "1m30s" } }))).status).toBe(201);
  });

  it("refuses a LoadBalancer whose <name>-<namespace> label would not fit in a DNS label", async () => {
    const ns = await freshNamespace();
    const name = `${"a".repeat(62 - ns.length)}b`; // name + "-" + ns = 64 characters
    const st = await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/services`, service(name, { type: "LoadBalancer" })), 422);
    expect(st.message).toContain("the first label of the LoadBalancer hostname");
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, service(name.slice(1), { type: "LoadBalancer" }))).status).toBe(201);
  });
});

describe("paths and error paths that write nothing", () => {
  it("does not create through a cluster-wide list path", async () => {
    const ns = await freshNamespace();
    await expectRejectedWithoutWrites(() => call("POST", "/api/v1/services", service("x", {}, { namespace: ns })), 405);
  });

  it("writes nothing on 415, 409 AlreadyExists and 404 namespace", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("dup"));
    await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/services`, undefined, { raw: "x", contentType: "text/plain" }), 415);
    await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/services`, service("dup")), 409);
    await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/missing-${ns}/services`, service("x")), 404);
  });
});

describe("node tokens beyond NodeRestriction", () => {
  async function nodeToken(node: string): Promise<string> {
    return (await json(await call("POST", `/api/v1/nodes/${node}/token`, undefined, { raw: "{}" }))).status.token;
  }

  it("answers 403, not a validation error, when a node sends an invalid object it may not write anyway", async () => {
    const ns = await freshNamespace();
    const token = await nodeToken(`n1-${ns}`);
    await expectRejectedWithoutWrites(
      () => call("POST", `/api/v1/namespaces/${ns}/services`, { metadata: { name: "1-invalid" }, spec: { ports: [{ port: 0 }] } }, { token }),
      403,
    );
  });

  it("refuses Pods a node registers with an edge URL, and role labels on its own Node", async () => {
    const ns = await freshNamespace();
    const node = `n2-${ns}`;
    const token = await nodeToken(node);
    const withUrl = pod("p", { app: "web" }, "10.1.1.1", { nodeName: node, annotations: { "svcedge.io/url": "https://attacker.example" } });
    await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/pods`, withUrl, { token }), 403);
    expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("p", { app: "web" }, "10.1.1.1", { nodeName: node }), { token })).status).toBe(201);
    const roled = { apiVersion: "v1", kind: "Node", metadata: { name: node, labels: { "node-role.kubernetes.io/control-plane": "" } } };
    await expectRejectedWithoutWrites(() => call("POST", "/api/v1/nodes", roled, { token }), 403);
    expect(
      (await call("POST", "/api/v1/nodes", { ...roled, metadata: { name: node, labels: { "topology.kubernetes.io/zone": "z1" } } }, { token })).status,
    ).toBe(201);
  });
});

describe("source ranges in route records", () => {
  it("compiles spec.loadBalancerSourceRanges, or else the legacy annotation, into public records only", async () => {
    const { env } = await import("cloudflare:workers");
    const { flushKv } = await import("../admin/client");
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("spec", { type: "LoadBalancer", loadBalancerSourceRanges: ["198.18.0.0/15"] }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/services`,
      lb("anno", { "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24, 198.51.100.0/24" }),
    );
    await flushKv();
    const rec = async (host: string) => (await env.KV.get(`route/${host}`, "json")) as { sourceRanges?: string[] } | null;
    expect((await rec(`spec-${ns}.lb.svcedge.local`))?.sourceRanges).toEqual(["198.18.0.0/15"]);
    expect((await rec(`anno-${ns}.lb.svcedge.local`))?.sourceRanges).toEqual(["203.0.113.0/24", "198.51.100.0/24"]);
    expect((await rec(`spec.${ns}.svc.cluster.local`))?.sourceRanges).toBeUndefined();
  });
});

describe("a create without a name", () => {
  // kube-apiserver validates the whole object and lists the missing name among its other faults.
  it("is refused with the object's other faults, and nothing is allocated or written", async () => {
    const ns = await freshNamespace();
    const nameless = (spec: Record<string, unknown>) => {
      const body = service("x", spec);
      return { ...body, metadata: {} };
    };
    const fields = (st: any) => st.details.causes.map((c: { field: string }) => c.field).sort();
    const clean = await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/services`, nameless({ type: "NodePort" })), 422);
    expect(fields(clean)).toEqual(["metadata.name"]);
    const faulty = await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/services`, nameless({ sessionAffinity: "Sometimes" })), 422);
    expect(fields(faulty)).toEqual(["metadata.name", "spec.sessionAffinity"]);
  });
});
