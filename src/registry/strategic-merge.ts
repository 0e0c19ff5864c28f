// Strategic merge patch (application/strategic-merge-patch+json), as
// k8s.io/apimachinery/pkg/util/strategicpatch applies it: maps merge key by key
// and null deletes, lists replace unless the field has a patch strategy. Lists
// with `patchStrategy:"merge"` merge element by element on their merge key;
// lists of primitives with that strategy merge as sets. Directives:
//   $patch: replace | delete | merge      on a map, or as a list element
//   $retainKeys: [..]                      keep only these keys of the map
//   $setElementOrder/<list>: [..]          order of the merged list
//   $deleteFromPrimitiveList/<list>: [..]  remove values from a set-like list
// The strategies come from the struct tags of k8s.io/api (core/v1, discovery/v1). A list
// element is found by its patchMergeKey (Service ports by `port` alone, as upstream: a UDP
// port patched onto a TCP port of the same number becomes that element); server-side apply
// merges with the same code but finds elements by all their listMapKeys (port+protocol).

import { hasOwn, isObject, ownValue, setOwn, type PlainObject } from "../api/plain-data";

export interface PatchStrategy {
  /** Struct fields with a strategy somewhere below them. */
  fields?: Record<string, PatchStrategy>;
  /** For a list of maps with patchStrategy "merge": the keys that identify an element (listMapKeys); the first is the patchMergeKey. */
  mergeKeys?: string[];
  /** Values the apiserver defaults a merge key to when it is omitted (ServicePort.protocol = TCP). */
  keyDefaults?: Record<string, unknown>;
  /** For a list of primitives with patchStrategy "merge": set semantics. */
  set?: boolean;
  /** Strategy of each element of a list. */
  items?: PatchStrategy;
}

export class StrategicMergeError extends Error {}

/** The strategy of a field; keys come from the patch, so never one a prototype supplies. */
export const fieldStrategy = (strategy: PatchStrategy, key: string): PatchStrategy => (ownValue(strategy.fields, key) as PatchStrategy | undefined) ?? {};

type Obj = PlainObject;
const isObj = isObject;
const clone = <T>(v: T): T => structuredClone(v);

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

const conditions: PatchStrategy = { mergeKeys: ["type"] };
const byName: PatchStrategy = { mergeKeys: ["name"] };

const METADATA: PatchStrategy = { fields: { finalizers: { set: true }, ownerReferences: { mergeKeys: ["uid"] } } };

const CONTAINER: PatchStrategy = {
  fields: {
    ports: { mergeKeys: ["containerPort", "protocol"], keyDefaults: { protocol: "TCP" } },
    env: byName,
    volumeMounts: { mergeKeys: ["mountPath"] },
  },
};

/** Patch strategies by kind (k8s.io/api struct tags). Kinds not listed merge maps and replace lists. */
export const PATCH_STRATEGIES: Record<string, PatchStrategy> = {
  Service: {
    fields: {
      metadata: METADATA,
      spec: { fields: { ports: { mergeKeys: ["port", "protocol"], keyDefaults: { protocol: "TCP" } } } },
      status: { fields: { conditions } },
    },
  },
  Pod: {
    fields: {
      metadata: METADATA,
      spec: {
        fields: {
          containers: { ...byName, items: CONTAINER },
          initContainers: { ...byName, items: CONTAINER },
          volumes: byName,
          imagePullSecrets: byName,
          hostAliases: { mergeKeys: ["ip"] },
        },
      },
      status: { fields: { conditions, podIPs: { mergeKeys: ["ip"] } } },
    },
  },
  Node: {
    fields: {
      metadata: METADATA,
      spec: { fields: { podCIDRs: { set: true } } },
      status: { fields: { addresses: { mergeKeys: ["type"] }, conditions } },
    },
  },
  Namespace: { fields: { metadata: METADATA, status: { fields: { conditions } } } },
  EndpointSlice: { fields: { metadata: METADATA } },
  Lease: { fields: { metadata: METADATA } },
};

/**
 * How list elements are matched: by the patchMergeKey alone (a strategic merge patch), or by
 * every listMapKey, defaults filled in (server-side apply's merge of an applied configuration).
 */
export type ElementKeys = "patchMergeKey" | "listMapKeys";

/** The keys that identify an element of a merged list. */
const keysOf = (strategy: PatchStrategy, by: ElementKeys): string[] => (by === "listMapKeys" ? strategy.mergeKeys! : [strategy.mergeKeys![0]!]);

/** Applies a strategic merge patch to `original` (not mutated). Throws StrategicMergeError on a malformed patch. */
export function applyStrategicMergePatch(original: unknown, patch: unknown, strategy: PatchStrategy = {}, by: ElementKeys = "patchMergeKey"): Obj {
  if (!isObj(patch)) throw new StrategicMergeError("the strategic merge patch must be a JSON object");
  const out = mergeMap(isObj(original) ? clone(original) : {}, patch, strategy, by);
  return out ?? {};
}

