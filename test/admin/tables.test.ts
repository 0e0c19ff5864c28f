import { describe, expect, it } from "vitest";
import { humanDuration } from "../../src/admin/human-duration";
import { call, freshNamespace, json, pod, readEvents, service } from "./client";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const columns = (t: { columnDefinitions: { name: string; priority: number }[] }) => t.columnDefinitions.map((c) => (c.priority ? `${c.name}*` : c.name));

describe("Tables", () => {
  it("prints Services with kube-apiserver's columns, rows carrying PartialObjectMetadata", async () => {
    const ns = await freshNamespace();
    const created = await json(
      await call(
        "POST",
        `/api/v1/namespaces/${ns}/services`,
        service("web", {
          ports: [
            { port: 80, name: "http" },
            { port: 53, protocol: "UDP", name: "dns" },
          ],
        }),
      ),
    );
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("np", { type: "NodePort" }));
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("lb", { type: "LoadBalancer", externalIPs: ["198.18.0.1"] }));
    await call("POST", `/api/v1/namespaces/${ns}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ext" },
      spec: { type: "ExternalName", externalName: "example.com" },
    });
    const res = await call("GET", `/api/v1/namespaces/${ns}/services`, undefined, { accept: TABLE });
    expect(res.status).toBe(200);
    const table = await json(res);
    expect(table).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect(table.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(columns(table)).toEqual(["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"]);
    const rows = Object.fromEntries(table.rows.map((r: { cells: unknown[] }) => [r.cells[0], r]));
    expect(rows.web.cells).toEqual(["web", "ClusterIP", created.spec.clusterIP, "<none>", "80/TCP,53/UDP", expect.stringMatching(/^\d+s$/), "app=web"]);
    expect(rows.web.object).toEqual({
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: expect.objectContaining({ name: "web", namespace: ns, uid: created.metadata.uid }),
    });
    expect(rows.np.cells[4]).toMatch(/^80:3\d{4}\/TCP$/);
    expect(rows.lb.cells[3]).toBe(`lb-${ns}.lb.svcedge.local,198.18.0.1`);
    expect(rows.ext.cells.slice(1, 4)).toEqual(["ExternalName", "<none>", "example.com"]);
  });

  it("prints one object, honours includeObject, and falls back to JSON for other Accept headers", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("one"));
    const one = await json(await call("GET", `/api/v1/namespaces/${ns}/services/one?includeObject=Object`, undefined, { accept: TABLE }));
    expect(one.rows).toHaveLength(1);
    expect(one.rows[0].object.kind).toBe("Service");
    const none = await json(await call("GET", `/api/v1/namespaces/${ns}/services/one?includeObject=None`, undefined, { accept: TABLE }));
    expect(none.rows[0].object).toBeUndefined();
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/one?includeObject=All`, undefined, { accept: TABLE })).status).toBe(400);
    expect(
      (
        await json(
          await call("GET", `/api/v1/namespaces/${ns}/services/one`, undefined, {
            accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
          }),
        )
      ).kind,
    ).toBe("Service");
  });

  it("prints Pods, EndpointSlices, Nodes and Namespaces", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("shop", { ports: [{ port: 80, targetPort: 8080 }] }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("shop-1", { app: "shop" }, "198.18.0.21", { nodeName: "n1", ready: false }));
    const pods = await json(await call("GET", `/api/v1/namespaces/${ns}/pods`, undefined, { accept: TABLE }));
    expect(columns(pods)).toEqual(["Name", "Ready", "Status", "Restarts", "Age", "IP*", "Node*", "Nominated Node*", "Readiness Gates*"]);
    expect(pods.rows[0].cells).toEqual(["shop-1", "0/1", "Running", "0", expect.any(String), "198.18.0.21", "n1", "<none>", "<none>"]);
    const slices = await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, undefined, { accept: TABLE }));
    expect(columns(slices)).toEqual(["Name", "AddressType", "Ports", "Endpoints", "Age"]);
    expect(slices.rows[0].cells.slice(1, 4)).toEqual(["IPv4", "8080", "198.18.0.21"]);
    await call("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: `tbl-${ns}`, labels: { "node-role.kubernetes.io/edge": "" } },
      status: { addresses: [{ type: "InternalIP", address: "198.18.1.1" }] },
    });
    const node = await json(await call("GET", `/api/v1/nodes/tbl-${ns}`, undefined, { accept: TABLE }));
    expect(columns(node)).toEqual([
      "Name",
      "Status",
      "Roles",
      "Age",
      "Version",
      "Internal-IP*",
      "External-IP*",
      "OS-Image*",
      "Kernel-Version*",
      "Container-Runtime*",
    ]);
    expect(node.rows[0].cells.slice(0, 3)).toEqual([`tbl-${ns}`, "Unknown", "edge"]);
    expect(node.rows[0].cells[5]).toBe("198.18.1.1");
    const nsTable = await json(await call("GET", `/api/v1/namespaces/${ns}`, undefined, { accept: TABLE }));
    expect(columns(nsTable)).toEqual(["Name", "Status", "Age"]);
    expect(nsTable.rows[0].cells.slice(0, 2)).toEqual([ns, "Active"]);
  });

  it("turns watch events into one-row Tables when asked", async () => {
    const ns = await freshNamespace();
    const list = await json(await call("GET", `/api/v1/namespaces/${ns}/services`));
    const watch = call("GET", `/api/v1/namespaces/${ns}/services?watch=true&resourceVersion=${list.metadata.resourceVersion}`, undefined, { accept: TABLE });
    const res = await watch;
    expect(res.headers.get("content-encoding")).toBe("identity");
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("w"));
    await call("DELETE", `/api/v1/namespaces/${ns}/services/w`);
    const events = await readEvents(res, 2);
    expect(events.map((e) => e.type)).toEqual(["ADDED", "DELETED"]);
    for (const e of events) {
      expect(e.object.kind).toBe("Table");
      expect(e.object.rows).toHaveLength(1);
      expect(e.object.rows[0].cells[0]).toBe("w");
      expect(e.object.rows[0].object.metadata.namespace).toBe(ns);
    }
  });

  it("serves Events as an empty, read-only list", async () => {
    const list = await json(await call("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dx"));
    expect(list).toMatchObject({ kind: "EventList", apiVersion: "v1", items: [] });
    const table = await json(await call("GET", "/api/v1/events", undefined, { accept: TABLE }));
    expect(table).toMatchObject({ kind: "Table", rows: [] });
    expect((await call("POST", "/api/v1/namespaces/default/events", { kind: "Event" })).status).toBe(405);
  });

  it("words ages like kubectl", () => {
    expect(
      [0, 59_000, 119_000, 120_000, 125_000, 600_000, 3 * 3600_000, 7.5 * 3600_000, 30 * 3600_000, 50 * 3600_000, 400 * 86400_000, 3 * 365 * 86400_000].map(
        humanDuration,
      ),
    ).toEqual(["0s", "59s", "119s", "2m", "2m5s", "10m", "3h", "7h30m", "30h", "2d2h", "400d", "3y"]);
    expect(humanDuration(-3000)).toBe("<invalid>");
  });
});
