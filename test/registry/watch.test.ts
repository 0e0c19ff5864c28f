import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, readEvents, registry, service } from "../admin/client";

describe("watch", () => {
  // First: eviction waits for open watch streams to drain, so this runs before any watch is open.
  it("resumes across a restart of the registry from a resourceVersion in the window (no 410 for the restart)", async () => {
    const ns = await freshNamespace();
    const old = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("before")));
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("between"));
    await evictDurableObject(registry());
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("after"));
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=1&resourceVersion=${old.metadata.resourceVersion}`);
    expect(res.status).toBe(200);
    const events = await readEvents(res, 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED between", "ADDED after"]);
    const got = await call("GET", `/api/v1/namespaces/${ns}/services/before`);
    expect((await json(got)).spec.clusterIP).toBe(old.spec.clusterIP);
  });

  it("releases a watch as soon as its client goes away (the watcher gauge is exact)", async () => {
    // A registry of its own: on the shared one, other tests' watches open and close meanwhile.
    const own = env.REGISTRY.get(env.REGISTRY.idFromName(`watch-gauge-${Date.now()}`));
    const admin = { kind: "admin" } as const;
    const services = { group: "", resource: "services", namespace: "default" };
    expect((await own.stats()).watchers).toBe(0);
    const opened = (await own.watchStream(admin, services)) as { ok: true; value: ReadableStream<Uint8Array> };
    expect(opened.ok).toBe(true);
    expect((await own.stats()).watchers).toBe(1);
    await opened.value.cancel();
    let now = 1;
    // Released at the latest at the next probe (GONE_CLIENT_PROBE_MS, 2 s); the deadline leaves room for a loaded machine.
    const deadline = Date.now() + 10_000;
    while (now !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      now = (await own.stats()).watchers;
    }
    expect(now).toBe(0);
    // A write after the client left reaches no stream and throws nowhere.
    const created = (await own.create(admin, services, service("later"))) as { ok: boolean };
    expect(created.ok).toBe(true);
  });

  it("starts with ADDED for existing objects, then streams MODIFIED and DELETED", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("w1"));
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=1`);
    expect(res.status).toBe(200);
    const eventsP = readEvents(res, 4);
    await call("PATCH", `/api/v1/namespaces/${ns}/services/w1`, { metadata: { labels: { a: "b" } } }, { contentType: "application/merge-patch+json" });
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("w2"));
    await call("DELETE", `/api/v1/namespaces/${ns}/services/w1`);
    const events = await eventsP;
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED w1", "MODIFIED w1", "ADDED w2", "DELETED w1"]);
    expect(events[1]!.object.metadata.labels).toEqual({ a: "b" });
  });

  it("resumes from a resourceVersion, replaying only what came after it", async () => {
    const ns = await freshNamespace();
    const a = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("r1")));
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("r2"));
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("r3"));
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
    const events = await readEvents(res, 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED r2", "ADDED r3"]);
  });

  it("filters by field selector, the way kubectl waits for a deletion", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("keep"));
    const gone = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("gone")));
    const res = await call(
      "GET",
      `/api/v1/namespaces/${ns}/services?watch=1&fieldSelector=metadata.name%3Dgone&resourceVersion=${gone.metadata.resourceVersion}`,
    );
    const eventsP = readEvents(res, 1);
    await call("DELETE", `/api/v1/namespaces/${ns}/services/keep`);
    await call("DELETE", `/api/v1/namespaces/${ns}/services/gone`);
    const events = await eventsP;
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["DELETED gone"]);
  });

  it("sends DELETED when an object stops matching a label selector and ADDED when it starts", async () => {
    const ns = await freshNamespace();
    const s = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("lbl", {}, { labels: { tier: "web" } })));
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=1&labelSelector=tier%3Dweb&resourceVersion=${s.metadata.resourceVersion}`);
    const eventsP = readEvents(res, 2);
    await call("PATCH", `/api/v1/namespaces/${ns}/services/lbl`, { metadata: { labels: { tier: "db" } } }, { contentType: "application/merge-patch+json" });
    await call("PATCH", `/api/v1/namespaces/${ns}/services/lbl`, { metadata: { labels: { tier: "web" } } }, { contentType: "application/merge-patch+json" });
    expect((await eventsP).map((e) => e.type)).toEqual(["DELETED", "ADDED"]);
  });

  it("sends BOOKMARK events to watchers that allow them", async () => {
    const ns = await freshNamespace();
    const list = await json(await call("GET", `/api/v1/namespaces/${ns}/services`));
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`);
    // The worker test project sets WATCH_BOOKMARK_INTERVAL_SECONDS=1.
    const [ev] = await readEvents(res, 1, 3000);
    expect(ev).toMatchObject({ type: "BOOKMARK", object: { kind: "Service", apiVersion: "v1" } });
    expect(Number(ev!.object.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it("answers 504 Timeout to a watch from a resourceVersion the registry has not reached", async () => {
    const ns = await freshNamespace();
    const list = await json(await call("GET", `/api/v1/namespaces/${ns}/services`));
    const ahead = Number(list.metadata.resourceVersion) + 1000;
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?watch=1&resourceVersion=${ahead}`);
    expect(res.status).toBe(504);
    expect(await json(res)).toMatchObject({ kind: "Status", reason: "Timeout", details: { retryAfterSeconds: 1 } });
  });
});
