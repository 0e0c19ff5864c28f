import { describe, expect, it } from "vitest";
import { SEED_MANIFEST } from "../api/seed-manifest";
import { call, expectRejectedWithoutWrites, freshNamespace, json, service } from "./client";

function inServiceCIDR(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 10 && b! >= 96 && b! <= 111;
}

describe("Services through the admin API", () => {
  it("accepts the seed manifest as written (YAML), defaults it and allocates a ClusterIP", async () => {
    const ns = await freshNamespace();
    const res = await call("POST", `/api/v1/namespaces/${ns}/services`, undefined, { raw: SEED_MANIFEST, contentType: "application/yaml" });
    expect(res.status).toBe(201);
    const created = await json(res);
    expect(created.metadata).toMatchObject({ name: "nginx", namespace: ns, generation: 1 });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(created.spec).toMatchObject({
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ports: [
        { name: "http", protocol: "TCP", port: 8080, targetPort: 80 },
        { name: "https", protocol: "TCP", port: 8443, targetPort: 443 },
      ],
    });
    expect(created.spec.externalTrafficPolicy).toBeUndefined();
    expect(inServiceCIDR(created.spec.clusterIP)).toBe(true);
    expect(created.spec.clusterIPs).toEqual([created.spec.clusterIP]);

    const got = await json(await call("GET", `/api/v1/namespaces/${ns}/services/nginx`));
    expect(got).toEqual(created);
    const yaml = await (await call("GET", `/api/v1/namespaces/${ns}/services/nginx`, undefined, { accept: "application/yaml" })).text();
    expect(yaml).toContain(`clusterIP: ${created.spec.clusterIP}`);
  });

  it("defaults targetPort to port, and NodePort gets externalTrafficPolicy and nodePorts in range", async () => {
    const ns = await freshNamespace();
    const res = await call("POST", `/api/v1/namespaces/${ns}/services`, service("np", { type: "NodePort", ports: [{ port: 80 }] }));
    expect(res.status).toBe(201);
    const svc = await json(res);
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 80, protocol: "TCP" });
    expect(svc.spec.externalTrafficPolicy).toBe("Cluster");
    expect(svc.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(svc.spec.ports[0].nodePort).toBeLessThanOrEqual(32767);
  });

  it("gives LoadBalancer Services a hostname <name>-<namespace>.<LB domain>", async () => {
    const ns = await freshNamespace();
    const svc = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { type: "LoadBalancer" })));
    expect(svc.spec.allocateLoadBalancerNodePorts).toBe(true);
    expect(svc.status.loadBalancer.ingress[0].hostname).toBe(`web-${ns}.lb.svcedge.local`);
  });

  it("rejects an invalid Service whole with 422 and field causes, and writes nothing", async () => {
    const ns = await freshNamespace();
    const bad = service("bad", { ports: [{ port: 80, nodePort: 30080 }, { port: 70000 }] });
    const res = await call("POST", `/api/v1/namespaces/${ns}/services`, bad);
    expect(res.status).toBe(422);
    const st = await json(res);
    expect(st).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Invalid", code: 422, details: { name: "bad", kind: "Service" } });
    const fields = st.details.causes.map((c: { field: string }) => c.field);
    expect(fields).toEqual(expect.arrayContaining(["spec.ports[0].nodePort", "spec.ports[1].port"]));
    expect(st.message).toMatch(/^Service "bad" is invalid: /);
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/bad`)).status).toBe(404);
  });

  it("rejects a name that is not a DNS-1035 label", async () => {
    const ns = await freshNamespace();
    const res = await call("POST", `/api/v1/namespaces/${ns}/services`, service("1bad"));
    expect(res.status).toBe(422);
    const st = await json(res);
    expect(st.details.causes[0]).toMatchObject({ field: "metadata.name", reason: "FieldValueInvalid" });
    expect(st.details.causes[0].message).toContain("a DNS-1035 label must consist of lower case alphanumeric characters or '-'");
  });

  it("answers malformed YAML and JSON with 400, and nothing is written", async () => {
    const ns = await freshNamespace();
    const yaml = await call("POST", `/api/v1/namespaces/${ns}/services`, undefined, { raw: "metadata: {name: x\n  spec: [", contentType: "application/yaml" });
    expect(yaml.status).toBe(400);
    expect(await json(yaml)).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
    const js = await call("POST", `/api/v1/namespaces/${ns}/services`, undefined, { raw: '{"metadata": {"name": "x"', contentType: "application/json" });
    expect(js.status).toBe(400);
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/services`))).items).toEqual([]);
  });

  it("answers YAML whose tags or values JSON has not (!!merge on a scalar, !!set, !!binary, !!timestamp, .inf) with 400, and writes nothing", async () => {
    const ns = await freshNamespace();
    // Bodies are read with YAML 1.2's core schema: YAML 1.1's tags are unknown there, and .inf is Infinity,
    // which the check of a parsed body refuses. (The yaml library, before js-yaml, made a Symbol of the
    // first: a 500.)
    const UNKNOWN = "error converting YAML to JSON: yaml: line 6: unknown";
    const values = {
      "!!merge 5": `${UNKNOWN} scalar tag !<tag:yaml.org,2002:merge>`,
      "!!set {a, b}": `${UNKNOWN} mapping tag !<tag:yaml.org,2002:set>`,
      "!!binary aGVsbG8=": `${UNKNOWN} scalar tag !<tag:yaml.org,2002:binary>`,
      "!!timestamp 2001-12-14": `${UNKNOWN} scalar tag !<tag:yaml.org,2002:timestamp>`,
      ".inf": "Infinity is not JSON data (at metadata.labels.app)",
    };
    for (const [value, message] of Object.entries(values)) {
      const raw = `apiVersion: v1\nkind: Service\nmetadata:\n  name: tagged\n  labels:\n    app: ${value}\nspec:\n  ports: [{port: 80}]\n`;
      const created = await expectRejectedWithoutWrites(
        () => call("POST", `/api/v1/namespaces/${ns}/services`, undefined, { raw, contentType: "application/yaml" }),
        400,
      );
      expect(created.message).toContain(message);
      const applied = () =>
        call("PATCH", `/api/v1/namespaces/${ns}/services/tagged?fieldManager=m`, undefined, { raw, contentType: "application/apply-patch+yaml" });
      expect((await expectRejectedWithoutWrites(applied, 400)).message).toContain(message);
    }
  });

  it("answers an unknown media type with 415 and an oversized body with 413", async () => {
    const ns = await freshNamespace();
    const form = await call("POST", `/api/v1/namespaces/${ns}/services`, undefined, { raw: "a=b", contentType: "application/x-www-form-urlencoded" });
    expect(form.status).toBe(415);
    expect(await json(form)).toMatchObject({ reason: "UnsupportedMediaType" });
    const big = service("big", {}, { annotations: { pad: "x".repeat(3 * 1024 * 1024 + 10) } });
    const res = await call("POST", `/api/v1/namespaces/${ns}/services`, big);
    expect(res.status).toBe(413);
    expect(await json(res)).toMatchObject({ kind: "Status", code: 413 });
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/big`)).status).toBe(404);
  });

  it("answers 409 AlreadyExists for a duplicate name and 404 for a missing namespace", async () => {
    const ns = await freshNamespace();
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, service("dup"))).status).toBe(201);
    const again = await call("POST", `/api/v1/namespaces/${ns}/services`, service("dup"));
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ reason: "AlreadyExists", message: `services "dup" already exists` });
    const missing = await call("POST", `/api/v1/namespaces/nope-${Date.now()}/services`, service("x"));
    expect(missing.status).toBe(404);
    expect((await json(missing)).message).toMatch(/^namespaces "nope-\d+" not found$/);
  });

  it("rejects an update with a stale resourceVersion with 409 Conflict", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("rv")));
    const first = structuredClone(created);
    first.metadata.labels = { v: "1" };
    const ok = await call("PUT", `/api/v1/namespaces/${ns}/services/rv`, first);
    expect(ok.status).toBe(200);
    const stale = structuredClone(created);
    stale.metadata.labels = { v: "2" };
    const res = await call("PUT", `/api/v1/namespaces/${ns}/services/rv`, stale);
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({
      reason: "Conflict",
      message: `Operation cannot be fulfilled on services "rv": the object has been modified; please apply your changes to the latest version and try again`,
    });
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/services/rv`))).metadata.labels).toEqual({ v: "1" });
  });

  it("lets exactly one of several concurrent conflicting updates win", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("race")));
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const next = structuredClone(created);
        next.metadata.labels = { writer: String(i) };
        return call("PUT", `/api/v1/namespaces/${ns}/services/race`, next);
      }),
    );
    const codes = attempts.map((r) => r.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(7);
    const winner = attempts.findIndex((r) => r.status === 200);
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/services/race`))).metadata.labels).toEqual({ writer: String(winner) });
  });

  it("keeps clusterIP immutable and carries it over when an update omits it", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("imm")));
    const omit = structuredClone(created);
    delete omit.spec.clusterIP;
    delete omit.spec.clusterIPs;
    const kept = await call("PUT", `/api/v1/namespaces/${ns}/services/imm`, omit);
    expect(kept.status).toBe(200);
    expect((await json(kept)).spec.clusterIP).toBe(created.spec.clusterIP);
    const change = structuredClone(await json(await call("GET", `/api/v1/namespaces/${ns}/services/imm`)));
    change.spec.clusterIP = "10.96.0.77";
    change.spec.clusterIPs = ["10.96.0.77"];
    const res = await call("PUT", `/api/v1/namespaces/${ns}/services/imm`, change);
    expect(res.status).toBe(422);
    expect((await json(res)).details.causes.map((c: { field: string }) => c.field)).toContain("spec.clusterIPs[0]");
  });

  it("patches with JSON merge patch and JSON patch, and rejects a failed JSON patch test whole", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("p"));
    const merged = await call(
      "PATCH",
      `/api/v1/namespaces/${ns}/services/p`,
      { metadata: { labels: { tier: "web" } } },
      { contentType: "application/merge-patch+json" },
    );
    expect(merged.status).toBe(200);
    expect((await json(merged)).metadata.labels).toEqual({ tier: "web" });
    const jp = await call("PATCH", `/api/v1/namespaces/${ns}/services/p`, [{ op: "replace", path: "/spec/ports/0/port", value: 81 }], {
      contentType: "application/json-patch+json",
    });
    expect(jp.status).toBe(200);
    expect((await json(jp)).spec.ports[0].port).toBe(81);
    const failing = await call(
      "PATCH",
      `/api/v1/namespaces/${ns}/services/p`,
      [
        { op: "replace", path: "/spec/ports/0/port", value: 82 },
        { op: "test", path: "/metadata/labels/tier", value: "db" },
      ],
      { contentType: "application/json-patch+json" },
    );
    expect(failing.status).toBe(422);
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/services/p`))).spec.ports[0].port).toBe(81);
  });

  it("lists with label selectors (equality and set-based), field selectors, limit and continue", async () => {
    const ns = await freshNamespace();
    for (const [name, tier] of [
      ["a", "web"],
      ["b", "db"],
      ["c", "web"],
      ["d", "cache"],
    ] as const)
      await call("POST", `/api/v1/namespaces/${ns}/services`, service(name, {}, { labels: { tier } }));
    const names = async (q: string) =>
      (await json(await call("GET", `/api/v1/namespaces/${ns}/services?${q}`))).items.map((s: { metadata: { name: string } }) => s.metadata.name);
    expect(await names("labelSelector=tier%3Dweb")).toEqual(["a", "c"]);
    expect(await names("labelSelector=tier%20in%20(db,cache)")).toEqual(["b", "d"]);
    expect(await names("labelSelector=tier!%3Dweb")).toEqual(["b", "d"]);
    expect(await names("fieldSelector=metadata.name%3Db")).toEqual(["b"]);
    const page1 = await json(await call("GET", `/api/v1/namespaces/${ns}/services?limit=3`));
    expect(page1.items.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(["a", "b", "c"]);
    expect(page1.metadata.remainingItemCount).toBe(1);
    const page2 = await json(await call("GET", `/api/v1/namespaces/${ns}/services?limit=3&continue=${encodeURIComponent(page1.metadata.continue)}`));
    expect(page2.items.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(["d"]);
    expect(page2.metadata.continue).toBeUndefined();
    const bad = await call("GET", `/api/v1/namespaces/${ns}/services?labelSelector=tier%20in%20(`);
    expect(bad.status).toBe(400);
    const all = await json(await call("GET", `/api/v1/services?fieldSelector=metadata.namespace%3D${ns}`));
    expect(all.kind).toBe("ServiceList");
    expect(all.items).toHaveLength(4);
  });

  it("deletes a Service, releasing its ClusterIP for reuse", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("del")));
    const ip = created.spec.clusterIP;
    const del = await call("DELETE", `/api/v1/namespaces/${ns}/services/del`);
    expect(del.status).toBe(200);
    expect((await json(del)).metadata.uid).toBe(created.metadata.uid);
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/del`)).status).toBe(404);
    const again = await call("POST", `/api/v1/namespaces/${ns}/services`, service("del2", { clusterIP: ip }));
    expect(again.status).toBe(201);
    expect((await json(again)).spec.clusterIP).toBe(ip);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/services/del`)).status).toBe(404);
  });

  it("records the creator's managedFields, and stores nothing for a no-op update whatever its key order", async () => {
    const ns = await freshNamespace();
    const res = await call("POST", `/api/v1/namespaces/${ns}/services?fieldManager=tester`, service("mf", {}, { labels: { a: "1" } }));
    const created = await json(res);
    expect(created.metadata.managedFields).toHaveLength(1);
    expect(created.metadata.managedFields[0]).toMatchObject({ manager: "tester", operation: "Update", fieldsType: "FieldsV1" });
    expect(created.metadata.managedFields[0].fieldsV1["f:metadata"]["f:labels"]["f:a"]).toEqual({});
    // The same object with its keys in another order: nothing changes, not even the resourceVersion.
    const reordered = Object.fromEntries(Object.entries(created).reverse());
    reordered.spec = Object.fromEntries(Object.entries(created.spec).reverse());
    const put = await json(await call("PUT", `/api/v1/namespaces/${ns}/services/mf`, reordered));
    expect(put.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    // A label change is a metadata change: a new resourceVersion, the same generation.
    const relabel = await json(
      await call("PATCH", `/api/v1/namespaces/${ns}/services/mf`, { metadata: { labels: { a: "2" } } }, { contentType: "application/merge-patch+json" }),
    );
    expect(relabel.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
    expect(relabel.metadata.generation).toBe(1);
  });

  it("always has the system namespaces, with their creation time", async () => {
    const list = await json(await call("GET", "/api/v1/namespaces"));
    const byName = Object.fromEntries(list.items.map((n: any) => [n.metadata.name, n]));
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      expect(byName[name].status.phase).toBe("Active");
      expect(Date.parse(byName[name].metadata.creationTimestamp)).toBeGreaterThan(0);
    }
    expect((await call("DELETE", "/api/v1/namespaces/default")).status).toBe(403);
  });
});
