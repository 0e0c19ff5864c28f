// Query options as apimachinery decodes and validates them: booleans
// (runtime.Convert_Slice_string_To_bool), PatchOptions (validation.ValidatePatchOptions),
// and the object a DELETE answers with.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, readEvents, service } from "./client";

const APPLY = "application/apply-patch+yaml";
const MERGE = "application/merge-patch+json";

describe("boolean query parameters", () => {
  it("watch=True, watch=TRUE, watch=t, watch=1, watch=yes and a bare ?watch all open a watch", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web"));
    for (const q of ["watch=True", "watch=TRUE", "watch=t", "watch=1", "watch=yes", "watch"]) {
      const res = await call("GET", `/api/v1/namespaces/${ns}/services?${q}`);
      expect(res.status, q).toBe(200);
      const [event] = await readEvents(res, 1);
      expect(event, q).toMatchObject({ type: "ADDED", object: { kind: "Service", metadata: { name: "web" } } });
    }
  });

  it("watch=False, watch=FALSE and watch=0 list", async () => {
    const ns = await freshNamespace();
    for (const q of ["watch=False", "watch=FALSE", "watch=0", "watch=false"]) {
      const body = await json(await call("GET", `/api/v1/namespaces/${ns}/services?${q}`));
      expect(body.kind, q).toBe("ServiceList");
    }
  });

  it("allowWatchBookmarks=True asks for bookmarks", async () => {
    const ns = await freshNamespace();
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=True&allowWatchBookmarks=True&timeoutSeconds=5`);
    const events = await readEvents(res, 1, 4000);
    expect(events[0]).toMatchObject({ type: "BOOKMARK", object: { kind: "Service" } });
  });

  it("force=True takes fields over in a server-side apply", async () => {
    const ns = await freshNamespace();
    const intent = (targetPort: number) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort }] },
    });
    const path = `/api/v1/namespaces/${ns}/services/web`;
    expect((await call("PATCH", `${path}?fieldManager=one`, intent(8080), { contentType: APPLY })).status).toBe(201);
    expect((await call("PATCH", `${path}?fieldManager=two`, intent(9090), { contentType: APPLY })).status).toBe(409);
    const forced = await call("PATCH", `${path}?fieldManager=two&force=True`, intent(9090), { contentType: APPLY });
    expect(forced.status).toBe(200);
    expect((await json(forced)).spec.ports[0].targetPort).toBe(9090);
  });
});

describe("PatchOptions", () => {
  it("an apply without fieldManager is 422 on PatchOptions, whatever the User-Agent", async () => {
    const ns = await freshNamespace();
    const res = await call("PATCH", `/api/v1/namespaces/${ns}/services/web`, service("web"), { contentType: APPLY });
    expect(res.status).toBe(422);
    expect(await json(res)).toMatchObject({
      reason: "Invalid",
      message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      details: { group: "meta.k8s.io", kind: "PatchOptions", name: "", causes: [{ reason: "FieldValueRequired", field: "fieldManager" }] },
    });
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/web`)).status).toBe(404);
  });

  it("force on a non-apply patch is 422, force=false included", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web"));
    for (const force of ["true", "false"]) {
      const res = await call("PATCH", `/api/v1/namespaces/${ns}/services/web?force=${force}`, { metadata: { labels: { a: "b" } } }, { contentType: MERGE });
      expect(res.status, force).toBe(422);
      expect((await json(res)).message).toBe('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
    }
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/services/web`))).metadata.labels).toBeUndefined();
  });

  it("a fieldManager longer than 128 characters is 422", async () => {
    const ns = await freshNamespace();
    const res = await call("PATCH", `/api/v1/namespaces/${ns}/services/web?fieldManager=${"m".repeat(129)}`, service("web"), { contentType: APPLY });
    expect(res.status).toBe(422);
    expect((await json(res)).details.causes).toEqual([
      { reason: "FieldValueTooLong", message: "Too long: may not be more than 128 bytes", field: "fieldManager" },
    ]);
  });
});

describe("DELETE", () => {
  it("answers with the object at the deletion's resourceVersion, the one its DELETED event carries", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("web")));
    const watch = await call("GET", `/api/v1/namespaces/${ns}/services?watch=true&resourceVersion=${created.metadata.resourceVersion}`);
    const deleted = await json(await call("DELETE", `/api/v1/namespaces/${ns}/services/web`));
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const [event] = await readEvents(watch, 1);
    expect(event).toMatchObject({ type: "DELETED", object: { metadata: { name: "web", resourceVersion: deleted.metadata.resourceVersion } } });
  });
});
