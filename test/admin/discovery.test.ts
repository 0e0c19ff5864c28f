import { describe, expect, it } from "vitest";
import { call, json } from "./client";

const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

describe("discovery", () => {
  it("serves aggregated discovery v2 on /api when asked, with verbs, scope, short names and subresources", async () => {
    const res = await call("GET", "/api", undefined, { accept: AGGREGATED });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    const doc = await json(res);
    expect(doc).toMatchObject({ kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2" });
    expect(doc.items).toHaveLength(1);
    const v1 = doc.items[0].versions[0];
    expect(v1.version).toBe("v1");
    const byName = Object.fromEntries(v1.resources.map((r: { resource: string }) => [r.resource, r]));
    expect(byName.services).toEqual({
      resource: "services",
      responseKind: { group: "", version: "v1", kind: "Service" },
      scope: "Namespaced",
      singularResource: "service",
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      shortNames: ["svc"],
      categories: ["all"],
      subresources: [{ subresource: "status", responseKind: { group: "", version: "v1", kind: "Service" }, verbs: ["get", "patch", "update"] }],
    });
    expect(byName.pods.shortNames).toEqual(["po"]);
    expect(byName.nodes).toMatchObject({ scope: "Cluster", shortNames: ["no"] });
    expect(byName.namespaces).toMatchObject({ scope: "Cluster", shortNames: ["ns"] });
    expect(byName.events).toMatchObject({ scope: "Namespaced", verbs: ["get", "list", "watch"] });
  });

  it("serves the named groups on /apis: EndpointSlices and Leases", async () => {
    const doc = await json(await call("GET", "/apis", undefined, { accept: AGGREGATED }));
    const groups = Object.fromEntries(
      doc.items.map((g: { metadata: { name: string }; versions: { resources: { resource: string }[] }[] }) => [
        g.metadata.name,
        g.versions[0]!.resources.map((r) => r.resource),
      ]),
    );
    expect(groups).toEqual({ "discovery.k8s.io": ["endpointslices"], "coordination.k8s.io": ["leases"] });
  });

  it("falls back to legacy documents without the aggregated media type", async () => {
    const versions = await call("GET", "/api", undefined, { accept: "application/json" });
    expect(versions.headers.get("content-type")).toBe("application/json");
    expect(await json(versions)).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = await json(await call("GET", "/apis"));
    expect(groups.kind).toBe("APIGroupList");
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual(["discovery.k8s.io", "coordination.k8s.io"]);
    expect(groups.groups[0].preferredVersion).toEqual({ groupVersion: "discovery.k8s.io/v1", version: "v1" });
    const core = await json(await call("GET", "/api/v1"));
    expect(core).toMatchObject({ kind: "APIResourceList", groupVersion: "v1" });
    const names = core.resources.map((r: { name: string }) => r.name);
    expect(names).toEqual(expect.arrayContaining(["services", "services/status", "pods", "nodes", "namespaces", "events"]));
    expect(core.resources.find((r: { name: string }) => r.name === "namespaces")).toMatchObject({ namespaced: false, kind: "Namespace", shortNames: ["ns"] });
    const slices = await json(await call("GET", "/apis/discovery.k8s.io/v1"));
    expect(slices.resources).toEqual([expect.objectContaining({ name: "endpointslices", kind: "EndpointSlice", namespaced: true })]);
    expect((await call("GET", "/apis/apps/v1")).status).toBe(404);
  });

  it("requires the token for discovery too", async () => {
    expect((await call("GET", "/api", undefined, { token: null })).status).toBe(401);
    expect((await call("GET", "/openapi/v3", undefined, { token: null })).status).toBe(401);
  });
});

describe("OpenAPI v3", () => {
  it("indexes one document per group-version, and every PATCH carries its GVK and fieldValidation", async () => {
    const index = await json(await call("GET", "/openapi/v3"));
    expect(Object.keys(index.paths).sort()).toEqual(["api/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1"]);
    for (const [key, { serverRelativeURL }] of Object.entries(index.paths as Record<string, { serverRelativeURL: string }>)) {
      expect(serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/${key}\\?hash=[0-9A-F]{16}$`));
      const doc = await json(await call("GET", serverRelativeURL));
      expect(doc.openapi).toBe("3.0.0");
      const patches = Object.values(doc.paths as Record<string, { patch?: any }>).flatMap((p) => (p.patch ? [p.patch] : []));
      expect(patches.length).toBeGreaterThan(0);
      for (const op of patches) {
        expect(op["x-kubernetes-group-version-kind"]).toHaveProperty("kind");
        expect(op.parameters).toContainEqual(expect.objectContaining({ name: "fieldValidation", in: "query" }));
        expect(Object.keys(op.requestBody.content)).not.toContain("application/strategic-merge-patch+json");
      }
    }
    const core = await json(await call("GET", "/openapi/v3/api/v1"));
    const svcPatch = core.paths["/api/v1/namespaces/{namespace}/services/{name}"].patch;
    expect(svcPatch["x-kubernetes-group-version-kind"]).toEqual({ group: "", version: "v1", kind: "Service" });
    const svcSchema = core.components.schemas["io.k8s.api.core.v1.Service"];
    expect(svcSchema["x-kubernetes-group-version-kind"]).toEqual([{ group: "", version: "v1", kind: "Service" }]);
    // What kubectl explain reads: upstream's descriptions, structs as named components, IntOrString without a type.
    const schemas = core.components.schemas;
    const ref = (s: { allOf: { $ref: string }[] }) => s.allOf[0]!.$ref.replace("#/components/schemas/", "");
    expect(svcSchema.description).toMatch(/^Service is a named abstraction of software service/);
    const spec = schemas[ref(svcSchema.properties.spec)];
    expect(ref(svcSchema.properties.spec)).toBe("io.k8s.api.core.v1.ServiceSpec");
    expect(spec.properties.ports).toMatchObject({ type: "array", description: expect.stringMatching(/^The list of ports that are exposed by this service/) });
    const port = schemas[ref(spec.properties.ports.items)];
    expect(port.description).toBe("ServicePort contains information on service's port.");
    expect(port.required).toEqual(["port"]);
    expect(port.properties.targetPort).toMatchObject({ description: expect.stringMatching(/^Number or name of the port to access on the pods/) });
    expect(ref(port.properties.targetPort)).toBe("io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    expect(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]).toEqual({
      description: expect.any(String),
      oneOf: [{ type: "integer" }, { type: "string" }],
      format: "int-or-string",
    });
    expect(ref(svcSchema.properties.metadata)).toBe("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    const discoveryDoc = await json(await call("GET", "/openapi/v3/apis/discovery.k8s.io/v1"));
    expect(Object.keys(discoveryDoc.components.schemas)).toEqual(
      expect.arrayContaining(["io.k8s.api.discovery.v1.EndpointSlice", "io.k8s.api.discovery.v1.Endpoint", "io.k8s.api.core.v1.ObjectReference"]),
    );
    expect((await call("GET", "/openapi/v3/apis/apps/v1")).status).toBe(404);
  });
});

describe("discovery paths as client libraries spell them", () => {
  it("answers with a trailing slash as without one (Python's get_api_versions, client-node)", async () => {
    for (const [path, kind] of [
      ["/api/", "APIVersions"],
      ["/apis/", "APIGroupList"],
      ["/api/v1/", "APIResourceList"],
      ["/apis/discovery.k8s.io/v1/", "APIResourceList"],
    ] as const) {
      const res = await call("GET", path, undefined, { accept: "application/json" });
      expect(res.status, path).toBe(200);
      expect((await json(res)).kind, path).toBe(kind);
    }
    const version = await call("GET", "/version/");
    expect(version.status).toBe(200);
    expect(await json(version)).toMatchObject({ major: "1", minor: "32" });
  });

  it("serves the APIGroup document of each named group on /apis/<group>", async () => {
    for (const path of ["/apis/discovery.k8s.io", "/apis/discovery.k8s.io/"]) {
      const res = await call("GET", path);
      expect(res.status, path).toBe(200);
      expect(await json(res)).toEqual({
        kind: "APIGroup",
        apiVersion: "v1",
        name: "discovery.k8s.io",
        versions: [{ groupVersion: "discovery.k8s.io/v1", version: "v1" }],
        preferredVersion: { groupVersion: "discovery.k8s.io/v1", version: "v1" },
      });
    }
    expect((await json(await call("GET", "/apis/coordination.k8s.io"))).name).toBe("coordination.k8s.io");
    const apps = await call("GET", "/apis/apps");
    expect(apps.status).toBe(404);
    expect(await json(apps)).toMatchObject({ kind: "Status", reason: "NotFound" });
    expect((await call("GET", "/apis/discovery.k8s.io", undefined, { token: null })).status).toBe(401);
  });
});
