// @kubernetes/client-node (2.x) against the Worker under `wrangler dev`: informers on a
// namespace's Services and EndpointSlices through 200 changes (live, across a relist after
// a 410, and live again) with no event missed or repeated; and a Service through create,
// read, list, replace, delete and every patch type. Under REQUIRE_CLIENTS=1 or
// REQUIRE_KUBECTL=1 (CI) a missing client fails the suite instead of skipping it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "./local-worker";
import type * as k8s from "@kubernetes/client-node";
import { waitFor } from "../../scripts/lab/agent-process";

const REQUIRED = process.env.REQUIRE_CLIENTS === "1" || process.env.REQUIRE_KUBECTL === "1";
const client = await import("@kubernetes/client-node").catch(() => undefined);

if (!client && REQUIRED) {
  it("finds @kubernetes/client-node (REQUIRE_CLIENTS=1)", () => {
    expect.fail("@kubernetes/client-node is not installed, and REQUIRE_CLIENTS=1 requires it (npm ci)");
  });
}

type Obj = { metadata?: { name?: string; resourceVersion?: string } };
type Seen = { verb: "add" | "update" | "delete"; name: string; rv: string };

/** History the Services' watch never sees: Pod changes (~0.4 MB each) past the registry's 32 MiB bound. */
const HISTORY_FILL_CHANGES = 90;
const HISTORY_FILL_BYTES = 200_000;

