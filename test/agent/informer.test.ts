// The informer against the real Worker: list, then watch; a Worker restart breaks the
// stream (reconnect with backoff) and the watch resumes from its resourceVersion, since
// the registry's history survives restarts; once that history is compacted past it,
// the registry answers 410 and the informer relists, reporting what changed meanwhile.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KubeObject, Pod, Service } from "../../src/api/types";
import { ApiClient } from "../../src/agent/api-client";
import { Informer, type Change } from "../../src/agent/informer";
import { waitFor } from "../../scripts/lab/agent-process";
import { RestartableWorker } from "./restartable-worker";

// No bookmarks during the test: they would move the informer's resourceVersion past a compaction.
const worker = new RestartableWorker({ WATCH_BOOKMARK_INTERVAL_SECONDS: "3600" });
let client: ApiClient;

beforeAll(async () => {
  await worker.start();
  client = new ApiClient({ baseUrl: worker.url, token: await worker.nodeToken("node-1") });
}, 120_000);
afterAll(() => worker.dispose());

const service = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });
const keys = (inf: Informer<Service>) => [...inf.store.keys()].sort();

it("lists, watches, resumes after an outage, and relists on 410 once the history moved past it", async () => {
  await worker.admin("POST", "/api/v1/namespaces/default/services", service("before"));
  const changes: Change<Service>[] = [];
  const reconnects: string[] = [];
  const inf = new Informer<Service>({
    client,
    path: "/api/v1/services",
    resource: "services",
    onChange: (c) => changes.push(c),
    onReconnect: (_r, reason) => reconnects.push(reason),
    backoff: { initialMs: 100, maxMs: 500 },
  });
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

    // An outage: the watch resumes where it was, without a relist.
    await worker.stop();
    await waitFor("the broken watch to be noticed", 20_000, () => (reconnects.length > 0 ? true : undefined));
    await worker.start();
    await worker.admin("POST", "/api/v1/namespaces/default/services", service("after-restart"));
    await waitFor("the resumed watch to show after-restart", 30_000, () => (inf.store.has("default/after-restart") ? true : undefined));
    expect(inf.listCount).toBe(1);
    expect(reconnects).not.toContain("expired");

    // Other resources fill the history past its byte bound (32 MiB, ~0.4 MB a change) while
    // this watch sees nothing of them; after the next outage its resourceVersion is compacted.
    await worker.admin<Pod>("POST", "/api/v1/namespaces/default/pods", { metadata: { name: "p" }, spec: { containers: [{ name: "c" }] } });
    for (let i = 0; i < 90; i++)
      await worker.admin<Pod>(
        "PATCH",
        "/api/v1/namespaces/default/pods/p",
        { metadata: { annotations: { big: "x".repeat(200_000 + i) } } },
        "application/merge-patch+json",
      );
    const reconnectsBefore = reconnects.length;
    await worker.stop();
    await waitFor("the broken watch to be noticed", 20_000, () => (reconnects.length > reconnectsBefore ? true : undefined));
    await worker.start();
    // Written after the restart: only a relist (or the new watch) can show it.
    await worker.admin("POST", "/api/v1/namespaces/default/services", service("after-compaction"));
    await waitFor("relist after 410", 60_000, () => (inf.listCount >= 2 && inf.store.has("default/after-compaction") ? true : undefined));
    expect(reconnects).toContain("expired");
    expect(keys(inf)).toEqual(expect.arrayContaining(["default/after-compaction", "default/watched", "default/after-restart"]));
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
