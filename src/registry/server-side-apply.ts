// Server-side apply (PATCH application/apply-patch+yaml), after
// sigs.k8s.io/structured-merge-diff: each field manager owns a set of fields
// (metadata.managedFields, FieldsV1). An apply merges the applied configuration
// into the live object (associative lists by their keys, atomic lists and maps
// whole), reports a conflict when it would change a field another manager owns
// (unless forced, which takes the field over), and removes the fields the
// applier owned before, no longer applies, and nobody else owns.
import type { KubeObject, ManagedFieldsEntry, StatusCause } from "../api/types";
import { isObject as isObj, ownValue, type PlainObject as Obj } from "../api/plain-data";
import { applyStrategicMergePatch, fieldStrategy, PATCH_STRATEGIES, type PatchStrategy } from "./strategic-merge";
import { kubeTime } from "../api/timestamps";

/** A field path in FieldsV1 notation: "f:spec", "k:{\"port\":80,\"protocol\":\"TCP\"}", "v:\"x\"", and "." for the element itself. */
type Path = string[];

/** Maps that are atomic (`+mapType=atomic`): owned and replaced as a whole. */
const ATOMIC_MAPS: Record<string, string[][]> = { Service: [["spec", "selector"]] };
/** Metadata fields an applier can own; the rest is identity or system-owned. */
const OWNED_METADATA = new Set(["labels", "annotations", "finalizers", "ownerReferences"]);

export interface ApplyInput {
  current: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  now: number;
}

export type ApplyOutcome = { ok: true; object: KubeObject } | { ok: false; conflicts: StatusCause[]; message: string };

const keyOf = (p: Path): string => JSON.stringify(p);
const pathOf = (k: string): Path => JSON.parse(k) as Path;

/** The leaf fields (and list-element markers) an object sets, as FieldsV1 paths. */
export function fieldSet(obj: KubeObject): Set<string> {
  const strategy = PATCH_STRATEGIES[obj.kind] ?? {};
  const atomic = ATOMIC_MAPS[obj.kind] ?? [];
  const out = new Set<string>();
  const top = obj as unknown as Obj;
  for (const [k, v] of Object.entries(top)) {
    if (k === "apiVersion" || k === "kind" || k === "status") continue;
    if (k === "metadata") {
      for (const [mk, mv] of Object.entries(v as Obj))
        if (OWNED_METADATA.has(mk)) walk(mv, ["f:metadata", `f:${mk}`], fieldStrategy(fieldStrategy(strategy, "metadata"), mk), atomic, out);
      continue;
    }
    walk(v, [`f:${k}`], fieldStrategy(strategy, k), atomic, out);
  }
  return out;
}

/**
 * Why an applied configuration has no typed form, or undefined: an element of an
 * associative list (one with merge keys) that is not a map or lacks a key without
 * a default. structured-merge-diff refuses these ("failed to create typed patch
 * object"); merging them would fail halfway.
 */
export function untypedReason(obj: unknown, strategy: PatchStrategy, path = ""): string | undefined {
  if (!isObj(obj)) return undefined;
  for (const [field, child] of Object.entries(strategy.fields ?? {})) {
    const v = ownValue(obj, field);
    const at = `${path}.${field}`;
    if (!child.mergeKeys || !Array.isArray(v)) {
      const inner = untypedReason(v, child, at);
      if (inner) return inner;
      continue;
    }
    for (const [i, e] of v.entries()) {
      if (!isObj(e)) return `${at}: element ${i}: expected map, got ${JSON.stringify(e)}`;
      const missing = child.mergeKeys.find((k) => (ownValue(e, k) ?? ownValue(child.keyDefaults, k)) == null);
      if (missing) return `${at}: element ${i}: associative list with keys has an element that omits key field "${missing}" (and doesn't have default value)`;
      const inner = untypedReason(e, child.items ?? {}, `${at}[${i}]`);
      if (inner) return inner;
    }
  }
  return undefined;
}

function walk(v: unknown, path: Path, strategy: PatchStrategy, atomic: string[][], out: Set<string>): void {
  const plain = path.filter((p) => p.startsWith("f:")).map((p) => p.slice(2));
  const isAtomicMap = atomic.some((a) => a.length === plain.length && a.every((s, i) => s === plain[i]) && path.every((p) => p.startsWith("f:")));
  if (isObj(v) && !isAtomicMap && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) walk(child, [...path, `f:${k}`], fieldStrategy(strategy, k), atomic, out);
    return;
  }
  if (Array.isArray(v) && strategy.mergeKeys) {
    out.add(keyOf([...path, "."]));
    for (const e of v) {
      if (!isObj(e)) continue;
      const el = [...path, elementKey(e, strategy)];
      out.add(keyOf([...el, "."]));
      for (const [k, child] of Object.entries(e)) walk(child, [...el, `f:${k}`], fieldStrategy(strategy.items ?? {}, k), atomic, out);
    }
    return;
  }
  if (Array.isArray(v) && strategy.set) {
    out.add(keyOf([...path, "."]));
    for (const e of v) out.add(keyOf([...path, `v:${JSON.stringify(e)}`]));
    return;
  }
  out.add(keyOf(path));
}

