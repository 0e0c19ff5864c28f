// Hostile-but-plausible admin API requests for the fuzzer (fuzz.test.ts), made
// from a seed alone: the same seed always yields the same requests, whatever the
// server answered before. Each request starts from a valid object or patch and
// carries a few mutations (wrong types, huge numbers, deep nesting, keys named
// like Object.prototype's members, non-map list elements, YAML tags, malformed
// UTF-8, bad query values, bad % escapes), with notes naming each for the repro.
import { dump } from "js-yaml";
import { setOwn, type PlainObject } from "../../src/api/plain-data";
import { parseYaml } from "../../src/api/yaml";
import { SEED_MANIFEST } from "../api/seed-manifest";
import { pod, service } from "./client";

/** mulberry32: a tiny seeded PRNG (32-bit state), plenty for choosing cases. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

export interface FuzzRequest {
  index: number;
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** What was made hostile, for the report. */
  notes: string[];
}

/** Namespaces the fuzzer's namespaced requests use; the runner makes sure they exist before each case. */
export const FUZZ_NAMESPACES = ["fuzz-a", "fuzz-b"] as const;

/**
 * Text spliced into a serialized body as is: what a JS value cannot express
 * (nesting deeper than JSON.stringify should recurse, 1e400, YAML tags).
 */
class Raw {
  constructor(
    readonly text: string,
    readonly note: string,
  ) {}
}

type Format = "json" | "yaml-block" | "yaml-flow";

interface Target {
  resource: string;
  /** "/api/v1" or "/apis/<group>/v1". */
  prefix: string;
  namespaced: boolean;
  /** Disjoint between resources (see leaseApart). */
  names: readonly string[];
  status: boolean;
  valid: (rng: Rng, name: string) => PlainObject;
}

/** The shared seed manifest's Service (plain YAML: it parses to JSON values). */
const seedService = (): PlainObject => parseYaml(SEED_MANIFEST) as PlainObject;

const TARGETS: Target[] = [
  {
    resource: "services",
    prefix: "/api/v1",
    namespaced: true,
    names: ["fuzz-svc-a", "fuzz-svc-b"],
    status: true,
    valid: (rng, name) => {
      if (rng.chance(0.3)) {
        const seed = seedService();
        (seed.metadata as PlainObject).name = name;
        return seed;
      }
      return service(
        name,
        { type: rng.pick(["ClusterIP", "NodePort", "LoadBalancer"]), ports: [{ name: "http", port: 80, targetPort: 8080 }] },
        { labels: { app: name } },
      );
    },
  },
  {
    resource: "pods",
    prefix: "/api/v1",
    namespaced: true,
    names: ["fuzz-pod-a", "fuzz-pod-b"],
    status: true,
    valid: (rng, name) =>
      pod(name, { app: rng.pick(["fuzz-svc-a", "fuzz-svc-b"]) }, `10.244.${rng.int(200)}.${1 + rng.int(200)}`, {
        nodeName: "fuzz-node-a",
        ready: rng.chance(0.7),
      }),
  },
  {
    resource: "endpointslices",
    prefix: "/apis/discovery.k8s.io/v1",
    namespaced: true,
    names: ["fuzz-eps-a"],
    status: false,
    valid: (_rng, name) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name, labels: { "kubernetes.io/service-name": "fuzz-svc-external" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.5.0.1"], conditions: { ready: true } }],
      ports: [{ name: "", port: 8080, protocol: "TCP" }],
    }),
  },
  {
    resource: "leases",
    prefix: "/apis/coordination.k8s.io/v1",
    namespaced: true,
    names: ["fuzz-lease-a"],
    status: false,
    valid: (_rng, name) => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: "2026-01-01T00:00:00.000000Z" },
    }),
  },
  {
    resource: "nodes",
    prefix: "/api/v1",
    namespaced: false,
    names: ["fuzz-node-a", "fuzz-node-b"],
    status: true,
    valid: (rng, name) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "topology.kubernetes.io/zone": rng.pick(["z1", "z2"]) } },
      spec: { podCIDRs: ["10.244.1.0/24"] },
      status: { addresses: [{ type: "InternalIP", address: "192.0.2.10" }], conditions: [{ type: "Ready", status: "True" }] },
    }),
  },
  {
    resource: "namespaces",
    prefix: "/api/v1",
    namespaced: false,
    names: [...FUZZ_NAMESPACES, "fuzz-c"],
    status: true,
    valid: (_rng, name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { team: "fuzz" } } }),
  },
];

