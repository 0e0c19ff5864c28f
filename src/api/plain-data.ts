// Data from outside is data. Request bodies, patches and stored objects are
// plain JSON values whose keys are chosen by callers, so no key may reach an
// object's prototype: `out["__proto__"] = v` replaces a prototype, and a read of
// `obj["constructor"]` that is not an own property answers with a function.
// Every merge, patch and decode path reads and writes keys through these helpers.

export type PlainObject = Record<string, unknown>;

/** The key that, assigned through `[]`, changes an object's prototype instead of adding a field. */
export const PROTOTYPE_KEY = "__proto__";

/**
 * Deepest nesting of objects and arrays a request body may have. Kubernetes objects
 * nest about fifteen levels (managedFields included); recursion over a body must
 * not be able to exhaust the stack.
 */
export const MAX_NESTING_DEPTH = 100;

export const isObject = (v: unknown): v is PlainObject => typeof v === "object" && v !== null && !Array.isArray(v);

export const hasOwn = (o: object, key: string): boolean => Object.hasOwn(o, key);

/** `o[key]` when `key` is o's own property, else undefined (never a value a prototype supplies). */
export function ownValue(o: unknown, key: string): unknown {
  return typeof o === "object" && o !== null && hasOwn(o, key) ? (o as PlainObject)[key] : undefined;
}

/** `o[key] = value` as a data property, also for `__proto__`: never a prototype change. */
export function setOwn(o: PlainObject, key: string, value: unknown): void {
  if (key === PROTOTYPE_KEY) Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** A copy of a policy or options record whose missing fields read as undefined, whatever Object.prototype holds. */
export function withoutPrototype<T extends object>(o: T): T {
  return Object.assign(Object.create(null) as T, o);
}

/**
 * Why a parsed body cannot be accepted, or undefined: a `__proto__` key anywhere
 * (no Kubernetes field or valid label, annotation or map key has that name),
 * nesting deeper than MAX_NESTING_DEPTH, or a value JSON cannot carry (YAML's
 * tags make Symbols, Sets, Maps, Dates and byte arrays; `.inf` and 1e400 are
 * Infinity). Iterative, so a hostile body cannot overflow the stack while being checked.
 */
export function unsafeDataReason(value: unknown): string | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: "" }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    const notJson = notJsonValue(v);
    if (notJson) return `${notJson} is not JSON data (at ${path || "the root"})`;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= MAX_NESTING_DEPTH) return `the object nests deeper than ${MAX_NESTING_DEPTH} levels at ${path || "the root"}`;
    if (Array.isArray(v)) {
      v.forEach((e, i) => stack.push({ v: e, depth: depth + 1, path: `${path}[${i}]` }));
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = path ? `${path}.${key}` : key;
      if (key === PROTOTYPE_KEY) return `the key "${PROTOTYPE_KEY}" is not allowed (at ${at})`;
      stack.push({ v: (v as PlainObject)[key], depth: depth + 1, path: at });
    }
  }
  return undefined;
}

/** What a value is when JSON has no such value (`undefined` is allowed: it stands for an absent field). */
function notJsonValue(v: unknown): string | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? undefined : String(v);
  if (typeof v === "symbol" || typeof v === "bigint" || typeof v === "function") return `a ${typeof v}`;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  // A Set, Map, Date or Uint8Array from a YAML tag; a plain or null-prototype object says "Object".
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  return tag === "Object" ? undefined : `a ${tag}`;
}
