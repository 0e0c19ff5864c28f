// The informer against the real Worker: list, then watch; a Worker restart breaks the
// stream (reconnect with backoff), and its empty watch window answers the old
// resourceVersion with 410 (relist, reporting what changed while it was away).
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KubeObject, Pod, Service } from "../../src/api/types";
import { ApiClient } from "../../src/agent/api-client";
import { Informer, type Change } from "../../src/agent/informer";
import { waitFor } from "../e2e/lab/agent-process";
import { RestartableWorker } from "./restartable-worker";

const worker = new RestartableWorker();
let client: ApiClient;

beforeAll(async () => {
  await worker.start();
  client = new ApiClient({ baseUrl: worker.url, token: await worker.nodeToken("node-1") });
}, 120_000);
afterAll(() => worker.dispose());

const service = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });
const keys = (inf: Informer<Service>) => [...inf.store.keys()].sort();

it("lists, watches, reconnects after an outage and relists on 410", async () => {
  await worker.admin("POST", "/api/v1/namespaces/default/services", service("before"));
  const changes: Change<Service>[] = [];
  const reconnects: string[] = [];
  const inf = new Informer<Service>({ client, path: "/api/v1/services", resource: "services", onChange: (c) => changes.push(c), onReconnect: (_r, reason) => reconnects.push(reason), backoff: { initialMs: 100, maxMs: 500 } });
  await inf.start();
  try {
    expect(keys(inf)).toContain("default/before");
    expect(inf.listCount).toBe(1);

    // Watch events.
    await worker.admin("POST", "/api/v1/namespaces/default/services", service("watched"));
    await waitFor("ADDED default/watched", 10_000, () => (inf.store.has("default/watched") ? true : undefined));
    await worker.admin("DELETE", "/api/v1/namespaces/default/services/before");
    await waitFor("DELETED default/before", 10_000, () => (inf.store.has("default/before") ? undefined : true));
    expect(changes.map((c) => `${c.type} ${c.key}`)).toEqual(expect.arrayContaining(["ADDED default/watched", "DELETED default/before"]));

    // Other resources move the resourceVersion on while this watch sees nothing of it,
    // so after the restart the informer's resourceVersion predates the new window.
    await worker.admin<Pod>("POST", "/api/v1/namespaces/default/pods", { metadata: { name: "p" }, spec: { containers: [{ name: "c" }] } });
    await worker.stop();
    await waitFor("the broken watch to be noticed", 20_000, () => (reconnects.length > 0 ? true : undefined));
    await worker.start();
    // Written after the restart: only a relist (or the new watch) can show it.
    await worker.admin("POST", "/api/v1/namespaces/default/services", service("after-restart"));
    await waitFor("relist after 410", 60_000, () => (inf.listCount >= 2 && inf.store.has("default/after-restart") ? true : undefined));
    expect(reconnects).toContain("expired");
    expect(keys(inf)).toEqual(expect.arrayContaining(["default/after-restart", "default/watched"]));
    expect(keys(inf)).not.toContain("default/before");

    // Resumed: still watching after the relist.
    await worker.admin("DELETE", "/api/v1/namespaces/default/services/watched");
    await waitFor("DELETED default/watched after resume", 10_000, () => (inf.store.has("default/watched") ? undefined : true));
  } finally {
    await inf.stop();
  }
}, 180_000);

it("lists in pages and stores what trim keeps", async () => {
  const names = ["paged-a", "paged-b", "paged-c", "paged-d", "paged-e"];
  await worker.admin("POST", "/api/v1/namespaces", { metadata: { name: "paged" } });
  for (const name of names) await worker.admin("POST", "/api/v1/namespaces/paged/services", service(name));
  const paths: string[] = [];
  // The real client; this one only records which pages were asked for.
  const recording = new (class extends ApiClient {
    override list<T extends KubeObject>(path: string) {
      paths.push(path);
      return super.list<T>(path);
    }
  })({ baseUrl: worker.url, token: await worker.nodeToken("node-1") });
  const inf = new Informer<Service>({
    client: recording,
    path: "/api/v1/namespaces/paged/services",
    resource: "services",
    pageSize: 2,
    trim: (svc) => ({ ...svc, spec: {} }),
  });
  await inf.start();
  try {
    expect(keys(inf)).toEqual(names.map((n) => `paged/${n}`));
    expect(inf.listCount).toBe(1);
    expect(paths).toHaveLength(3);
    expect(paths[0]).toBe("/api/v1/namespaces/paged/services?limit=2");
    expect(paths[1]).toMatch(/^\/api\/v1\/namespaces\/paged\/services\?limit=2&continue=./);
    expect([...inf.store.values()].every((s) => Object.keys(s.spec).length === 0)).toBe(true);

    // Watched objects are trimmed too.
    await worker.admin("POST", "/api/v1/namespaces/paged/services", service("paged-f"));
    await waitFor("ADDED paged/paged-f", 10_000, () => (inf.store.has("paged/paged-f") ? true : undefined));
    expect(inf.store.get("paged/paged-f")!.spec).toEqual({});
  } finally {
    await inf.stop();
  }
}, 60_000);
