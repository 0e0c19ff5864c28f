// Strategic merge patch (`application/strategic-merge-patch+json`, kubectl's
// default) following k8s.io/apimachinery/pkg/util/strategicpatch for the kinds
// svcedge serves. Lists merge only where the Go types carry a patch strategy
// (the table below); every other list is replaced whole, maps merge key by key.
// Directives: `$patch: replace|delete|merge`, `$retainKeys`,
// `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
import type { PatchResult } from "./patch";
import type { Kind } from "./resources";

interface ListStrategy {
  /** Elements are objects identified by this field. */
  mergeKey?: string;
  /** A list of strings merged as a set (patchStrategy "merge" without a key). */
  primitive?: true;
}

/** patchStrategy/patchMergeKey tags of the fields svcedge keeps, by kind and field path (no indices). */
const COMMON: Record<string, ListStrategy> = {
  "metadata.finalizers": { primitive: true },
  "metadata.ownerReferences": { mergeKey: "uid" },
};
const STRATEGIES: Record<Kind, Record<string, ListStrategy>> = {
  // SMP merges Service ports on `port` alone (listMapKeys port+protocol is server-side apply's).
  Service: { ...COMMON, "spec.ports": { mergeKey: "port" } },
  Pod: {
    ...COMMON,
    "spec.containers": { mergeKey: "name" },
    "spec.containers.ports": { mergeKey: "containerPort" },
    "status.conditions": { mergeKey: "type" },
    "status.podIPs": { mergeKey: "ip" },
  },
  Node: {
    ...COMMON,
    "spec.podCIDRs": { primitive: true },
    "status.addresses": { mergeKey: "type" },
    "status.conditions": { mergeKey: "type" },
  },
  Namespace: { ...COMMON },
  EndpointSlice: { ...COMMON },
};

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

class SMPError extends Error {}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Applies a strategic merge patch to a copy of `target` (a stored object of `kind`). */
export function applyStrategicMergePatch(kind: Kind, target: unknown, patch: unknown): PatchResult {
  if (!isObject(patch)) return { ok: false, message: "strategic merge patch must be a JSON object" };
  try {
    const base = isObject(target) ? structuredClone(target) : {};
    return { ok: true, value: mergeMap(base, patch, "", STRATEGIES[kind]) };
  } catch (e) {
    if (e instanceof SMPError) return { ok: false, message: e.message };
    throw e;
  }
}

/** Merges `patch` into `original` (which it may modify; callers pass copies). */
function mergeMap(original: Obj, patch: Obj, path: string, table: Record<string, ListStrategy>): Obj {
  const directive = patch[PATCH];
  if (directive === "replace") return stripDirectives(withoutKey(patch, PATCH)) as Obj;
  if (directive === "delete") return {};
  if (directive !== undefined && directive !== "merge") throw new SMPError(`unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`);
  const out = original;
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const list = key.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(value)) throw new SMPError(`${key} must be a list`);
      if (Array.isArray(out[list])) out[list] = (out[list] as unknown[]).filter((x) => !value.includes(x));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const childPath = join(path, key);
    const current = out[key];
    if (isObject(value) && isObject(current)) out[key] = mergeMap(current, value, childPath, table);
    else if (Array.isArray(value) && Array.isArray(current)) out[key] = mergeList(current, value, childPath, table);
    else out[key] = stripDirectives(value);
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const list = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw new SMPError(`${key} must be a list`);
    if (Array.isArray(out[list])) out[list] = applyOrder(out[list] as unknown[], order, table[join(path, list)]);
  }
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new SMPError(`${RETAIN_KEYS} must be a list`);
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], path: string, table: Record<string, ListStrategy>): unknown[] {
  // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
  if (patch.some((e) => isObject(e) && e[PATCH] === "replace")) {
    return patch.filter((e) => !(isObject(e) && e[PATCH] === "replace")).map(stripDirectives);
  }
  const strategy = table[path];
  if (strategy?.primitive) {
    const out = [...original];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  const mergeKey = strategy?.mergeKey;
  if (!mergeKey) return patch.map(stripDirectives);
  const out = [...original];
  const indexOf = (k: unknown): number => out.findIndex((e) => isObject(e) && e[mergeKey] === k);
  for (const el of patch) {
    if (!isObject(el)) throw new SMPError(`${path}: expected an object with merge key ${JSON.stringify(mergeKey)}, got ${JSON.stringify(el)}`);
    const key = el[mergeKey];
    if (key === undefined) throw new SMPError(`map: ${JSON.stringify(el)} does not contain declared merge key: ${mergeKey}`);
    const at = indexOf(key);
    if (el[PATCH] === "delete") {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = mergeMap(out[at] as Obj, el, path, table);
    } else {
      out.push(stripDirectives(el));
    }
  }
  return out;
}

/**
 * `$setElementOrder`: the listed elements come first in the given order; elements
 * the patch did not mention keep their relative order after them.
 */
function applyOrder(list: unknown[], order: unknown[], strategy: ListStrategy | undefined): unknown[] {
  const mergeKey = strategy?.mergeKey;
  const identity = (e: unknown): unknown => (mergeKey && isObject(e) ? e[mergeKey] : e);
  const wanted = order.map(identity);
  const ordered: unknown[] = [];
  for (const w of wanted) {
    const found = list.find((e) => identity(e) === w);
    if (found !== undefined) ordered.push(found);
  }
  return [...ordered, ...list.filter((e) => !wanted.includes(identity(e)))];
}

function withoutKey(o: Obj, key: string): Obj {
  const { [key]: _drop, ...rest } = o;
  return rest;
}

/** Directives never reach the stored object. */
function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => !(isObject(e) && e[PATCH] !== undefined && Object.keys(e).length === 1)).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Obj = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === PATCH || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    out[k] = stripDirectives(val);
  }
  return out;
}