function elementKey(e: Obj, strategy: PatchStrategy): string {
  const key: Obj = {};
  for (const k of [...strategy.mergeKeys!].sort()) {
    const v = e[k] ?? strategy.keyDefaults?.[k];
    if (v !== undefined) key[k] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

/** The value at a path, or undefined when absent. */
function valueAt(obj: unknown, path: Path): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (seg === ".") return cur;
    if (seg.startsWith("f:")) cur = ownValue(cur, seg.slice(2));
    else if (seg.startsWith("k:")) {
      const key = JSON.parse(seg.slice(2)) as Obj;
      cur = Array.isArray(cur)
        ? cur.find(
            (e) =>
              isObj(e) && Object.entries(key).every(([k, v]) => JSON.stringify(ownValue(e, k) ?? (k === "protocol" ? "TCP" : undefined)) === JSON.stringify(v)),
          )
        : undefined;
    } else if (seg.startsWith("v:")) {
      const want = seg.slice(2);
      cur = Array.isArray(cur) && cur.some((e) => JSON.stringify(e) === want) ? JSON.parse(want) : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the field or list element at a path (a no-op when it is already gone); returns the parent's path. */
function removeAt(obj: unknown, path: Path): Path {
  const last = path[path.length - 1] === "." ? path.length - 2 : path.length - 1;
  if (last < 0) return [];
  const parentPath = path.slice(0, last);
  const seg = path[last]!;
  const parent = parentPath.length ? valueAt(obj, parentPath) : obj;
  if (seg.startsWith("f:") && isObj(parent)) delete parent[seg.slice(2)];
  else if (Array.isArray(parent)) {
    const target = valueAt(obj, path.slice(0, last + 1));
    const i = parent.findIndex((e) => e === target || (seg.startsWith("v:") && JSON.stringify(e) === seg.slice(2)));
    if (i >= 0) parent.splice(i, 1);
  }
  return parentPath;
}

/** A map or list left empty by a removal goes too (metadata and spec themselves stay), as structured-merge-diff prunes. */
function pruneEmptyParents(obj: unknown, path: Path): void {
  for (let p = path; p.length > 1; p = p.slice(0, -1)) {
    const v = valueAt(obj, p);
    const empty = (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
    if (!empty) return;
    removeAt(obj, p);
  }
}

/** `.spec.ports[port=8080,protocol="TCP"].targetPort`, as structured-merge-diff prints paths. */
export function describePath(path: Path): string {
  let s = "";
  for (const seg of path) {
    if (seg === ".") continue;
    if (seg.startsWith("f:")) s += `.${seg.slice(2)}`;
    else if (seg.startsWith("k:")) {
      const key = JSON.parse(seg.slice(2)) as Obj;
      s += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    } else if (seg.startsWith("v:")) s += `[=${seg.slice(2)}]`;
  }
  return s;
}

// ---- FieldsV1 encoding ----

export function toFieldsV1(set: Set<string>): Obj {
  const root: Obj = {};
  for (const k of set) {
    let node = root;
    for (const seg of pathOf(k)) node = (node[seg] ??= {}) as Obj;
  }
  return root;
}

export function fromFieldsV1(fields: Obj | undefined): Set<string> {
  const out = new Set<string>();
  const visit = (node: Obj, path: Path): void => {
    const children = Object.entries(node);
    if (children.length === 0 && path.length > 0) out.add(keyOf(path));
    for (const [seg, child] of children) visit(isObj(child) ? child : {}, [...path, seg]);
  };
  if (fields) visit(fields, []);
  return out;
}

function entry(manager: string, operation: "Apply" | "Update", apiVersion: string, set: Set<string>, now: number): ManagedFieldsEntry {
  return { manager, operation, apiVersion, time: kubeTime(now), fieldsType: "FieldsV1", fieldsV1: toFieldsV1(set) };
}

const isLeaf = (k: string): boolean => !k.endsWith('"."]');

/** Applies `applied` as `manager`; the result still goes through admission like any update. */
export function serverSideApply(input: ApplyInput): ApplyOutcome {
  const { current, applied, manager, force, now } = input;
  const newSet = fieldSet(applied);
  if (!current) {
    const created = structuredClone(applied);
    created.metadata.managedFields = [entry(manager, "Apply", applied.apiVersion, newSet, now)];
    return { ok: true, object: created };
  }
  const entries = (current.metadata.managedFields ?? []).map((e) => ({ e, set: fromFieldsV1(e.fieldsV1) }));
  const mine = entries.find((x) => x.e.manager === manager && x.e.operation === "Apply");
  const others = entries.filter((x) => x !== mine);

  const conflicts: { manager: string; path: string }[] = [];
  const taken = new Set<string>();
  for (const k of newSet) {
    if (!isLeaf(k)) continue;
    const p = pathOf(k);
    if (JSON.stringify(valueAt(applied, p)) === JSON.stringify(valueAt(current, p))) continue;
    for (const o of others) {
      if (!o.set.has(k)) continue;
      conflicts.push({ manager: o.e.manager ?? "", path: describePath(p) });
      taken.add(k);
    }
  }
  if (conflicts.length > 0 && !force) {
    const lines = conflicts.map((c) => `conflict with "${c.manager}" using ${applied.apiVersion}: ${c.path}`);
    const message = `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}: ${lines.join("\n")}`;
    return { ok: false, message, conflicts: conflicts.map((c, i) => ({ reason: "FieldManagerConflict", message: lines[i]!, field: c.path })) };
  }
  for (const o of others) for (const k of taken) o.set.delete(k);

  const { managedFields: _ignored, ...appliedMeta } = applied.metadata;
  const merged = applyStrategicMergePatch(
    current,
    { ...applied, metadata: appliedMeta },
    PATCH_STRATEGIES[current.kind] ?? {},
    "listMapKeys",
  ) as unknown as KubeObject;
  for (const atomic of ATOMIC_MAPS[current.kind] ?? []) {
    const v = valueAt(
      applied,
      atomic.map((s) => `f:${s}`),
    );
    if (v !== undefined) setAt(merged, atomic, structuredClone(v));
  }
  // Fields this manager applied before and applies no longer are removed, unless someone else owns them.
  if (mine) {
    const ownedElsewhere = (k: string) => others.some((o) => o.set.has(k));
    const stale = [...mine.set].filter((k) => !newSet.has(k) && !ownedElsewhere(k));
    // Deepest first, so that removing an element does not hide the fields inside it.
    stale.sort((a, b) => pathOf(b).length - pathOf(a).length);
    for (const k of stale) pruneEmptyParents(merged, removeAt(merged, pathOf(k)));
  }
  const managed: ManagedFieldsEntry[] = others.filter((o) => o.set.size > 0).map((o) => ({ ...o.e, fieldsV1: toFieldsV1(o.set) }));
  managed.push(entry(manager, "Apply", applied.apiVersion, newSet, now));
  merged.metadata.managedFields = managed;
  return { ok: true, object: merged };
}

/** A create by `manager` (not an apply): it owns every field it set, as the apiserver records it. */
export function recordCreate(obj: KubeObject, manager: string, now: number): void {
  if (obj.metadata.managedFields?.length) return;
  const set = fieldSet(obj);
  if (set.size > 0) obj.metadata.managedFields = [entry(manager, "Update", obj.apiVersion, set, now)];
}

/**
 * An Update (a non-apply patch by `manager`) takes over the fields it changed,
 * so that a later apply by someone else conflicts on them. Only tracked for
 * objects that already carry managedFields.
 */
export function recordUpdate(current: KubeObject, next: KubeObject, manager: string, now: number): void {
  // A patch can leave `metadata` a number or null; admission refuses such an object after this.
  if (!current.metadata.managedFields?.length || !isObj(next.metadata)) return;
  const before = fieldSet(current);
  const after = fieldSet(next);
  const changed = [...after].filter(
    (k) => isLeaf(k) && (!before.has(k) || JSON.stringify(valueAt(current, pathOf(k))) !== JSON.stringify(valueAt(next, pathOf(k)))),
  );
  const removed = [...before].filter((k) => !after.has(k));
  if (changed.length === 0 && removed.length === 0) {
    next.metadata.managedFields = current.metadata.managedFields;
    return;
  }
  const entries = current.metadata.managedFields.map((e) => ({ e, set: fromFieldsV1(e.fieldsV1) }));
  for (const x of entries) for (const k of [...changed, ...removed]) if (x.e.manager !== manager || x.e.operation !== "Update") x.set.delete(k);
  let mine = entries.find((x) => x.e.manager === manager && x.e.operation === "Update");
  if (!mine) {
    mine = { e: { manager, operation: "Update", apiVersion: next.apiVersion }, set: new Set() };
    entries.push(mine);
  }
  for (const k of changed) mine.set.add(k);
  for (const k of removed) mine.set.delete(k);
  next.metadata.managedFields = entries
    .filter((x) => x.set.size > 0)
    .map((x) => (x === mine ? entry(manager, "Update", next.apiVersion, x.set, now) : { ...x.e, fieldsV1: toFieldsV1(x.set) }));
}

function setAt(obj: unknown, path: string[], value: unknown): void {
  let cur = obj as Obj;
  for (const seg of path.slice(0, -1)) cur = (cur[seg] ??= {}) as Obj;
  cur[path[path.length - 1]!] = value;
}