// ---- hostile values ----

const deep = (depth: number, array: boolean): Raw =>
  new Raw(array ? "[".repeat(depth) + "]".repeat(depth) : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`, `nesting ${depth} deep`);
const NESTING_DEPTHS = [99, 100, 101, 1_000, 3_000, 5_000];

const PROTOTYPE_KEYS = ["constructor", "toString", "hasOwnProperty", "valueOf", "__proto__", "prototype", "isPrototypeOf", "__defineGetter__"];
const DIRECTIVE_KEYS = ["$patch", "$retainKeys", "$setElementOrder/ports", "$deleteFromPrimitiveList/finalizers", "$setElementOrder/containers"];

const SCALARS: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.5,
  65536,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53 + 1,
  Number.MAX_SAFE_INTEGER,
  1e308,
  -1e308,
  "",
  " ",
  "x",
  "-1",
  "80",
  "true",
  "null",
  "TCP",
  "UDP ",
  "💥",
  "\u0000",
  "\ud800",
  "a".repeat(300),
  "UPPER_case",
  "../..",
  "10.96.0.1",
  "::1",
  "0.0.0.0/0",
  "fuzz-svc-a",
  "constructor",
  "__proto__",
  "[object Object]",
  "2026-13-45T99:99:99Z",
];
const RAW_NUMBERS = ["1e400", "-1e400", "-0", "123456789012345678901234567890", "1E-400", "0.1e1"].map((t) => new Raw(t, `number ${t}`));

/** YAML-only values: tags, anchors and aliases, merge keys (YAML libraries resolve some of these to non-JSON values). */
const YAML_FRAGMENTS = [
  "!!merge 5",
  "!!merge x",
  "!!binary aGVsbG8=",
  "!!set {a, b}",
  "!!omap [a: 1, b: 2]",
  "!!pairs [a: 1]",
  "!!timestamp 2001-12-14",
  "!!float 1e400",
  ".nan",
  ".inf",
  "-.inf",
  "!!int x",
  "!!str [1]",
  "!!map [1]",
  "!!seq {a: 1}",
  "!!null x",
  "!<tag:yaml.org,2002:merge> {b: 1}",
  "!custom 5",
  "&anchor [1, 2]",
  "&self [1, *self]",
  "*undefined",
  "{<<: 5}",
  "{<<: [5]}",
  "{<<: {a: 1}, b: 2}",
  "{? [a]: 1}",
  "{? {a: 1}: 2}",
  "0x1F",
  "0o17",
  "2001-12-14t21:59:43.10-05:00",
].map((t) => new Raw(t, `YAML ${t}`));

function hostileValue(rng: Rng, format: Format): unknown {
  const roll = rng.int(100);
  if (roll < 45) return rng.pick(SCALARS);
  if (roll < 55) return rng.pick(RAW_NUMBERS);
  if (roll < 65) return deep(rng.pick(NESTING_DEPTHS), rng.chance(0.5));
  if (roll < 75) return rng.pick<unknown>([[], {}, [1, "x", null, []], [null], [{}], { a: null }, ["a", 1, true]]);
  if (roll < 85) return prototypeKeyed(rng);
  if (format !== "json") return rng.pick(YAML_FRAGMENTS);
  return rng.pick(SCALARS);
}

function prototypeKeyed(rng: Rng): PlainObject {
  const o: PlainObject = {};
  for (let i = 0; i <= rng.int(3); i++) setOwn(o, rng.pick(PROTOTYPE_KEYS), rng.pick<unknown>(["x", 1, { polluted: true }, null, []]));
  return o;
}

// ---- mutation of a JSON value ----

type Path = (string | number)[];

function pathsOf(v: unknown, path: Path = [], out: Path[] = []): Path[] {
  if (path.length > 0) out.push(path);
  if (Array.isArray(v)) v.forEach((e, i) => pathsOf(e, [...path, i], out));
  else if (v !== null && typeof v === "object" && !(v instanceof Raw)) for (const k of Object.keys(v)) pathsOf((v as PlainObject)[k], [...path, k], out);
  return out;
}

function containerAt(root: unknown, path: Path): PlainObject | unknown[] | undefined {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object" || cur instanceof Raw) return undefined;
    cur = Object.hasOwn(cur, seg) ? (cur as PlainObject)[seg as string] : undefined;
  }
  return cur !== null && typeof cur === "object" && !(cur instanceof Raw) ? (cur as PlainObject | unknown[]) : undefined;
}

function setPath(root: unknown, path: Path, value: unknown): void {
  const parent = containerAt(root, path.slice(0, -1));
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[key as number] = value;
  else if (parent) setOwn(parent, String(key), value);
}

/** The root and every map below it: where a key can be added. */
function mapPaths(root: unknown): Path[] {
  return [
    [],
    ...pathsOf(root).filter((p) => {
      const c = containerAt(root, p);
      return c !== undefined && !Array.isArray(c);
    }),
  ];
}

const describePath = (p: Path): string => p.map((s) => (typeof s === "number" ? `[${s}]` : `.${s}`)).join("") || "(root)";

/** Lists whose elements must be maps (merge-keyed for strategic merge and server-side apply), by resource. */
const MAP_LISTS: Record<string, Path[]> = {
  services: [["spec", "ports"]],
  pods: [
    ["spec", "containers"],
    ["spec", "containers", 0, "ports"],
    ["status", "conditions"],
  ],
  nodes: [
    ["status", "addresses"],
    ["status", "conditions"],
  ],
  endpointslices: [["endpoints"], ["ports"]],
  namespaces: [["metadata", "ownerReferences"]],
  leases: [["metadata", "ownerReferences"]],
};
const NON_MAP_ELEMENTS: unknown[][] = [[1, "x", null, []], [1], ["x"], [null], [[]], [true, { port: 80 }], [{ port: 80 }, 5]];

/** Applies one random mutation to `root` (in place) and returns its note. */
function mutate(rng: Rng, root: PlainObject, resource: string, format: Format): string {
  const paths = pathsOf(root);
  const roll = rng.int(100);
  if (roll < 30 && paths.length > 0) {
    const p = rng.pick(paths);
    const v = hostileValue(rng, format);
    setPath(root, p, v);
    return `${describePath(p)} ← ${noteOf(v)}`;
  }
  if (roll < 45) {
    const p = rng.pick(mapPaths(root));
    const key = rng.chance(0.7) ? rng.pick(PROTOTYPE_KEYS) : rng.pick(DIRECTIVE_KEYS);
    const v = hostileValue(rng, format);
    setPath(root, [...p, key], v);
    return `${describePath([...p, key])} ← ${noteOf(v)}`;
  }
  if (roll < 60) {
    const listed = rng.pick(MAP_LISTS[resource] ?? [["spec", "ports"]]);
    // A partial patch may lack the list's parent: then the list goes where a Service has one.
    const p = containerAt(root, listed.slice(0, -1)) ? listed : ["spec", "ports"];
    const v = rng.pick(NON_MAP_ELEMENTS);
    setPath(root, p, structuredClone(v));
    return `${describePath(p)} ← ${JSON.stringify(v)}`;
  }
  if (roll < 70) {
    const p = rng.chance(0.5) || paths.length === 0 ? ["metadata", `unknown${rng.int(9)}`] : rng.pick(paths);
    const v = deep(rng.pick(NESTING_DEPTHS), rng.chance(0.5));
    setPath(root, p, v);
    return `${describePath(p)} ← ${v.note}`;
  }
  if (roll < 80 && paths.length > 0) {
    const p = rng.pick(paths);
    const parent = containerAt(root, p.slice(0, -1));
    if (Array.isArray(parent)) parent.splice(p[p.length - 1] as number, 1);
    else if (parent) delete parent[p[p.length - 1] as string];
    return `${describePath(p)} removed`;
  }
  if (roll < 90 && format !== "json") {
    const p = paths.length > 0 ? rng.pick(paths) : ["spec"];
    const v = rng.pick(YAML_FRAGMENTS);
    setPath(root, p, v);
    return `${describePath(p)} ← ${v.note}`;
  }
  const p = paths.length > 0 ? rng.pick(paths) : ["metadata"];
  const v = rng.pick(SCALARS);
  setPath(root, p, v);
  return `${describePath(p)} ← ${noteOf(v)}`;
}

function noteOf(v: unknown): string {
  if (v instanceof Raw) return v.note;
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---- serialization ----

/** JSON text (also YAML flow style, which is a superset), with Raw text spliced in. */
function flowText(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map((e) => flowText(e === undefined ? null : e)).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${flowText((v as PlainObject)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

/** Block-style YAML, unfolded: js-yaml's output with each Raw put back where a placeholder stood. */
function blockYaml(v: unknown): string {
  const raws: Raw[] = [];
  const placeholders = (x: unknown): unknown => {
    if (x instanceof Raw) return `zzraw${raws.push(x) - 1}zz`;
    if (Array.isArray(x)) return x.map(placeholders);
    if (x !== null && typeof x === "object") {
      const out: PlainObject = {};
      for (const k of Object.keys(x)) setOwn(out, k, placeholders((x as PlainObject)[k]));
      return out;
    }
    return x;
  };
  const text = dump(placeholders(v), { lineWidth: -1, noRefs: true, skipInvalid: true });
  return text.replace(/zzraw(\d+)zz/g, (_m, i: string) => raws[Number(i)]!.text);
}

const serialize = (v: unknown, format: Format): string => (format === "yaml-block" ? blockYaml(v) : flowText(v));

/** Bytes that are not UTF-8, spliced in place of a marker string. */
const BAD_UTF8 = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe0, 0xa4], [0xf4, 0x90, 0x80, 0x80], [0xfe, 0xfe, 0xff, 0xff]];
const UTF8_MARKER = "zzutf8zz";

function withBadUtf8(rng: Rng, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const marker = new TextEncoder().encode(UTF8_MARKER);
  const bad = rng.pick(BAD_UTF8);
  let at = -1;
  for (let i = 0; i + marker.length <= bytes.length && at < 0; i++) if (marker.every((b, j) => bytes[i + j] === b)) at = i;
  if (at < 0) at = rng.int(bytes.length + 1);
  const markerLength = at >= 0 && bytes[at] === marker[0] ? marker.length : 0;
  return new Uint8Array([...bytes.subarray(0, at), ...bad, ...bytes.subarray(at + markerLength)]);
}

// ---- requests ----

const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

const BODY_TYPES = ["application/json", "application/yaml"] as const;
const ODD_CONTENT_TYPES = [
  "text/plain",
  "",
  "application/json; charset=utf-16",
  "application/merge-patch+json",
  "application/x-www-form-urlencoded",
  "application/json, application/yaml",
  "*/*",
];
const ACCEPTS = [
  "application/yaml",
  "application/json;as=Table;v=v1;g=meta.k8s.io",
  "application/json;as=Table;v=v9;g=x",
  "application/vnd.kubernetes.protobuf",
  ";;;",
  "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
  "text/html",
  "*/*",
];

const LIST_QUERY: Record<string, readonly string[]> = {
  limit: ["-1", "0", "1", "abc", "1e3", "1.5", "99999999999999999999", " 2"],
  continue: ["garbage", "%zz", btoa("null"), btoa('{"rv":"x","after":5}'), btoa('{"rv":1,"after":"fuzz-a/"}'), btoa("{"), "eyJydiI6MSwiYWZ0ZXIiOiIifQ=="],
  labelSelector: [
    "a in (",
    "!!",
    "a=b,",
    "x notin",
    "=",
    "a==b==c",
    "a in (b",
    "a,,b",
    "ñ=ü",
    "app=fuzz-svc-a",
    "!app",
    "constructor",
    "__proto__=x",
    `a in (${"b,".repeat(2000)}c)`,
    `${"x".repeat(400)}=y`,
    "a!=b,c",
    "%zz",
  ],
  fieldSelector: [
    "metadata.name",
    "spec.bogus=x",
    "=",
    "metadata.name!=",
    "status.phase==x==y",
    "metadata.name=fuzz-pod-a",
    "metadata.namespace!=fuzz-a,metadata.name=x",
    "spec.nodeName=fuzz-node-a",
    "constructor=x",
    ",",
    "metadata.name in (a)",
  ],
  resourceVersion: ["abc", "-1", "1e99", "99999999999", "0", "", "1.5"],
  resourceVersionMatch: ["bogus", "Exact", "NotOlderThan"],
  timeoutSeconds: ["-1", "x", "1e20"],
  // Spellings of false only: any other value ("bogus", "yes") opens a watch, as apimachinery reads
  // booleans, and would hold the case open (request-options.test.ts covers those).
  watch: ["false", "0", "FALSE", "False"],
  allowWatchBookmarks: ["true", "x"],
  includeObject: ["bogus", "Object", "None"],
  sendInitialEvents: ["true", "x"],
};
const WRITE_QUERY: Record<string, readonly string[]> = {
  dryRun: ["All", "bogus", "", "All,All"],
  fieldManager: ["fuzz", "", "m".repeat(200), "a/b", "💥", "constructor"],
  fieldValidation: ["Strict", "Warn", "Ignore", "bogus"],
  force: ["true", "x"],
  pretty: ["true"],
};
const DELETE_QUERY: Record<string, readonly string[]> = {
  // No short positive grace periods (here or in DELETE_BODIES): the Pod's deletion would finish on an alarm, between two cases.
  gracePeriodSeconds: ["-1", "x", "0", "2592000", "1e20", "99999999999999999999", "1.5"],
  propagationPolicy: ["Bogus", "Foreground", ""],
  dryRun: ["All", "bogus"],
  orphanDependents: ["true", "x"],
};
const DELETE_BODIES = [
  "null",
  "[]",
  "5",
  '"x"',
  "true",
  '{"gracePeriodSeconds":"x"}',
  '{"preconditions":{"uid":5}}',
  '{"preconditions":null}',
  '{"preconditions":"x"}',
  '{"preconditions":{"uid":"wrong"}}',
  '{"preconditions":{"resourceVersion":5}}',
  '{"propagationPolicy":"Bogus"}',
  '{"propagationPolicy":5}',
  '{"dryRun":["All"]}',
  '{"dryRun":"All"}',
  '{"gracePeriodSeconds":1e400}',
  '{"gracePeriodSeconds":-1}',
  '{"gracePeriodSeconds":1e20}',
  '{"gracePeriodSeconds":2592000}',
  '{"gracePeriodSeconds":2592000.5}',
  '{"kind":"DeleteOptions","apiVersion":"v1"}',
  "{",
  '{"preconditions":{"__proto__":{"uid":"x"}}}',
  '{"constructor":{"prototype":{"x":1}}}',
  "",
];
/**
 * A Lease renews the liveness of the Node of its name, and its expiry marks that
 * Node not ready on an alarm, between two cases: no Lease may be named like a Node.
 */
const leaseApart = (resource: string, name: string): string => (resource !== "leases" || name.startsWith("fuzz-lease") ? name : `lease-${name}`);

const BAD_ESCAPES = ["%", "%zz", "%E0%A4", "%E0%A4%A", "%00", "%2F", "%2e%2e", "%C0%AF", "%ED%A0%80", "%FF", "%%", "%2", "%u0041"];
const ODD_NAMES = ["UPPER", "a".repeat(254), "..", ".", "ñ", "a b", "-x", "x-", "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];

function query(rng: Rng, pools: Record<string, readonly string[]>[], count: number): { text: string; notes: string[] } {
  const parts: string[] = [];
  const notes: string[] = [];
  for (let i = 0; i < count; i++) {
    const pool = rng.pick(pools);
    const key = rng.pick(Object.keys(pool));
    const value = rng.pick(pool[key]!);
    // Some values go raw, so that the server sees malformed % escapes in the query too.
    parts.push(`${key}=${rng.chance(0.8) ? encodeURIComponent(value) : value}`);
    notes.push(`${key}=${value.length > 40 ? `${value.slice(0, 37)}...` : value}`);
  }
  return { text: parts.length ? `?${parts.join("&")}` : "", notes };
}

interface Built {
  method: string;
  path: string;
  contentType?: string;
  body?: string | Uint8Array;
  notes: string[];
}

/** The request of case `index` in the run of `seed`: a function of both alone. */
export function fuzzRequest(seed: number, index: number): FuzzRequest {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const built = build(rng);
  const headers: Record<string, string> = {};
  if (built.contentType !== undefined) headers["content-type"] = built.contentType;
  if (rng.chance(0.1)) {
    headers.accept = rng.pick(ACCEPTS);
    built.notes.push(`Accept: ${headers.accept}`);
  }
  return { index, method: built.method, path: built.path, headers, ...(built.body !== undefined ? { body: built.body } : {}), notes: built.notes };
}

function build(rng: Rng): Built {
  if (rng.chance(0.03)) return eventsRequest(rng);
  const t = rng.pick(TARGETS);
  const ns = rng.pick(FUZZ_NAMESPACES);
  const collection = t.namespaced ? `${t.prefix}/namespaces/${ns}/${t.resource}` : `${t.prefix}/${t.resource}`;
  let name = rng.pick(t.names);
  const notes: string[] = [];
  // A valid create now and then, so that updates, patches and deletes find objects.
  if (rng.chance(0.12))
    return { method: "POST", path: collection, contentType: "application/json", body: JSON.stringify(t.valid(rng, name)), notes: ["valid create"] };

  const shape = rng.int(100);
  let method: string;
  let path: string;
  let subresource = "";
  if (shape < 20) {
    method = rng.pick(["GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE"]);
    path = collection;
    if (method === "GET" && t.namespaced && rng.chance(0.3)) path = `${t.prefix}/${t.resource}`;
  } else {
    method = rng.pick(["GET", "PUT", "PUT", "PATCH", "PATCH", "PATCH", "PATCH", "DELETE", "DELETE", "POST"]);
    if (t.status && rng.chance(0.2)) subresource = "/status";
    else if (t.resource === "nodes" && rng.chance(0.05)) subresource = "/token";
    else if (rng.chance(0.02)) subresource = rng.pick(["/bogus", "/status/extra", "/"]);
    if (rng.chance(0.05)) {
      name = leaseApart(t.resource, rng.pick(ODD_NAMES));
      notes.push(`name ${name.length > 20 ? `${name.slice(0, 10)}... (${name.length})` : name}`);
    }
    path = `${collection}/${encodeURIComponent(name)}${subresource}`;
  }
  if (rng.chance(0.04)) {
    const badEscape = rng.pick(BAD_ESCAPES);
    const segments = path.split("/");
    const i = 1 + rng.int(segments.length - 1);
    segments[i] = rng.chance(0.5) ? `${segments[i]}${badEscape}` : badEscape;
    path = segments.join("/");
    notes.push(`path escape ${badEscape}`);
  }

  const q =
    method === "GET"
      ? query(rng, [LIST_QUERY], rng.int(3))
      : method === "DELETE"
        ? query(rng, [DELETE_QUERY, WRITE_QUERY], rng.int(3))
        : query(rng, [WRITE_QUERY, WRITE_QUERY, LIST_QUERY], rng.int(3));
  notes.push(...q.notes);
  const full = path + q.text;

  if (method === "GET") return { method, path: full, notes };
  if (method === "DELETE") return deleteRequest(rng, full, notes);
  if (method === "PATCH") return patchRequest(rng, t, name, path, q.text, notes);
  return bodyRequest(rng, method, full, t, name, subresource, notes);
}

function eventsRequest(rng: Rng): Built {
  const ns = rng.pick(FUZZ_NAMESPACES);
  const path = rng.pick([`/api/v1/namespaces/${ns}/events`, "/api/v1/events", `/api/v1/namespaces/${ns}/events/x`]);
  const q = query(rng, [LIST_QUERY], rng.int(3));
  const method = rng.pick(["GET", "GET", "GET", "POST", "DELETE"]);
  return { method, path: path + q.text, notes: ["events", ...q.notes], ...(method === "POST" ? { contentType: "application/json", body: "{}" } : {}) };
}

function deleteRequest(rng: Rng, path: string, notes: string[]): Built {
  if (rng.chance(0.3)) return { method: "DELETE", path, notes };
  const body = rng.chance(0.1)
    ? flowText(prototypeKeyed(rng))
    : rng.chance(0.05)
      ? deep(rng.pick(NESTING_DEPTHS), rng.chance(0.5)).text
      : rng.pick(DELETE_BODIES);
  notes.push(`delete body ${body.length > 60 ? `${body.slice(0, 57)}...` : body}`);
  return { method: "DELETE", path, contentType: "application/json", body, notes };
}

/** A valid object of `t` with 0-3 mutations, in `format`; sometimes with malformed UTF-8. */
function mutatedBody(rng: Rng, t: Target, name: string, format: Format, notes: string[]): string | Uint8Array {
  const obj = t.valid(rng, name);
  const mutations = rng.chance(0.1) ? 0 : 1 + rng.int(3);
  for (let i = 0; i < mutations; i++) notes.push(mutate(rng, obj, t.resource, format));
  const meta = obj.metadata;
  if (meta !== null && typeof meta === "object" && !Array.isArray(meta) && typeof (meta as PlainObject).name === "string")
    (meta as PlainObject).name = leaseApart(t.resource, (meta as PlainObject).name as string);
  if (rng.chance(0.05)) {
    const paths = pathsOf(obj).filter((p) => typeof containerAt(obj, p.slice(0, -1)) === "object");
    if (paths.length > 0) setPath(obj, rng.pick(paths), UTF8_MARKER);
    notes.push("malformed UTF-8");
    return withBadUtf8(rng, serialize(obj, format));
  }
  return serialize(obj, format);
}

function bodyRequest(rng: Rng, method: string, path: string, t: Target, name: string, subresource: string, notes: string[]): Built {
  const roll = rng.int(100);
  if (roll < 4)
    return { method, path, contentType: "application/vnd.kubernetes.protobuf", body: protobufGarbage(rng, t), notes: [...notes, "protobuf garbage"] };
  if (roll < 9) {
    const contentType = rng.pick(ODD_CONTENT_TYPES);
    notes.push(`content-type ${JSON.stringify(contentType)}`);
    return { method, path, contentType, body: JSON.stringify(t.valid(rng, name)), notes };
  }
  if (roll < 12) {
    const body = rng.pick(["", " ", "null", "[]", "5", '"x"', "{", "[{}]", "{}", "---\n---", "- a\n- b", "a: b: c", "\t{}", "\uFEFF{}"]);
    notes.push(`body ${JSON.stringify(body)}`);
    return { method, path, contentType: rng.pick(BODY_TYPES), body, notes };
  }
  if (roll < 13) {
    notes.push("body over 3 MiB");
    return {
      method,
      path,
      contentType: "application/json",
      body: `{"metadata":{"name":"${name}","annotations":{"a":"${"x".repeat(3 * 1024 * 1024 + 10)}"}}}`,
      notes,
    };
  }
  const format: Format = rng.pick(["json", "json", "json", "yaml-block", "yaml-flow"]);
  const contentType = format === "json" ? "application/json" : rng.pick(["application/yaml", "application/x-yaml", "text/yaml"]);
  if (format !== "json") notes.push(format);
  const body = mutatedBody(rng, t, name, format, notes);
  if (subresource === "/status") notes.push("status");
  return { method, path, contentType, body, notes };
}

/** The 4-byte magic, then a runtime.Unknown naming a kind, then random bytes for the object. */
function protobufGarbage(rng: Rng, t: Target): Uint8Array {
  const kind = new TextEncoder().encode(rng.pick(["Service", "Namespace", "Pod", "Node", t.resource]));
  const typeMeta = [0x0a, 2, 0x76, 0x31, 0x12, kind.length, ...kind];
  const raw = Array.from({ length: rng.int(64) }, () => rng.int(256));
  const bytes = rng.chance(0.2) ? raw : [0x6b, 0x38, 0x73, 0x00, 0x0a, typeMeta.length, ...typeMeta, 0x12, raw.length, ...raw];
  return new Uint8Array(bytes);
}

function patchRequest(rng: Rng, t: Target, name: string, path: string, queryText: string, notes: string[]): Built {
  const kind = rng.pick(["json", "merge", "strategic", "strategic", "apply", "apply"] as const);
  let contentType: string = PATCH_TYPES[kind];
  if (rng.chance(0.05)) {
    contentType = rng.pick(["application/json", "application/yaml", "", "application/apply-patch+json", "application/strategic-merge-patch+yaml"]);
    notes.push(`content-type ${JSON.stringify(contentType)}`);
  } else notes.push(kind);
  let full = path + queryText;
  if (kind === "apply" && !queryText.includes("fieldManager=") && rng.chance(0.85))
    full += `${queryText ? "&" : "?"}fieldManager=fuzz${rng.chance(0.3) ? "&force=true" : ""}`;
  const body = kind === "json" ? jsonPatch(rng, t, name, notes) : kind === "apply" ? applyBody(rng, t, name, notes) : mergeLikePatch(rng, t, name, kind, notes);
  return { method: "PATCH", path: full, contentType, body, notes };
}

const POINTERS = [
  "",
  "/",
  "metadata",
  "/spec/ports/-",
  "/spec/ports/99",
  "/spec/ports/01",
  "/spec/ports/-1",
  "/metadata/labels/~2",
  "/metadata/labels/a~1b",
  "/__proto__",
  "/constructor/prototype",
  "/metadata/labels/constructor",
  "/spec/containers/0/ports/0/containerPort",
  "/status/conditions/0",
  "/metadata/name",
  "/metadata/resourceVersion",
  "/kind",
  "/apiVersion",
];

function jsonPatch(rng: Rng, t: Target, name: string, notes: string[]): string {
  if (rng.chance(0.08)) {
    const body = rng.pick(["{}", "null", "5", '"x"', '[{"op":"add"}]', "[5]", "[[]]"]);
    notes.push(`json patch ${body}`);
    return body;
  }
  const doc = t.valid(rng, name);
  const pointers = pathsOf(doc).map((p) => `/${p.map((s) => String(s).replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`);
  const ops: unknown[] = [];
  for (let i = 0; i <= rng.int(4); i++) {
    const op: PlainObject = { op: rng.pick(["add", "add", "remove", "replace", "replace", "move", "copy", "copy", "test", "bogus", 5]) };
    op.path = rng.chance(0.7) ? rng.pick(pointers) : rng.pick<unknown>([...POINTERS, 5, null]);
    if (op.op === "move" || op.op === "copy") op.from = rng.chance(0.8) ? rng.pick(["", ...pointers]) : rng.pick<unknown>([...POINTERS, 5]);
    if (rng.chance(0.85)) op.value = rng.chance(0.5) ? hostileValue(rng, "json") : structuredClone(doc.metadata);
    ops.push(op);
  }
  notes.push(`ops ${noteOf(ops)}`);
  return flowText(ops);
}

/** A merge or strategic merge patch: part of a valid object, mutated, with strategic directives now and then. */
function mergeLikePatch(rng: Rng, t: Target, name: string, kind: "merge" | "strategic", notes: string[]): string {
  if (rng.chance(0.05)) {
    const body = rng.pick(["[]", "null", "5", '"x"', "[{}]"]);
    notes.push(`patch ${body}`);
    return body;
  }
  const full = t.valid(rng, name);
  const patch: PlainObject = {};
  for (const k of Object.keys(full)) if (k !== "apiVersion" && k !== "kind" && rng.chance(0.5)) patch[k] = full[k];
  if (Object.keys(patch).length === 0) patch.metadata = { labels: { fuzz: String(rng.int(1000)) } };
  const mutations = rng.int(3);
  for (let i = 0; i < mutations; i++) notes.push(mutate(rng, patch, t.resource, "json"));
  if (kind === "strategic" && rng.chance(0.4)) {
    const at = rng.pick(mapPaths(patch));
    const key = rng.pick(DIRECTIVE_KEYS);
    const value = rng.pick<unknown>(["replace", "delete", "merge", "bogus", 5, null, ["a"], [1], "x", [{ port: 80 }], [1, "x"], { a: 1 }]);
    setPath(patch, [...at, key], value);
    notes.push(`${describePath([...at, key])} ← ${noteOf(value)}`);
  }
  return flowText(patch);
}

/** A server-side apply body: a whole mutated object, as YAML (block or flow) or JSON, which is YAML too. */
function applyBody(rng: Rng, t: Target, name: string, notes: string[]): string | Uint8Array {
  const format: Format = rng.pick(["yaml-block", "yaml-block", "yaml-flow", "json"]);
  notes.push(format);
  return mutatedBody(rng, t, name, format, notes);
}

/** A curl-like one-line description of a request, for failure reports. */
export function describeRequest(r: FuzzRequest): string {
  const type = r.headers["content-type"];
  const body = r.body === undefined ? "" : typeof r.body === "string" ? r.body : new TextDecoder().decode(r.body);
  const shown = body.length > 200 ? `${body.slice(0, 200)}... (${body.length} chars)` : body;
  return `${r.method} ${r.path.length > 200 ? `${r.path.slice(0, 200)}...` : r.path}${type !== undefined ? ` [${type}]` : ""}${shown ? ` ${JSON.stringify(shown)}` : ""} — ${r.notes.join("; ")}`;
}
