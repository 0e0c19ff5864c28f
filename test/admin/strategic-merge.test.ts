import { describe, expect, it } from "vitest";
import { applyStrategicMergePatch, PATCH_STRATEGIES, StrategicMergeError } from "../../src/registry/strategic-merge";
import { call, expectRejectedWithoutWrites, freshNamespace, json, service } from "./client";

const SVC = PATCH_STRATEGIES.Service!;
const ports = (...p: object[]) => ({ spec: { ports: p } });
const http = { name: "http", protocol: "TCP", port: 8080, targetPort: 80 };
const https = { name: "https", protocol: "TCP", port: 8443, targetPort: 443 };

describe("strategic merge patch (pure)", () => {
  it("merges Service ports on `port` (their patchMergeKey) instead of replacing the list, keeping the others in place", () => {
    const original = ports(http, https);
    const out = applyStrategicMergePatch(original, ports({ port: 8443, targetPort: 9443 }, { name: "metrics", port: 9090 }), SVC);
    expect(out).toEqual(ports(http, { ...https, targetPort: 9443 }, { name: "metrics", port: 9090 }));
    expect(original.spec.ports[1]).toEqual(https); // the input is not modified
    // As upstream (kubernetes#39188): the merge key is `port` alone, so a UDP port patched onto a
    // TCP port of the same number becomes that element. Server-side apply tells them apart.
    const udp = applyStrategicMergePatch(ports(http), ports({ port: 8080, protocol: "UDP", name: "q" }), SVC);
    expect(udp).toEqual(ports({ ...http, protocol: "UDP", name: "q" }));
    const both = { name: "dns-udp", protocol: "UDP", port: 53 };
    const applied = applyStrategicMergePatch(ports({ name: "dns", protocol: "TCP", port: 53 }), ports(both), SVC, "listMapKeys");
    expect(applied).toEqual(ports({ name: "dns", protocol: "TCP", port: 53 }, both));
  });

  it("deletes, replaces and orders list elements with $patch and $setElementOrder", () => {
    expect(applyStrategicMergePatch(ports(http, https), ports({ $patch: "delete", port: 8080 }), SVC)).toEqual(ports(https));
    expect(applyStrategicMergePatch(ports(http, https), ports({ $patch: "replace" }, { port: 1 }), SVC)).toEqual(ports({ port: 1 }));
    const reordered = applyStrategicMergePatch(ports(http, https), { spec: { "$setElementOrder/ports": [{ port: 8443 }, { port: 8080 }] } }, SVC);
    expect(reordered).toEqual(ports(https, http));
    // kubectl apply's three-way patch: a new port, in the manifest's order.
    const added = applyStrategicMergePatch(
      ports(http, https),
      { spec: { "$setElementOrder/ports": [{ port: 8080 }, { port: 9000 }, { port: 8443 }], ports: [{ port: 9000, name: "m" }] } },
      SVC,
    );
    expect((added.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toEqual([8080, 9000, 8443]);
  });

  it("merges maps, deletes with null and $patch: delete, replaces with $patch: replace, and honours $retainKeys", () => {
    const base = {
      metadata: { labels: { a: "1", b: "2" } },
      spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } },
    };
    expect(applyStrategicMergePatch(base, { metadata: { labels: { b: null, c: "3" } } }, SVC).metadata).toEqual({ labels: { a: "1", c: "3" } });
    expect(applyStrategicMergePatch(base, { spec: { sessionAffinityConfig: { $patch: "delete" } } }, SVC).spec).toEqual({ sessionAffinity: "ClientIP" });
    expect(applyStrategicMergePatch(base, { metadata: { labels: { $patch: "replace", z: "9" } } }, SVC).metadata).toEqual({ labels: { z: "9" } });
    expect(applyStrategicMergePatch(base, { spec: { $retainKeys: ["type"], type: "NodePort" } }, SVC).spec).toEqual({ type: "NodePort" });
  });

  it("treats lists without a strategy as atomic and sets as sets", () => {
    const svc = { spec: { externalIPs: ["198.18.0.1", "198.18.0.2"] }, metadata: { finalizers: ["a"] } };
    expect(applyStrategicMergePatch(svc, { spec: { externalIPs: ["198.18.0.3"] } }, SVC).spec).toEqual({ externalIPs: ["198.18.0.3"] });
    expect(applyStrategicMergePatch(svc, { metadata: { finalizers: ["b", "a"] } }, SVC).metadata).toEqual({ finalizers: ["a", "b"] });
    expect(applyStrategicMergePatch(svc, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } }, SVC).metadata).toEqual({ finalizers: [] });
  });

  it("replaces a list with a $patch: replace element, and reports unknown directives and elements without their merge key", () => {
    expect(applyStrategicMergePatch(ports(http, https), ports({ $patch: "replace" }, { port: 53, protocol: "UDP" }), SVC)).toEqual(
      ports({ port: 53, protocol: "UDP" }),
    );
    expect(() => applyStrategicMergePatch(ports(http), ports({ name: "x" }), SVC)).toThrow('map: {"name":"x"} does not contain declared merge key: port');
  });

  it("merges Pod containers by name and their ports by containerPort, Node addresses by type", () => {
    const podBase = { spec: { containers: [{ name: "a", ports: [{ containerPort: 80 }] }, { name: "b" }] } };
    const out = applyStrategicMergePatch(podBase, { spec: { containers: [{ name: "a", ports: [{ containerPort: 81 }] }] } }, PATCH_STRATEGIES.Pod);
    expect(out.spec).toEqual({ containers: [{ name: "a", ports: [{ containerPort: 80 }, { containerPort: 81 }] }, { name: "b" }] });
    const node = {
      status: {
        addresses: [
          { type: "InternalIP", address: "198.18.0.1" },
          { type: "Hostname", address: "n1" },
        ],
      },
    };
    const moved = applyStrategicMergePatch(node, { status: { addresses: [{ type: "InternalIP", address: "198.18.0.9" }] } }, PATCH_STRATEGIES.Node);
    expect(moved.status).toEqual({
      addresses: [
        { type: "InternalIP", address: "198.18.0.9" },
        { type: "Hostname", address: "n1" },
      ],
    });
  });

  it("rejects malformed directives", () => {
    expect(() => applyStrategicMergePatch(ports(http), { spec: { $patch: "explode" } }, SVC)).toThrow(StrategicMergeError);
    expect(() => applyStrategicMergePatch(ports(http), ports({ targetPort: 1 }), SVC)).toThrow(/does not contain declared merge key: port/);
    // A directive that is a map whose toString is data: String() of it threw a TypeError (a 500).
    const odd = { toString: null, prototype: "x" };
    expect(() => applyStrategicMergePatch(ports(http), ports({ ...http, $patch: odd }), SVC)).toThrow(
      'Unknown patch type: {"toString":null,"prototype":"x"} in map',
    );
  });
});

