// Issue 16: who may do what, over every route the admin API serves (served-routes.ts),
// every method and every body type a client may send.
//  - Bad credentials (none, malformed, wrong, the admin token upper-cased or in the
//    query string, Basic): always 401 (HEAD: without a body), and nothing written.
//  - A node token: never a 5xx, never a write outside its own Node, its own Lease and
//    Pods bound to it; 403 on what only the admin may write (NodeRestriction,
//    src/registry/authorize.ts).
//  - The admin: a subresource answers 405 to the verbs discovery does not list for it.
// `npm test` sends a seeded sample of each matrix; SVCEDGE_SOAK=1 sends every combination.
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { NODE_LEASE_NAMESPACE } from "../../src/api/types";
import { randomToken } from "../../src/api/credentials";
import { PATCH_CONTENT_TYPES } from "../../src/registry/patching";
import { SERVED } from "../../src/admin/served-resources";
import type { ResourceDef } from "../../src/registry/resources";
import { bySize, SOAK } from "../soak-size";
import { ADMIN_TOKEN, call, freshNamespace, json, pod, registry, service } from "./client";
import { mulberry32 } from "./fuzz-requests";
import { apiPrefix, nonResourceRoutes, resourceRoutes, servesMethod, type ServedRoute, type Target } from "./served-routes";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];
const WRITES = new Set<Method>(["POST", "PUT", "PATCH", "DELETE"]);
/** The body types of creates and updates, and the four patch types. */
const CONTENT_TYPES = ["application/json", ...Object.keys(PATCH_CONTENT_TYPES)];
const JSON_PATCH = "application/json-patch+json";

/** Seed of the short runs' samples; the same seed always sends the same requests. */
const SAMPLE_SEED = 0x16a7;
/** Combinations sampled per route in a short run (every route and, across routes, every method and credential). */
const SHORT_SAMPLE_PER_ROUTE = bySize(8, Infinity);
/** Failures printed in an assertion message; the count covers them all. */
const FAILURES_SHOWN = 25;
/** How long the admin's watches may take to deliver every change a matrix made. */
const WATCH_DRAIN_MS = 10_000;

interface Credential {
  kind: string;
  forms: { header?: string; query?: string }[];
}

