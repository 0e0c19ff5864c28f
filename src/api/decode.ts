// Decoding a request body into a typed object, as the apiserver's JSON decoder
// does: unknown fields are dropped and reported (strict decoding), JSON nulls
// mean "unset", and a value of the wrong JSON type fails with Go's wording.
import { RESOURCES, type Kind } from "./resources";
import { SCHEMAS, goTypeOf, nodeOf, type SchemaNode } from "./schemas";
import type { KubeObject, StatusCause } from "./types";
import type { z } from "zod/mini";
import { isObject as isPlainObject, ownValue, setOwn } from "./plain-data";

export type DecodeResult =
  | { ok: true; object: KubeObject; unknownFields: string[] }
  /** `message` is the apiserver's 400 message, e.g. `Service in version "v1" cannot be handled as a Service: json: …`. */
  | { ok: false; causes: StatusCause[]; message: string };

/** The apiserver's message when strict field validation rejects unknown fields. */
export function strictDecodingMessage(kind: Kind, unknownFields: string[]): string {
  const info = RESOURCES[kind];
  return `${kind} in version "${info.version}" cannot be handled as a ${kind}: strict decoding error: ${unknownFields.map((f) => `unknown field "${f}"`).join(", ")}`;
}

export function decode(kind: Kind, raw: unknown): DecodeResult {
  const info = RESOURCES[kind];
  const schema = SCHEMAS[kind];
  const cannotHandle = (detail: string): string => `${kind} in version "${info.version}" cannot be handled as a ${kind}: ${detail}`;
  if (!isPlainObject(raw)) {
    const message = `json: cannot unmarshal ${jsonKind(raw)} into Go value of type ${goTypeOf(schema)}`;
    return { ok: false, causes: [{ reason: "FieldValueInvalid", message }], message: cannotHandle(message) };
  }
  if (typeof raw.apiVersion === "string" && raw.apiVersion !== "" && raw.apiVersion !== info.apiVersion) {
    const message = `the API version in the data (${raw.apiVersion}) does not match the expected API version (${info.apiVersion})`;
    return { ok: false, causes: [{ reason: "FieldValueInvalid", message, field: "apiVersion" }], message };
  }
  if (typeof raw.kind === "string" && raw.kind !== "" && raw.kind !== kind) {
    const detail = `the object kind "${raw.kind}" does not match the expected kind "${kind}"`;
    return { ok: false, causes: [{ reason: "FieldValueInvalid", message: detail, field: "kind" }], message: cannotHandle(detail) };
  }
  const unknownFields: string[] = [];
  const cleaned = clean(raw, schema, "", unknownFields);
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const causes = parsed.error.issues.map((issue) => typeErrorCause(schema, cleaned, issue.path));
    return { ok: false, causes, message: cannotHandle(causes[0]!.message!) };
  }
  const object = parsed.data as KubeObject;
  object.apiVersion = info.apiVersion;
  object.kind = kind;
  return { ok: true, object, unknownFields };
}

/** The JSON type of a value as Go's decoder names it in its errors ("object", "array", "bool", ...). */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "object") return "object";
  return typeof v;
}

const joinPath = (base: string, key: string): string => (base ? `${base}.${key}` : key);

/**
 * Copies `raw` without unknown fields (recording their paths the way strict
 * decoding names them, `spec.ports[0].foo`) and without nulls, which Go decodes
 * as "leave unset".
 */
function clean(raw: unknown, schema: z.ZodMiniType, path: string, unknown: string[]): unknown {
  const node: SchemaNode = nodeOf(schema);
  if (node.type === "object" && isPlainObject(raw)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      const child = ownValue(node.shape, key) as z.ZodMiniType | undefined;
      if (!child) unknown.push(joinPath(path, key));
      else if (value !== null) setOwn(out, key, clean(value, child, joinPath(path, key), unknown));
    }
    return out;
  }
  if (node.type === "array" && Array.isArray(raw)) {
    const elementIsObject = nodeOf(node.element).type === "object";
    return raw.map((v, i) => (v === null && elementIsObject ? {} : clean(v, node.element, `${path}[${i}]`, unknown)));
  }
  if (node.type === "map" && isPlainObject(raw)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) setOwn(out, key, value === null ? "" : clean(value, node.value, `${path}[${key}]`, unknown));
    return out;
  }
  return raw;
}

/** A zod issue worded as Go's json.UnmarshalTypeError, with a Kubernetes field path. */
function typeErrorCause(root: z.ZodMiniType, input: unknown, issuePath: PropertyKey[]): StatusCause {
  let schema: z.ZodMiniType = root;
  let value: unknown = input;
  let struct = goTypeOf(root);
  const fieldPath: string[] = [];
  const goPath: string[] = [];
  for (const seg of issuePath) {
    const node = nodeOf(schema);
    const field = node.type === "object" && typeof seg === "string" ? (ownValue(node.shape, seg) as z.ZodMiniType | undefined) : undefined;
    if (field) {
      struct = goTypeOf(schema);
      schema = field;
      fieldPath.push(fieldPath.length ? `.${String(seg)}` : String(seg));
      goPath.push(String(seg));
    } else if (node.type === "array" && typeof seg === "number") {
      schema = node.element;
      fieldPath.push(`[${seg}]`);
    } else if (node.type === "map") {
      schema = node.value;
      fieldPath.push(`[${String(seg)}]`);
    } else break;
    value = ownValue(value, String(seg));
  }
  const goType = goTypeOf(schema);
  const numeric = /^u?int/.test(goType) || goType === "intstr.IntOrString";
  const what = typeof value === "number" && numeric ? `number ${value}` : jsonKind(value);
  const structName = struct.replace(/^.*\./, "");
  const message = goPath.length
    ? `json: cannot unmarshal ${what} into Go struct field ${structName}.${goPath.join(".")} of type ${goType}`
    : `json: cannot unmarshal ${what} into Go value of type ${goType}`;
  return { reason: "FieldValueInvalid", message, field: fieldPath.join("") };
}
