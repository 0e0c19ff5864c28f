// JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902) for PATCH requests
// (`application/merge-patch+json`, `application/json-patch+json`). Neither
// function mutates its inputs; JSON Patch failures are returned, worded like
// the evanphx/json-patch errors the apiserver passes through.
import { hasOwn, isObject, ownValue, PROTOTYPE_KEY, setOwn } from "./plain-data";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type PatchResult = { ok: true; value: unknown } | { ok: false; message: string; tooLarge?: true };

const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/** kube-apiserver's maxJSONPatchOperations: a longer JSON patch is refused before it runs (413). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;
/**
 * kube-apiserver's --json-patch-max-copy-bytes default (3 MiB, its request body limit):
 * what all "copy" operations of one patch may add, so that a short patch cannot
 * double a document into gigabytes.
 */
export const JSON_PATCH_MAX_COPY_BYTES = 3 * 1024 * 1024;

/** RFC 7396: objects merge key by key, null deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, applyMergePatch(ownValue(out, k), v));
  }
  return out;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---- RFC 6902 ----

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

class PatchError extends Error {}

/** RFC 6901: "/a~1b/c~0d" → ["a/b", "c~d"]. */
function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(`JSON pointer must be empty or start with a "/": ${JSON.stringify(pointer)}`);
  const tokens = pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (tokens.includes(PROTOTYPE_KEY)) throw new PatchError(`JSON pointer ${JSON.stringify(pointer)} names "${PROTOTYPE_KEY}", which is not allowed`);
  return tokens;
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function arrayIndex(arr: unknown[], token: string, allowEnd: boolean): number {
  if (allowEnd && token === "-") return arr.length;
  if (!ARRAY_INDEX.test(token)) throw new PatchError(`Unable to access invalid index: ${token}: invalid index referenced`);
  const i = Number(token);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw new PatchError(`Unable to access invalid index: ${i}: invalid index referenced`);
  return i;
}

/** The container holding the last token of `path`, or undefined when some step is missing. */
function parentOf(doc: unknown, tokens: string[]): unknown {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      if (!ARRAY_INDEX.test(t) || Number(t) >= cur.length) return undefined;
      cur = cur[Number(t)];
    } else if (isObject(cur) && hasOwn(cur, t)) {
      cur = cur[t];
    } else {
      return undefined;
    }
  }
  return cur;
}

function get(doc: unknown, tokens: string[]): { found: boolean; value?: unknown } {
  if (tokens.length === 0) return { found: true, value: doc };
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    if (!ARRAY_INDEX.test(last) || Number(last) >= parent.length) return { found: false };
    return { found: true, value: parent[Number(last)] };
  }
  if (isObject(parent) && hasOwn(parent, last)) return { found: true, value: parent[last] };
  return { found: false };
}

/** Each operation returns the new document (only a root-level change replaces it). */
function add(doc: unknown, path: string, value: unknown, opName = "add"): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) setOwn(parent, last, value);
  else throw new PatchError(`${opName} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  return doc;
}

function remove(doc: unknown, path: string, opName = "remove"): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return null;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isObject(parent) && hasOwn(parent, last)) delete parent[last];
  else throw new PatchError(`${opName} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  return doc;
}

/** The copies one patch has made so far, in JSON bytes. */
interface CopyBudget {
  used: number;
}

function applyOperation(doc: unknown, op: Operation, copies: CopyBudget): unknown {
  switch (op.op) {
    case "add":
      return add(doc, op.path, clone(op.value));
    case "remove":
      return remove(doc, op.path);
    case "replace": {
      if (!get(doc, parsePointer(op.path)).found) {
        throw new PatchError(`replace operation does not apply: doc is missing key: ${op.path}: missing value`);
      }
      return add(remove(doc, op.path, "replace"), op.path, clone(op.value), "replace");
    }
    case "move": {
      const from = requireFrom(op);
      if (op.path.startsWith(`${from}/`)) throw new PatchError(`move operation does not apply: cannot move ${from} into its own child ${op.path}`);
      const src = get(doc, parsePointer(from));
      if (!src.found) throw new PatchError(`move operation does not apply: doc is missing from path: ${from}: missing value`);
      return add(remove(doc, from, "move"), op.path, src.value, "move");
    }
    case "copy": {
      const src = get(doc, parsePointer(requireFrom(op)));
      if (!src.found) throw new PatchError(`copy operation does not apply: doc is missing from path: ${op.from}: missing value`);
      copies.used += JSON.stringify(src.value)?.length ?? 0;
      if (copies.used > JSON_PATCH_MAX_COPY_BYTES)
        throw new PatchError(`Unable to copy, accumulated size increase of copy operations exceeds ${JSON_PATCH_MAX_COPY_BYTES}`);
      return add(doc, op.path, clone(src.value), "copy");
    }
    case "test": {
      const cur = get(doc, parsePointer(op.path));
      if (!cur.found) throw new PatchError(`test operation does not apply: is missing path: ${op.path}: missing value`);
      if (!deepEqual(cur.value, op.value)) throw new PatchError(`testing value ${op.path} failed: test failed`);
      return doc;
    }
    default:
      throw new PatchError(`Unexpected kind: ${op.op}`);
  }
}

function requireFrom(op: Operation): string {
  if (typeof op.from !== "string") throw new PatchError(`${op.op} operation does not apply: from is missing`);
  return op.from;
}

function checkOperation(raw: unknown, i: number): Operation {
  if (!isObject(raw)) throw new PatchError(`invalid JSON Patch: operation ${i} is not an object`);
  if (typeof raw.op !== "string") throw new PatchError(`invalid JSON Patch: operation ${i} has no "op"`);
  if (typeof raw.path !== "string") throw new PatchError(`${raw.op} operation does not apply: path is missing`);
  if ((raw.op === "add" || raw.op === "replace" || raw.op === "test") && !("value" in raw)) {
    throw new PatchError(`${raw.op} operation does not apply: value is missing`);
  }
  return raw as unknown as Operation;
}

/** RFC 6902: applies `ops` in order to a copy of `target`; the first failure aborts the whole patch. */
export function applyJsonPatch(target: unknown, ops: unknown): PatchResult {
  if (!Array.isArray(ops)) return { ok: false, message: "invalid JSON Patch: the patch must be a JSON array of operations" };
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    return { ok: false, tooLarge: true, message: `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}` };
  try {
    let doc = clone(target);
    const copies: CopyBudget = { used: 0 };
    ops.forEach((raw, i) => {
      doc = applyOperation(doc, checkOperation(raw, i), copies);
    });
    return { ok: true, value: doc };
  } catch (e) {
    if (e instanceof PatchError) return { ok: false, message: e.message };
    throw e;
  }
}
