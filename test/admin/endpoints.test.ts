// core/v1 Endpoints, read-only, mirrored from EndpointSlices (src/admin/endpoints-mirror.ts):
// what `kubectl get endpoints` and Prometheus' Kubernetes discovery read.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, pod, readEvents, service } from "./client";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/**
 * A Service and two Pods. The endpoints controller syncs a Service once for the Pod writes
 * that arrive together, as upstream's does; `eachSynced` reads the slices after each write,
 * which syncs them, so that every write is a change a watcher sees.
 */
async function webWithPods(ns: string, eachSynced = false) {
  const synced = async () => {
    if (eachSynced) await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`);
  };
  await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
  await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-b", { app: "web" }, "198.18.1.2", { nodeName: "n1" }));
  await synced();
  await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-a", { app: "web" }, "198.18.1.1", { ready: false }));
  await synced();
}

describe("v1 Endpoints mirrored from EndpointSlices", () => {
  it("get: ready addresses, not-ready ones apart, the Service's ports", async () => {
    const ns = await freshNamespace();
    await webWithPods(ns);
    const res = await call("GET", `/api/v1/namespaces/${ns}/endpoints/web`);
    expect(res.status).toBe(200);
    const ep = await json(res);
    expect(ep).toMatchObject({ apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", namespace: ns } });
    expect(ep.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(ep.subsets).toEqual([
      {
        addresses: [{ ip: "198.18.1.2", nodeName: "n1", targetRef: { kind: "Pod", namespace: ns, name: "web-b", uid: expect.any(String) } }],
        notReadyAddresses: [{ ip: "198.18.1.1", targetRef: { kind: "Pod", namespace: ns, name: "web-a", uid: expect.any(String) } }],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    ]);
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/endpoints/web`))).metadata).toEqual(ep.metadata);
    const missing = await call("GET", `/api/v1/namespaces/${ns}/endpoints/nothing`);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ reason: "NotFound", message: 'endpoints "nothing" not found' });
  });

  it("list (a namespace and across namespaces), field selectors, and the Table kubectl get prints", async () => {
    const ns = await freshNamespace();
    await webWithPods(ns);
    const list = await json(await call("GET", `/api/v1/namespaces/${ns}/endpoints`));
    expect(list.kind).toBe("EndpointsList");
    expect(list.items.map((e: any) => e.metadata.name)).toEqual(["web"]);
    const all = await json(await call("GET", `/api/v1/endpoints?fieldSelector=metadata.namespace=${ns}`));
    expect(all.items.map((e: any) => `${e.metadata.namespace}/${e.metadata.name}`)).toEqual([`${ns}/web`]);
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/endpoints?fieldSelector=metadata.name!=web`))).items).toEqual([]);
    expect((await call("GET", `/api/v1/namespaces/${ns}/endpoints?fieldSelector=spec.x=y`)).status).toBe(400);
    const table = await json(await call("GET", `/api/v1/namespaces/${ns}/endpoints`, undefined, { accept: TABLE }));
    expect(table.columnDefinitions.map((c: any) => c.name)).toEqual(["Name", "Endpoints", "Age"]);
    expect(table.rows[0].cells.slice(0, 2)).toEqual(["web", "198.18.1.2:8080"]);
  });

  it("is read-only: every write is 405, and discovery lists get, list and watch", async () => {
    const ns = await freshNamespace();
    await webWithPods(ns);
    const body = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web" } };
    expect((await call("POST", `/api/v1/namespaces/${ns}/endpoints`, body)).status).toBe(405);
    expect((await call("PUT", `/api/v1/namespaces/${ns}/endpoints/web`, body)).status).toBe(405);
    expect((await call("PATCH", `/api/v1/namespaces/${ns}/endpoints/web`, {}, { contentType: "application/merge-patch+json" })).status).toBe(405);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/endpoints/web`)).status).toBe(405);
    const core = await json(await call("GET", "/api/v1"));
    expect(core.resources.find((r: any) => r.name === "endpoints")).toMatchObject({
      kind: "Endpoints",
      namespaced: true,
      verbs: ["get", "list", "watch"],
      shortNames: ["ep"],
    });
  });

  it("watch: a Service's first slice is ADDED, changes are MODIFIED, its last slice DELETED; resuming starts from that version", async () => {
    const ns = await freshNamespace();
    const list = await json(await call("GET", `/api/v1/namespaces/${ns}/endpoints`));
    const watch = await call("GET", `/api/v1/namespaces/${ns}/endpoints?watch=1&resourceVersion=${list.metadata.resourceVersion}`);
    await webWithPods(ns, true);
    const deleted = await json(await call("DELETE", `/api/v1/namespaces/${ns}/pods/web-b`));
    await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`);
    await call("DELETE", `/api/v1/namespaces/${ns}/services/web`);
    const events = await readEvents(watch, 4);
    expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "MODIFIED", "DELETED"]);
    expect(events.every((e) => e.object.kind === "Endpoints" && e.object.metadata.name === "web")).toBe(true);
    expect(events[1]!.object.subsets[0].notReadyAddresses).toHaveLength(1);
    expect(events[2]!.object.subsets[0].addresses).toBeUndefined();
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(rvs[2]).toBeGreaterThan(Number(deleted.metadata.resourceVersion) - 1);

    // A watch resumed from the MODIFIED event knows the slices as of then: the next change is MODIFIED, not ADDED.
    const resumed = await call(
      "GET",
      `/api/v1/namespaces/${ns}/endpoints?watch=1&resourceVersion=${events[1]!.object.metadata.resourceVersion}&fieldSelector=metadata.name=web`,
    );
    const replay = await readEvents(resumed, 2);
    expect(replay.map((e) => e.type)).toEqual(["MODIFIED", "DELETED"]);
  });
});