/** Returns undefined when the map itself is deleted (`$patch: delete`). */
function mergeMap(original: Obj, patch: Obj, strategy: PatchStrategy, by: ElementKeys): Obj | undefined {
  const directive = patch[PATCH];
  if (directive !== undefined) {
    if (directive === "delete") return undefined;
    if (directive === "replace") {
      const { [PATCH]: _drop, ...rest } = patch;
      return mergeMap({}, rest, strategy, by);
    }
    if (directive !== "merge")
      throw new StrategicMergeError(
        `Unknown patch type: ${typeof directive === "string" ? directive : JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`,
      );
  }
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === "string"))
      throw new StrategicMergeError(`invalid type for ${RETAIN_KEYS}: must be a list of strings`);
    for (const k of Object.keys(original)) if (!retain.includes(k)) delete original[k];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(value)) throw new StrategicMergeError(`invalid type for ${key}: must be a list`);
      const cur = ownValue(original, field);
      if (Array.isArray(cur))
        setOwn(
          original,
          field,
          cur.filter((v) => !value.some((d) => sameValue(d, v))),
        );
      continue;
    }
    const child = fieldStrategy(strategy, key);
    if (value === null) {
      delete original[key];
      continue;
    }
    const cur = ownValue(original, key);
    if (isObj(value)) {
      const merged = mergeMap(isObj(cur) ? cur : {}, value, child, by);
      if (merged === undefined) delete original[key];
      else setOwn(original, key, merged);
    } else if (Array.isArray(value)) {
      setOwn(original, key, mergeList(Array.isArray(cur) ? cur : [], value, child, ownValue(patch, SET_ORDER + key), by));
    } else {
      setOwn(original, key, clone(value));
    }
  }
  // A $setElementOrder for a list the patch does not otherwise touch still reorders it.
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const list = ownValue(original, field);
    if (hasOwn(patch, field) || !Array.isArray(list)) continue;
    setOwn(original, field, reorder(list, order, fieldStrategy(strategy, field), by));
  }
  return original;
}

function mergeList(original: unknown[], patch: unknown[], strategy: PatchStrategy, order: unknown, by: ElementKeys): unknown[] {
  // A list without a merge strategy is atomic: the patch replaces it (directives inside are still applied).
  if (!strategy.mergeKeys && !strategy.set) return patch.map((v) => stripDirectives(v, strategy.items ?? {}, by));
  if (strategy.set) {
    const out = [...original];
    for (const v of patch) if (!out.some((o) => sameValue(o, v))) out.push(clone(v));
    return order === undefined ? out : reorder(out, order, strategy, by);
  }
  if (patch.some((e) => isObj(e) && e[PATCH] === "replace")) {
    return reorderIfAsked(
      patch.filter((e) => !(isObj(e) && e[PATCH] === "replace")).map((v) => stripDirectives(v, strategy.items ?? {}, by)),
      order,
      strategy,
      by,
    );
  }
  const out = original.map((e) => clone(e));
  for (const element of patch) {
    if (!isObj(element)) throw new StrategicMergeError(`expected a map in the list with merge key ${strategy.mergeKeys![0]}, got ${JSON.stringify(element)}`);
    const primary = strategy.mergeKeys![0]!;
    if (!(primary in element)) throw new StrategicMergeError(`map: ${JSON.stringify(element)} does not contain declared merge key: ${primary}`);
    const i = findElement(out, element, strategy, by);
    if (element[PATCH] === "delete") {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) {
      const merged = mergeMap(out[i] as Obj, element, strategy.items ?? {}, by);
      if (merged === undefined) out.splice(i, 1);
      else out[i] = merged;
    } else {
      const added = mergeMap({}, element, strategy.items ?? {}, by);
      if (added) out.push(added);
    }
  }
  return reorderIfAsked(out, order, strategy, by);
}

const reorderIfAsked = (list: unknown[], order: unknown, strategy: PatchStrategy, by: ElementKeys): unknown[] =>
  order === undefined ? list : reorder(list, order, strategy, by);

/**
 * The index of the element `probe` names: every key the probe carries must match. By
 * listMapKeys, a probe without a defaulted key (a port without protocol) prefers the
 * element that has the default (TCP), then any element with the same primary key.
 */
function findElement(list: unknown[], probe: Obj, strategy: PatchStrategy, by: ElementKeys): number {
  const keys = keysOf(strategy, by);
  const defaults = strategy.keyDefaults ?? {};
  const value = (e: Obj, k: string): unknown => (e[k] === undefined ? defaults[k] : e[k]);
  const present = keys.filter((k) => probe[k] !== undefined);
  const exact = list.findIndex((e) => isObj(e) && keys.every((k) => sameValue(value(e, k), value(probe, k))));
  if (exact >= 0 || present.length === keys.length) return exact;
  return list.findIndex((e) => isObj(e) && present.every((k) => sameValue(e[k], probe[k])));
}

/** $setElementOrder: listed elements in the listed order, then the ones it does not mention, in their previous order. */
function reorder(list: unknown[], order: unknown, strategy: PatchStrategy, by: ElementKeys): unknown[] {
  if (!Array.isArray(order)) throw new StrategicMergeError("invalid type for $setElementOrder: must be a list");
  const remaining = [...list];
  const out: unknown[] = [];
  for (const entry of order) {
    const i = strategy.mergeKeys && isObj(entry) ? findElement(remaining, entry, strategy, by) : remaining.findIndex((v) => sameValue(v, entry));
    if (i >= 0) out.push(...remaining.splice(i, 1));
  }
  return [...out, ...remaining];
}

function stripDirectives(v: unknown, strategy: PatchStrategy, by: ElementKeys): unknown {
  if (isObj(v)) return mergeMap({}, v, strategy, by) ?? {};
  if (Array.isArray(v)) return v.map((e) => stripDirectives(e, strategy.items ?? {}, by));
  return clone(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