describe.skipIf(!client)("@kubernetes/client-node against the admin API", () => {
  let worker: LocalWorker;
  let kc: k8s.KubeConfig;

  beforeAll(async () => {
    // Hourly bookmarks: none during the test (a bookmark would move an informer past the compaction).
    worker = await startLocalWorker({ vars: { WATCH_BOOKMARK_INTERVAL_SECONDS: "3600" } });
    kc = new client!.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "svcedge", server: worker.url, skipTLSVerify: true }],
      users: [{ name: "admin", token: worker.adminToken }],
      contexts: [{ name: "svcedge", cluster: "svcedge", user: "admin" }],
      currentContext: "svcedge",
    });
  });
  afterAll(async () => {
    await worker?.stop();
  });

  async function admin(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<any> {
    const res = await fetch(`${worker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": contentType },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  it("informers on Services and EndpointSlices see 200 changes once each, across a relist after 410", { timeout: 240_000 }, async () => {
    const ns = "informed";
    await admin("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const core = kc.makeApiClient(client!.CoreV1Api);
    const discovery = kc.makeApiClient(client!.DiscoveryV1Api);
    const lists = { services: 0, endpointslices: 0 };
    const informers = {
      services: client!.makeInformer(kc, `/api/v1/namespaces/${ns}/services`, () => (lists.services++, core.listNamespacedService({ namespace: ns }))),
      endpointslices: client!.makeInformer(
        kc,
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        () => (lists.endpointslices++, discovery.listNamespacedEndpointSlice({ namespace: ns })),
      ),
    };
    const seen: Record<keyof typeof informers, Seen[]> = { services: [], endpointslices: [] };
    const errors: unknown[] = [];
    for (const [kind, inf] of Object.entries(informers) as [keyof typeof informers, (typeof informers)["services"]][]) {
      for (const verb of ["add", "update", "delete"] as const)
        inf.on(verb, (o: Obj) => seen[kind].push({ verb, name: o.metadata!.name!, rv: o.metadata!.resourceVersion! }));
      // stop() aborts the watch request, which the informer reports as an error.
      inf.on("error", (e: unknown) => (e instanceof Error && e.name === "AbortError") || errors.push(e));
    }
    // What the writes answered: the event each informer must report, in resourceVersion order.
    const expected: Record<keyof typeof informers, Seen[]> = { services: [], endpointslices: [] };
    const svcPath = `/api/v1/namespaces/${ns}/services`;
    const slicePath = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
    const write = async (kind: keyof typeof informers, verb: Seen["verb"], name: string, body?: unknown): Promise<Seen> => {
      const base = kind === "services" ? svcPath : slicePath;
      const obj =
        verb === "add"
          ? await admin("POST", base, body)
          : verb === "update"
            ? await admin("PATCH", `${base}/${name}`, body, "application/merge-patch+json")
            : await admin("DELETE", `${base}/${name}`);
      return { verb, name, rv: obj.metadata.resourceVersion };
    };
    const svc = (i: number) => ({ apiVersion: "v1", kind: "Service", metadata: { name: `svc-${i}` }, spec: { ports: [{ port: 80 }] } });
    const slice = (i: number) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `slice-${i}`, labels: { "kubernetes.io/service-name": `svc-${i}` } },
      addressType: "IPv4",
      endpoints: [{ addresses: [`198.18.2.${i + 1}`] }],
      ports: [{ name: "", port: 80, protocol: "TCP" }],
    });
    const label = (v: string) => ({ metadata: { labels: { round: v } } });
    let changes = 0;
    const live = async (kind: keyof typeof informers, verb: Seen["verb"], name: string, body?: unknown) => {
      expected[kind].push(await write(kind, verb, name, body));
      changes++;
    };
    const caughtUp = (what: string) =>
      waitFor(what, 60_000, () =>
        seen.services.length >= expected.services.length && seen.endpointslices.length >= expected.endpointslices.length ? true : undefined,
      ).catch((e: Error) => {
        throw new Error(
          `${e.message}: seen ${seen.services.length}/${expected.services.length} Service and ${seen.endpointslices.length}/${expected.endpointslices.length} EndpointSlice events; errors: ${errors.map(String).join("; ")}`,
        );
      });
    const sorted = (events: Seen[]) => [...events].sort((a, b) => Number(a.rv) - Number(b.rv));

    await informers.services.start();
    await informers.endpointslices.start();

    // 100 changes while both watches run: each one event, in order.
    for (let i = 0; i < 25; i++) await live("services", "add", `svc-${i}`, svc(i));
    for (let i = 0; i < 25; i++) await live("endpointslices", "add", `slice-${i}`, slice(i));
    for (let i = 0; i < 25; i++) await live("services", "update", `svc-${i}`, label("a"));
    for (let i = 0; i < 25; i++) await live("endpointslices", "update", `slice-${i}`, label("a"));
    await caughtUp("the live changes");
    expect(seen.services).toEqual(expected.services);
    expect(seen.endpointslices).toEqual(expected.endpointslices);

    // 70 changes while both informers are stopped, then history that moves past them: they resume
    // from their resourceVersion, get 410, relist, and report each changed object once, as it now is.
    await informers.services.stop();
    await informers.endpointslices.stop();
    const gap: Record<keyof typeof informers, Map<string, Seen>> = { services: new Map(), endpointslices: new Map() };
    const offline = async (kind: keyof typeof informers, verb: Seen["verb"], name: string, body?: unknown) => {
      const done = await write(kind, verb, name, body);
      // An object created and changed offline is one add; a relist cannot tell updates apart, and
      // reports a deletion with the object as the informer last knew it.
      const before = gap[kind].get(name);
      const lastKnown = expected[kind].filter((e) => e.name === name).at(-1)?.rv;
      gap[kind].set(name, before?.verb === "add" ? { ...done, verb: "add" } : verb === "delete" ? { ...done, rv: lastKnown! } : done);
      changes++;
    };
    for (let i = 0; i < 10; i++) await offline("services", "delete", `svc-${i}`);
    for (let i = 10; i < 20; i++) await offline("services", "update", `svc-${i}`, label("b"));
    for (let i = 10; i < 20; i++) await offline("services", "update", `svc-${i}`, label("c"));
    for (let i = 25; i < 35; i++) await offline("services", "add", `svc-${i}`, svc(i));
    for (let i = 0; i < 10; i++) await offline("endpointslices", "delete", `slice-${i}`);
    for (let i = 10; i < 20; i++) await offline("endpointslices", "update", `slice-${i}`, label("b"));
    for (let i = 25; i < 35; i++) await offline("endpointslices", "add", `slice-${i}`, slice(i));
    await admin("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "history" } });
    await admin("POST", "/api/v1/namespaces/history/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c" }] } });
    for (let i = 0; i < HISTORY_FILL_CHANGES; i++)
      await admin(
        "PATCH",
        "/api/v1/namespaces/history/pods/p",
        { metadata: { annotations: { fill: "x".repeat(HISTORY_FILL_BYTES + i) } } },
        "application/merge-patch+json",
      );
    const before = { services: seen.services.length, endpointslices: seen.endpointslices.length };
    for (const kind of ["services", "endpointslices"] as const) {
      for (const e of sorted([...gap[kind].values()])) expected[kind].push(e);
    }
    await informers.services.start();
    await informers.endpointslices.start();
    await caughtUp("the relists");
    expect(lists).toEqual({ services: 2, endpointslices: 2 });
    for (const kind of ["services", "endpointslices"] as const) {
      const afterRelist = seen[kind].slice(before[kind]);
      expect(sorted(afterRelist), kind).toEqual(sorted([...gap[kind].values()]));
    }

    // 30 more changes, live again after the relist.
    for (let i = 20; i < 35; i++) await live("services", "update", `svc-${i}`, label("d"));
    for (let i = 20; i < 35; i++) await live("endpointslices", "delete", `slice-${i}`);
    await caughtUp("the changes after the relist");
    expect(changes).toBe(200);
    for (const kind of ["services", "endpointslices"] as const) {
      expect(seen[kind].slice(-15), kind).toEqual(expected[kind].slice(-15));
      expect(seen[kind], kind).toHaveLength(expected[kind].length);
    }
    // The caches hold what the server holds.
    const names = (items: readonly Obj[]) => items.map((o) => o.metadata!.name!).sort();
    expect(names(informers.services.list(ns))).toEqual(names((await admin("GET", svcPath)).items));
    expect(names(informers.endpointslices.list(ns))).toEqual(names((await admin("GET", slicePath)).items));
    expect(errors).toEqual([]);
    await informers.services.stop();
    await informers.endpointslices.stop();
  });

  it("drives a Service through create, read, list, replace, delete and every patch type", async () => {
    const ns = "crud";
    await admin("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const core = kc.makeApiClient(client!.CoreV1Api);
    const objects = client!.KubernetesObjectApi.makeApiClient(kc);
    const { PatchStrategy, setHeaderOptions } = client!;
    const spec = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: ns },
      spec: {
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80 },
          { name: "dns", port: 53, protocol: "UDP" },
        ],
      },
    };

    const created: k8s.KubernetesObject = await objects.create(spec);
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    const read = await core.readNamespacedService({ name: "web", namespace: ns });
    expect(read.spec?.clusterIP).toMatch(/^10\./);
    expect((await core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata?.name)).toEqual(["web"]);

    const patched = async (body: unknown, strategy: string, extra: Record<string, unknown> = {}) =>
      core.patchNamespacedService({ name: "web", namespace: ns, body, ...extra }, setHeaderOptions("Content-Type", strategy));
    // Strategic merge: ports merge on `port` (patchMergeKey), so only port 80 changes.
    const smp = await patched({ spec: { ports: [{ port: 80, targetPort: 8080 }] } }, PatchStrategy.StrategicMergePatch);
    expect(smp.spec?.ports?.map((p) => [p.port, p.protocol, p.targetPort])).toEqual([
      [80, "TCP", 8080],
      [53, "UDP", 53],
    ]);
    const merge = await patched({ metadata: { labels: { tier: "web" } } }, PatchStrategy.MergePatch);
    expect(merge.metadata?.labels).toEqual({ tier: "web" });
    const json = await patched([{ op: "replace", path: "/spec/ports/1/targetPort", value: 5353 }], PatchStrategy.JsonPatch);
    expect(json.spec?.ports?.[1]?.targetPort).toBe(5353);
    const applied: k8s.V1Service = await objects.patch(
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: ns, annotations: { owner: "client-node" } },
        spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
      },
      undefined,
      undefined,
      "client-node-test",
      true,
      PatchStrategy.ServerSideApply,
    );
    expect(applied.metadata?.annotations).toMatchObject({ owner: "client-node" });
    expect(applied.metadata?.managedFields?.map((f) => f.manager)).toContain("client-node-test");

    const current = await core.readNamespacedService({ name: "web", namespace: ns });
    current.metadata!.annotations = { ...current.metadata!.annotations, replaced: "yes" };
    const replaced = await core.replaceNamespacedService({ name: "web", namespace: ns, body: current });
    expect(replaced.metadata?.annotations?.replaced).toBe("yes");
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(current.metadata?.resourceVersion));

    await objects.delete({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: ns } });
    const gone = await core.readNamespacedService({ name: "web", namespace: ns }).then(
      () => undefined,
      (e: { code?: number }) => e.code,
    );
    expect(gone).toBe(404);
  });
});
