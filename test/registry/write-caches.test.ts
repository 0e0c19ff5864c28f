// What a write reads through the registry's in-memory caches (a Namespace, a Service's
// selector, the endpoints marks, the alarm) must follow every write that changes it, and
// hold after the object restarts with the caches empty.
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, flushKv, freshNamespace, json, pod, registry, service } from "../admin/client";

const endpointIps = async (ns: string): Promise<string[]> =>
  (await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`))).items
    .flatMap((s: any) => s.endpoints ?? [])
    .map((e: any) => e.addresses[0])
    .sort();

describe("the registry's write caches", () => {
  it("follow a Namespace's deletion and its re-creation, before and after a restart", async () => {
    const ns = await freshNamespace();
    expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("a", { app: "a" }, "198.18.9.1"))).status).toBe(201);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}`)).status).toBe(200);
    const refused = await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("b", { app: "a" }, "198.18.9.2"));
    expect(refused.status).toBe(404);
    expect((await json(refused)).details).toMatchObject({ name: ns, kind: "namespaces" });
    await evictDurableObject(registry());
    expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("b", { app: "a" }, "198.18.9.2"))).status).toBe(404);
    expect((await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })).status).toBe(201);
    expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("b", { app: "a" }, "198.18.9.2"))).status).toBe(201);
    // Its old Pod went with it.
    expect((await call("GET", `/api/v1/namespaces/${ns}/pods/a`)).status).toBe(404);
  });

  it("follow a Service's selector through updates, a restart and the Service's re-creation", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { selector: { app: "blue" } }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("blue", { app: "blue" }, "198.18.9.10"));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("green", { app: "green" }, "198.18.9.11"));
    expect(await endpointIps(ns)).toEqual(["198.18.9.10"]);
    const patch = (selector: Record<string, string>) =>
      call("PATCH", `/api/v1/namespaces/${ns}/services/web`, { spec: { selector } }, { contentType: "application/merge-patch+json" });
    expect((await patch({ app: "green" })).status).toBe(200);
    // A Pod write after the change is matched against the new selector, not a remembered one.
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("green-2", { app: "green" }, "198.18.9.12"));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("blue-2", { app: "blue" }, "198.18.9.13"));
    expect(await endpointIps(ns)).toEqual(["198.18.9.11", "198.18.9.12"]);
    await evictDurableObject(registry());
    expect((await patch({ app: "blue" })).status).toBe(200);
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("blue-3", { app: "blue" }, "198.18.9.14"));
    expect(await endpointIps(ns)).toEqual(["198.18.9.10", "198.18.9.13", "198.18.9.14"]);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/services/web`)).status).toBe(200);
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web", { selector: { app: "green" } }));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("green-3", { app: "green" }, "198.18.9.15"));
    expect(await endpointIps(ns)).toEqual(["198.18.9.11", "198.18.9.12", "198.18.9.15"]);
  });

  it("mark a Service again once its marks were synced, and keep the alarm set after a restart", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web"));
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-1", { app: "web" }, "198.18.9.20"));
    expect(await endpointIps(ns)).toEqual(["198.18.9.20"]);
    // Synced by the read: the next Pod write must mark the Service anew. Only a mark makes the slice
    // change (the read syncs marked Services, the 100 ms timer too), so the slice is the check; the
    // queue itself may already be drained by the timer when the test looks.
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-2", { app: "web" }, "198.18.9.21"));
    expect(await endpointIps(ns)).toEqual(["198.18.9.20", "198.18.9.21"]);
    await flushKv();
    await evictDurableObject(registry());
    // The restarted object knows no alarm: a write that needs one (a KV flush) sets it, and the alarm drains the replica.
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("web-3", { app: "web" }, "198.18.9.22"));
    await flushKv();
    const stats = await registry().stats();
    expect(stats.kvPending).toBe(0);
    expect(stats.endpointsQueued).toBe(0);
  });
});
