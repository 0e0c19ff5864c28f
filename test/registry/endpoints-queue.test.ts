// The endpoints controller's work queue: Pod writes mark their Services, which are synced
// once for a burst of writes, before any read of EndpointSlices, and after a restart.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import type { Registry } from "../../src/registry/registry";
import { describe, expect, it } from "vitest";
import { call, flushKv, freshNamespace, json, pod, registry, service } from "../admin/client";

const PODS = 30;

async function eventsUntil(res: Response, until: (events: any[]) => boolean): Promise<any[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: any[] = [];
  let buffered = "";
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
  }
  await reader.cancel();
  return events;
}

const readyIps = (slices: any[]) =>
  slices
    .flatMap((s) => s.endpoints)
    .map((e: any) => e.addresses[0])
    .sort();

describe("endpoints controller work queue", () => {
  it("syncs a Service once for Pod creates that arrive together, and a read sees every acknowledged create", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("web"));
    const list = await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`));
    const watch = await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?watch=1&resourceVersion=${list.metadata.resourceVersion}`);
    const ips = Array.from({ length: PODS }, (_, i) => `198.18.7.${i + 1}`);
    const created = await Promise.all(ips.map((ip, i) => call("POST", `/api/v1/namespaces/${ns}/pods`, pod(`web-${i}`, { app: "web" }, ip))));
    expect(created.map((r) => r.status)).toEqual(ips.map(() => 201));
    // Read at once: the read syncs what the creates marked, so it holds every Pod.
    const slices = (await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`))).items;
    expect(readyIps(slices)).toEqual([...ips].sort());
    const events = await eventsUntil(watch, (evs) => evs.length > 0 && readyIps([evs.at(-1)!.object]).length === PODS);
    expect(readyIps([events.at(-1)!.object])).toEqual([...ips].sort());
    // One write per Pod before the queue; now the creates that arrived together share a sync.
    expect(events.length).toBeLessThan(PODS / 2);
  });

  it("keeps the Services a Pod write marked across a restart of the Durable Object", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("durable"));
    // The create and the restart in one go, so that the restart comes before the sync's timer (ENDPOINTS_SYNC_DELAY_MS).
    const queued = await runInDurableObject(registry(), async (instance: Registry, state) => {
      const created = await instance.create(
        { kind: "admin" },
        { group: "", resource: "pods", namespace: ns },
        pod("durable-1", { app: "durable" }, "198.18.7.200"),
      );
      expect(created.ok).toBe(true);
      return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM endpoints_queue").one().n;
    });
    await evictDurableObject(registry());
    expect(queued).toBeGreaterThan(0);
    // Nothing reads the slices until the restarted object has synced the marks by itself (its start, or its alarm).
    await flushKv();
    expect((await registry().stats()).endpointsQueued).toBe(0);
    const slices = (await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`))).items;
    expect(readyIps(slices)).toEqual(["198.18.7.200"]);
  });
});