describe("strategic merge patch and server-side apply through the API", () => {
  const SMP = "application/strategic-merge-patch+json";
  const APPLY = "application/apply-patch+yaml";

  it("patches a Service strategically; a bad patch is 400 and writes nothing", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("s", { ports: [http, https] }));
    const res = await call("PATCH", `/api/v1/namespaces/${ns}/services/s`, ports({ port: 8080, targetPort: 8081 }), { contentType: SMP });
    expect(res.status).toBe(200);
    expect((await json(res)).spec.ports.map((p: { targetPort: number }) => p.targetPort)).toEqual([8081, 443]);
    const bad = await call("PATCH", `/api/v1/namespaces/${ns}/services/s`, ports({ name: "x" }), { contentType: SMP });
    expect(bad.status).toBe(400);
  });

  it("applies server-side: upsert with managedFields, conflict 409 with FieldManagerConflict, force takes over, dropped fields are removed", async () => {
    const ns = await freshNamespace();
    const url = `/api/v1/namespaces/${ns}/services/ssa`;
    const intent = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ssa", labels: { team: "a" } },
      spec: { selector: { app: "ssa" }, ports: [http, https] },
    };
    expect((await call("PATCH", url, intent, { contentType: APPLY })).status).toBe(422); // fieldManager is required (PatchOptions)
    const created = await call("PATCH", `${url}?fieldManager=alice`, intent, { contentType: APPLY });
    expect(created.status).toBe(201); // an apply that creates answers 201, as the apiserver does
    const obj = await json(created);
    expect(obj.spec.clusterIP).toBeTruthy();
    expect(obj.metadata.managedFields).toEqual([expect.objectContaining({ manager: "alice", operation: "Apply", apiVersion: "v1", fieldsType: "FieldsV1" })]);
    expect(obj.metadata.managedFields[0].fieldsV1["f:spec"]["f:ports"]['k:{"port":8443,"protocol":"TCP"}']).toHaveProperty("f:targetPort");

    const bob = { ...intent, metadata: { name: "ssa" }, spec: { ports: [{ ...https, targetPort: 4443 }] } };
    const conflict = await call("PATCH", `${url}?fieldManager=bob`, bob, { contentType: APPLY });
    expect(conflict.status).toBe(409);
    const st = await json(conflict);
    expect(st).toMatchObject({
      reason: "Conflict",
      message: 'Apply failed with 1 conflict: conflict with "alice" using v1: .spec.ports[port=8443,protocol="TCP"].targetPort',
    });
    expect(st.details.causes).toEqual([
      {
        reason: "FieldManagerConflict",
        message: 'conflict with "alice" using v1: .spec.ports[port=8443,protocol="TCP"].targetPort',
        field: '.spec.ports[port=8443,protocol="TCP"].targetPort',
      },
    ]);

    const forced = await json(await call("PATCH", `${url}?fieldManager=bob&force=true`, bob, { contentType: APPLY }));
    expect(forced.spec.ports[1].targetPort).toBe(4443);
    // alice drops her label and the http port; bob does not own them, so they go.
    const shrunk = { ...intent, metadata: { name: "ssa" }, spec: { selector: { app: "ssa" }, ports: [https] } };
    const after = await json(await call("PATCH", `${url}?fieldManager=alice&force=true`, shrunk, { contentType: APPLY }));
    expect(after.metadata.labels).toBeUndefined();
    expect(after.spec.ports.map((p: { port: number }) => p.port)).toEqual([8443]);
    expect(after.metadata.managedFields.map((m: { manager: string }) => m.manager).sort()).toEqual(["alice", "bob"]);
  });

  it("refuses an apply whose associative list holds non-maps or elements without their key (400, as structured-merge-diff), and writes nothing", async () => {
    const ns = await freshNamespace();
    const url = (name: string) => `/api/v1/namespaces/${ns}/services/${name}?fieldManager=m`;
    const apply = (name: string, spec: object) => () =>
      call("PATCH", url(name), { apiVersion: "v1", kind: "Service", metadata: { name }, spec }, { contentType: APPLY });
    expect((await apply("live", { ports: [http] })()).status).toBe(201);
    // Against a live object these used to fail inside the merge (500); creating one failed later, in admission.
    for (const name of ["live", "new"]) {
      const notMaps = await expectRejectedWithoutWrites(apply(name, { ports: [1, "x", null, []] }), 400);
      expect(notMaps.message).toBe(`failed to create typed patch object (${name}; v1, Kind=Service): .spec.ports: element 0: expected map, got 1`);
      const keyless = await expectRejectedWithoutWrites(apply(name, { ports: [http, { name: "no-port" }] }), 400);
      expect(keyless.message).toContain('.spec.ports: element 1: associative list with keys has an element that omits key field "port"');
    }
    const container = await expectRejectedWithoutWrites(
      () =>
        call(
          "PATCH",
          `/api/v1/namespaces/${ns}/pods/p?fieldManager=m`,
          { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", ports: [8080] }] } },
          { contentType: APPLY },
        ),
      400,
    );
    expect(container.message).toContain(".spec.containers[0].ports: element 0: expected map, got 8080");
    // Strategic merge directives are no fields of an applied configuration.
    const directive = await expectRejectedWithoutWrites(apply("live", { $patch: "bogus", ports: [http] }), 400);
    expect(directive.message).toContain("Unknown patch type: bogus");
  });

  it("applies with fieldValidation: Strict rejects unknown fields with 422, Warn answers a Warning header, Ignore is silent", async () => {
    const ns = await freshNamespace();
    const body = (name: string) => ({ apiVersion: "v1", kind: "Service", metadata: { name }, spec: { bogus: true, ports: [{ port: 80 }] } });
    const strict = await call("POST", `/api/v1/namespaces/${ns}/services?fieldValidation=Strict`, body("strict"));
    expect(strict.status).toBe(422);
    expect((await json(strict)).message).toContain('unknown field "spec.bogus"');
    const warn = await call("POST", `/api/v1/namespaces/${ns}/services?fieldValidation=Warn`, body("warn"));
    expect(warn.status).toBe(201);
    expect(warn.headers.get("warning")).toBe('299 - "unknown field \\"spec.bogus\\""');
    const ignore = await call("POST", `/api/v1/namespaces/${ns}/services?fieldValidation=Ignore`, body("ignore"));
    expect(ignore.status).toBe(201);
    expect(ignore.headers.get("warning")).toBeNull();
  });
});