/** Each kind's forms are used in turn, so that every form meets many routes. */
const BAD_CREDENTIALS: Credential[] = [
  { kind: "none", forms: [{}] },
  {
    kind: "malformed",
    forms: [
      { header: "Bearer" },
      { header: `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}` },
      { header: ADMIN_TOKEN },
      { header: `Token ${ADMIN_TOKEN}` },
      { header: `Bearer,${ADMIN_TOKEN}` },
    ],
  },
  // Last of the wrong ones: a well-formed node token nobody issued (the registry is asked, or the lookup budget refuses it).
  {
    kind: "wrong",
    forms: [
      { header: "Bearer not-the-admin-token" },
      { header: `Bearer ${ADMIN_TOKEN}x` },
      { header: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { header: `Bearer ${randomToken()}` },
    ],
  },
  { kind: "admin token upper-cased", forms: [{ header: `Bearer ${ADMIN_TOKEN.toUpperCase()}` }] },
  { kind: "?access_token=", forms: [{ query: `access_token=${ADMIN_TOKEN}` }] },
  { kind: "?token=", forms: [{ query: `token=${ADMIN_TOKEN}` }] },
  {
    kind: "Basic",
    forms: [{ header: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` }, { header: `Basic ${btoa(`${ADMIN_TOKEN}:`)}` }, { header: `Basic ${btoa(ADMIN_TOKEN)}` }],
  },
];

interface Case {
  route: ServedRoute;
  method: Method;
  contentType: string;
  authorization?: string;
  query?: string;
  /** What the credential is, for the report. */
  credential: string;
  body: string;
}

const describeCase = (c: Case): string => `${c.method} ${c.route.path}${c.query ? `?${c.query}` : ""} [${c.credential}, ${c.contentType}]`;

async function send(c: Case): Promise<Response> {
  // A client's name: without one (or ?fieldManager=), server-side apply is malformed whoever asks.
  const headers = new Headers({ "content-type": c.contentType, "user-agent": "auth-matrix/1.0" });
  if (c.authorization !== undefined) headers.set("authorization", c.authorization);
  const url = `http://localhost${c.route.path}${c.query ? `?${c.query}` : ""}`;
  const init: RequestInit = { method: c.method, headers };
  if (c.method !== "GET" && c.method !== "HEAD") init.body = c.body;
  return exports.default.fetch(new Request(url, init));
}

type Manifest = { metadata: { name: string; labels: Record<string, string> } } & Record<string, unknown>;

/** The served resources by plural name. */
const DEFS = new Map(SERVED.map((s) => [s.def.resource, s.def]));

/** A valid object of a kind (a Namespace where none), as the admin would create it; Pods are bound to `nodeName`. */
function validObject(def: ResourceDef | undefined, name: string, nodeName: string): Manifest {
  const labels = { written: "by-matrix" };
  switch (def?.resource) {
    case "services":
      return { ...service(name), metadata: { name, labels } };
    case "pods":
      return { ...pod(name, { app: "matrix-pod", ...labels }, "10.77.0.1", { nodeName }), metadata: { name, labels: { app: "matrix-pod", ...labels } } };
    case "endpointslices":
      return { apiVersion: def.apiVersion, kind: def.kind, metadata: { name, labels }, addressType: "IPv4", endpoints: [], ports: [] };
    case "leases":
      return { apiVersion: def.apiVersion, kind: def.kind, metadata: { name, labels }, spec: { holderIdentity: name } };
    default:
      return { apiVersion: def?.apiVersion ?? "v1", kind: def?.kind ?? "Namespace", metadata: { name, labels } };
  }
}

/** What a request on `route` would store if it were let through. */
const routeObject = (route: ServedRoute, nodeName: string): Manifest => validObject(route.served?.def, route.name ?? "matrix", nodeName);

/** The body a client of this content type would send (JSON is YAML, so apply-patch+yaml gets the object as JSON). */
function bodyFor(contentType: string, object: Manifest): string {
  const labels = object.metadata.labels;
  if (contentType === JSON_PATCH) return JSON.stringify([{ op: "add", path: "/metadata/labels", value: labels }]);
  if (contentType in PATCH_CONTENT_TYPES && !contentType.includes("yaml")) return JSON.stringify({ metadata: { labels } });
  return JSON.stringify(object);
}

/** Every route × method × content type, with one credential per case from `credentials` (or none). */
function cases(routes: ServedRoute[], credentials: Credential[], body: (route: ServedRoute, contentType: string) => string): Case[] {
  const out: Case[] = [];
  const used = new Map<string, number>();
  for (const route of routes)
    for (const method of METHODS)
      for (const contentType of CONTENT_TYPES)
        for (const cred of credentials) {
          const n = used.get(cred.kind) ?? 0;
          used.set(cred.kind, n + 1);
          const form = cred.forms[n % cred.forms.length]!;
          out.push({ route, method, contentType, credential: cred.kind, authorization: form.header, query: form.query, body: body(route, contentType) });
        }
  return out;
}

/** All cases in a soak run; otherwise a seeded sample of each route's cases. */
function sample(all: Case[]): Case[] {
  if (!Number.isFinite(SHORT_SAMPLE_PER_ROUTE)) return all;
  const next = mulberry32(SAMPLE_SEED);
  const byRoute = new Map<ServedRoute, Case[]>();
  for (const c of all) byRoute.set(c.route, [...(byRoute.get(c.route) ?? []), c]);
  const out: Case[] = [];
  for (const group of byRoute.values()) {
    const pool = [...group];
    for (let i = 0; i < SHORT_SAMPLE_PER_ROUTE && pool.length > 0; i++) out.push(pool.splice(Math.floor(next() * pool.length), 1)[0]!);
  }
  return out;
}

function expectNoFailures(failures: string[], sent: number): void {
  const shown = failures.slice(0, FAILURES_SHOWN).join("\n");
  expect(failures.length, `${failures.length} failures in ${sent} requests:\n${shown}`).toBe(0);
}

async function created(path: string, body: unknown, token?: string): Promise<any> {
  const res = await call("POST", path, body, token === undefined ? {} : { token });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return json(res);
}

async function issueNodeToken(node: string): Promise<string> {
  return (await created(`/api/v1/nodes/${node}/token`, {})).status.token;
}

const nodeObject = (name: string) => validObject(DEFS.get("nodes"), name, "");
const leaseObject = (name: string) => validObject(DEFS.get("leases"), name, "");
const sliceObject = (name: string) => validObject(DEFS.get("endpointslices"), name, "");

type Stats = Awaited<ReturnType<ReturnType<typeof registry>["stats"]>>;
const sameState = (a: Stats, b: Stats): boolean => a.resourceVersion === b.resourceVersion && JSON.stringify(a.objects) === JSON.stringify(b.objects);

describe("requests with bad credentials", () => {
  let routes: ServedRoute[];
  let nodeName: string;

  beforeAll(async () => {
    // Every item path names a stored object, so that a request let through would write.
    const ns = await freshNamespace("matrix");
    nodeName = `${ns}-node`;
    await created("/api/v1/nodes", nodeObject(nodeName));
    await created(`/api/v1/namespaces/${ns}/services`, validObject(DEFS.get("services"), "m", ""));
    await created(`/api/v1/namespaces/${ns}/pods`, validObject(DEFS.get("pods"), "m", nodeName));
    await created(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, sliceObject("m"));
    // Not named after a Node: its expiry changes nothing while the matrix runs.
    await created(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, leaseObject("m"));
    const target: Target = (def) => ({ namespace: ns, name: def.resource === "nodes" ? nodeName : def.resource === "namespaces" ? ns : "m" });
    routes = [...resourceRoutes(target), ...nonResourceRoutes(ns)];
  });

  it(
    "are refused with 401 on every route, method and body type (HEAD without a body), and nothing is written",
    async () => {
      const all = cases(routes, BAD_CREDENTIALS, (route, type) => bodyFor(type, routeObject(route, nodeName)));
      const chosen = sample(all);
      const before = await registry().stats();
      const failures: string[] = [];
      for (const c of chosen) {
        const res = await send(c);
        const text = await res.text();
        let problem: string | undefined;
        if (res.status !== 401) problem = `answered ${res.status}: ${text.slice(0, 160)}`;
        else if (c.method === "HEAD") problem = text === "" ? undefined : `HEAD answered 401 with a ${text.length}-byte body`;
        else {
          let st: { kind?: unknown; code?: unknown; reason?: unknown } | undefined;
          try {
            st = JSON.parse(text);
          } catch {
            st = undefined;
          }
          if (st?.kind !== "Status" || st.code !== 401 || st.reason !== "Unauthorized")
            problem = `401 whose body is not an Unauthorized Status: ${text.slice(0, 160)}`;
        }
        if (problem) failures.push(`${describeCase(c)}: ${problem}`);
      }
      const after = await registry().stats();
      expectNoFailures(failures, chosen.length);
      expect(sameState(before, after), `the registry changed: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`).toBe(true);
      // Short runs still cover every route, method, body type and kind of credential.
      for (const seen of [(c: Case) => c.route.path, (c: Case) => c.method, (c: Case) => c.contentType, (c: Case) => c.credential])
        expect(new Set(chosen.map(seen)).size).toBe(new Set(all.map(seen)).size);
      console.log(`bad credentials: ${chosen.length} of ${all.length} combinations sent${SOAK ? "" : " (SVCEDGE_SOAK=1 sends all)"}`);
    },
    bySize(60_000, 900_000),
  );
});

interface Change {
  resource: string;
  type: string;
  object: any;
}

/** Watches every stored resource, as the admin, from `fromRv` on; `stop` ends the watches and returns what they saw. */
async function watchEverything(fromRv: number): Promise<{ stop: () => Promise<Change[]>; seen: () => number }> {
  const changes: Change[] = [];
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  const loops: Promise<void>[] = [];
  for (const { def } of SERVED.filter((s) => s.def.resource !== "events")) {
    const res = await call("GET", `${apiPrefix(def)}/${def.resource}?watch=1&resourceVersion=${fromRv}`);
    if (res.status !== 200) throw new Error(`watch ${def.resource}: ${res.status} ${await res.text()}`);
    const reader = res.body!.getReader();
    readers.push(reader);
    loops.push(
      (async () => {
        const decoder = new TextDecoder();
        let buf = "";
        for (;;) {
          const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
          if (next.done) return;
          buf += decoder.decode(next.value, { stream: true });
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) changes.push({ resource: def.resource, ...JSON.parse(line) });
          }
        }
      })(),
    );
  }
  return {
    seen: () => changes.length,
    stop: async () => {
      await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
      await Promise.all(loops);
      return changes;
    },
  };
}

/** Runs `run` and returns every change the registry made meanwhile, each seen once (the watches must account for every resourceVersion). */
async function changesDuring(run: () => Promise<void>): Promise<Change[]> {
  const start = (await registry().stats()).resourceVersion;
  const watch = await watchEverything(start);
  await run();
  const end = (await registry().stats()).resourceVersion;
  const deadline = Date.now() + WATCH_DRAIN_MS;
  while (watch.seen() < end - start && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const changes = await watch.stop();
  const versions = changes.map((c) => Number(c.object.metadata.resourceVersion)).filter((rv) => rv <= end);
  expect(new Set(versions).size, "the watches missed changes").toBe(end - start);
  return changes;
}

describe("a node token", () => {
  let ns: string;
  let node: string;
  let token: string;
  /** Objects of others: the Pod bound to another node, the other Node, a Lease that is not the node's. */
  let foreign: Target;
  /** The node's own: its Node, its Lease, a Pod it registered. */
  let own: Target;

  beforeAll(async () => {
    ns = await freshNamespace("nodematrix");
    node = `${ns}-node`;
    const other = `${node}-other`;
    await created("/api/v1/nodes", nodeObject(node));
    await created("/api/v1/nodes", nodeObject(other));
    await created(`/api/v1/namespaces/${ns}/services`, validObject(DEFS.get("services"), "svc", ""));
    await created(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, sliceObject("slice"));
    await created(`/api/v1/namespaces/${ns}/pods`, validObject(DEFS.get("pods"), "foreign", other));
    await created(`/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, leaseObject(`${ns}-nobody`));
    token = await issueNodeToken(node);
    await created(`/api/v1/namespaces/${ns}/pods`, validObject(DEFS.get("pods"), "mine", node), token);
    await created(`/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, leaseObject(node), token);
    const common = (def: ResourceDef) => ({
      namespace: ns,
      name: def.resource === "services" ? "svc" : def.resource === "endpointslices" ? "slice" : def.resource === "namespaces" ? ns : "e",
    });
    foreign = (def) => {
      if (def.resource === "nodes") return { namespace: "", name: other };
      if (def.resource === "pods") return { namespace: ns, name: "foreign" };
      if (def.resource === "leases") return { namespace: NODE_LEASE_NAMESPACE, name: `${ns}-nobody` };
      return common(def);
    };
    own = (def) => {
      if (def.resource === "nodes") return { namespace: "", name: node };
      if (def.resource === "pods") return { namespace: ns, name: "mine" };
      if (def.resource === "leases") return { namespace: NODE_LEASE_NAMESPACE, name: node };
      return common(def);
    };
  });

  /** Writes a node may never make, whatever the object: NodeRestriction gives it only its Node, Lease and Pods. */
  const adminOnly = (route: ServedRoute, pass: "foreign" | "own"): boolean => {
    if (route.subresource === "token") return true;
    const resource = route.served?.def.resource;
    if (resource === "services" || resource === "namespaces" || resource === "endpointslices") return true;
    return pass === "foreign" && (resource === "nodes" || resource === "pods" || resource === "leases");
  };

  /** A request the server would carry out for the admin: a verb discovery lists on the path, with a body it can decode. */
  const wellFormed = (c: Case): boolean => {
    if (!servesMethod(c.route, c.method)) return false;
    if (c.method === "PATCH") return c.contentType in PATCH_CONTENT_TYPES;
    if (c.method === "DELETE") return c.contentType !== JSON_PATCH;
    return c.contentType === "application/json";
  };

  /** Whether `change` is to one of the node's own objects: its Node, its Lease, the Pod it registered (still bound to it). */
  const isOwn = (change: Change): boolean => {
    const meta = change.object.metadata;
    if (change.resource === "nodes") return meta.name === node;
    if (change.resource === "leases") return meta.namespace === NODE_LEASE_NAMESPACE && meta.name === node;
    if (change.resource === "pods") return change.object.spec?.nodeName === node && meta.namespace === ns && meta.name === "mine";
    return false;
  };

  it(
    "never fails with a 5xx, writes only its own Node, Lease and Pods, and is refused (403) what only the admin may write",
    async () => {
      const passes = [
        { pass: "foreign" as const, routes: [...resourceRoutes(foreign), ...nonResourceRoutes(ns)], nodeName: `${node}-other` },
        { pass: "own" as const, routes: resourceRoutes(own), nodeName: node },
      ];
      const failures: string[] = [];
      let sent = 0;
      let forbiddenChecked = 0;
      const changes = await changesDuring(async () => {
        for (const { pass, routes, nodeName } of passes) {
          const credential: Credential = { kind: `node token (${pass})`, forms: [{ header: `Bearer ${token}` }] };
          const chosen = sample(cases(routes, [credential], (route, type) => bodyFor(type, routeObject(route, nodeName))));
          for (const c of chosen) {
            const res = await send(c);
            const text = await res.text();
            sent++;
            const answer = `${res.status}: ${text.slice(0, 160)}`;
            const isWrite = WRITES.has(c.method);
            if (res.status >= 500) failures.push(`${describeCase(c)}: answered ${answer}`);
            else if (c.route.path === "/metrics" && c.method === "GET" && res.status !== 403)
              failures.push(`${describeCase(c)}: /metrics is the admin's, answered ${answer}`);
            else if (isWrite && adminOnly(c.route, pass) && wellFormed(c)) {
              forbiddenChecked++;
              if (res.status !== 403) failures.push(`${describeCase(c)}: admin-only write answered ${answer}`);
            } else if (isWrite && (adminOnly(c.route, pass) || !c.route.served || c.route.served.def.resource === "events") && res.status < 400)
              failures.push(`${describeCase(c)}: a write the node may not make answered ${answer}`);
          }
        }
      });
      for (const change of changes)
        if (!isOwn(change))
          failures.push(
            `wrote ${change.type} ${change.resource} ${change.object.metadata.namespace ?? ""}/${change.object.metadata.name} (resourceVersion ${change.object.metadata.resourceVersion})`,
          );
      expectNoFailures(failures, sent);
      expect(forbiddenChecked, "the sample holds no admin-only write").toBeGreaterThan(0);
      console.log(
        `node token: ${sent} requests sent, ${forbiddenChecked} of them admin-only writes, ${changes.length} changes to its own objects${SOAK ? "" : " (SVCEDGE_SOAK=1 sends every combination)"}`,
      );
    },
    bySize(60_000, 900_000),
  );
});

describe("the admin on a subresource", () => {
  it("is answered 405 to every write verb discovery does not list for it, and nothing is written", async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const served of SERVED)
      for (const sub of served.subresources)
        for (const method of [...WRITES]) {
          // A fresh object per request, so that one request's damage cannot hide the next one's.
          const ns = await freshNamespace("subverbs");
          const name = `${ns}-x`;
          const def = served.def;
          const collection = def.namespaced ? `${apiPrefix(def)}/namespaces/${ns}/${def.resource}` : `${apiPrefix(def)}/${def.resource}`;
          const target: Target = (d) => ({ namespace: ns, name: d.resource === "namespaces" ? ns : name });
          const route = resourceRoutes(target).find((r) => r.served === served && r.subresource === sub.name)!;
          if (servesMethod(route, method)) continue;
          const object = routeObject(route, `${ns}-node`);
          if (def.resource !== "namespaces") await created(collection, object);
          const contentType = method === "PATCH" ? "application/merge-patch+json" : "application/json";
          const c: Case = { route, method, contentType, credential: "admin", authorization: `Bearer ${ADMIN_TOKEN}`, body: bodyFor(contentType, object) };
          const before = await registry().stats();
          const res = await send(c);
          const text = await res.text();
          sent++;
          const after = await registry().stats();
          const wrote = sameState(before, after) ? "" : `, and wrote (resourceVersion ${before.resourceVersion} -> ${after.resourceVersion})`;
          if (res.status !== 405 || wrote) failures.push(`${describeCase(c)}: answered ${res.status}${wrote}: ${text.slice(0, 120)}`);
        }
    expectNoFailures(failures, sent);
  });
});
