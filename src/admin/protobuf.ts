// Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf), for
// the requests kubectl sends with its typed clients: `kubectl create namespace`
// and `kubectl create service ...` POST protobuf and cannot fall back to JSON.
// The envelope is the 4-byte magic "k8s\0" and a runtime.Unknown; the message
// layouts below follow k8s.io/api core/v1 generated.proto. Decoding yields the
// JSON shape (empty values dropped, as JSON's omitempty would), which then goes
// through the same admission as a JSON body.
import { ownValue, setOwn, type PlainObject as Obj } from "../api/plain-data";

export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

type FieldKind = "string" | "int" | "bool" | { message: MessageLayout } | { map: true } | "intOrString";
interface FieldDef {
  name: string;
  kind: FieldKind;
  repeated?: boolean;
}
type MessageLayout = Record<number, FieldDef>;

export class ProtobufError extends Error {}

const f = (name: string, kind: FieldKind, repeated = false): FieldDef => ({ name, kind, repeated });

const TIME: MessageLayout = { 1: f("seconds", "int"), 2: f("nanos", "int") };
const OWNER_REFERENCE: MessageLayout = {
  1: f("kind", "string"),
  3: f("name", "string"),
  4: f("uid", "string"),
  5: f("apiVersion", "string"),
  6: f("controller", "bool"),
  7: f("blockOwnerDeletion", "bool"),
};
const OBJECT_META: MessageLayout = {
  1: f("name", "string"),
  2: f("generateName", "string"),
  3: f("namespace", "string"),
  5: f("uid", "string"),
  6: f("resourceVersion", "string"),
  7: f("generation", "int"),
  8: f("creationTimestamp", { message: TIME }),
  11: f("labels", { map: true }),
  12: f("annotations", { map: true }),
  13: f("ownerReferences", { message: OWNER_REFERENCE }, true),
  14: f("finalizers", "string", true),
};
const SERVICE_PORT: MessageLayout = {
  1: f("name", "string"),
  2: f("protocol", "string"),
  3: f("port", "int"),
  4: f("targetPort", "intOrString"),
  5: f("nodePort", "int"),
  6: f("appProtocol", "string"),
};
const SESSION_AFFINITY_CONFIG: MessageLayout = { 1: f("clientIP", { message: { 1: f("timeoutSeconds", "int") } }) };
const SERVICE_SPEC: MessageLayout = {
  1: f("ports", { message: SERVICE_PORT }, true),
  2: f("selector", { map: true }),
  3: f("clusterIP", "string"),
  4: f("type", "string"),
  5: f("externalIPs", "string", true),
  7: f("sessionAffinity", "string"),
  9: f("loadBalancerSourceRanges", "string", true),
  10: f("externalName", "string"),
  11: f("externalTrafficPolicy", "string"),
  12: f("healthCheckNodePort", "int"),
  13: f("publishNotReadyAddresses", "bool"),
  14: f("sessionAffinityConfig", { message: SESSION_AFFINITY_CONFIG }),
  17: f("ipFamilyPolicy", "string"),
  18: f("clusterIPs", "string", true),
  19: f("ipFamilies", "string", true),
  20: f("allocateLoadBalancerNodePorts", "bool"),
  21: f("loadBalancerClass", "string"),
  22: f("internalTrafficPolicy", "string"),
  23: f("trafficDistribution", "string"),
};

/** The kinds svcedge accepts as protobuf; a protobuf body of any other kind is 415 Unsupported Media Type. */
const KINDS: Record<string, MessageLayout> = {
  Namespace: { 1: f("metadata", { message: OBJECT_META }), 2: f("spec", { message: { 1: f("finalizers", "string", true) } }) },
  Service: { 1: f("metadata", { message: OBJECT_META }), 2: f("spec", { message: SERVICE_SPEC }) },
};
const UNKNOWN: MessageLayout = { 1: f("typeMeta", { message: { 1: f("apiVersion", "string"), 2: f("kind", "string") } }), 2: f("raw", "string") };

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new ProtobufError("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new ProtobufError("varint too long");
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw new ProtobufError("truncated length-delimited field");
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
  }
}

const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeMessage(bytes: Uint8Array, layout: MessageLayout, raw = false): Obj {
  const r = new Reader(bytes);
  const out: Obj = {};
  while (r.pos < r.end) {
    const key = Number(r.varint());
    const field = key >>> 3;
    const wire = key & 7;
    const def = layout[field];
    if (!def) {
      r.skip(wire);
      continue;
    }
    const value = readValue(r, wire, def, raw);
    if (def.repeated) ((out[def.name] ??= []) as unknown[]).push(value);
    else if (typeof def.kind === "object" && "map" in def.kind) {
      const map = (out[def.name] ??= {}) as Obj;
      for (const [k, v] of Object.entries(value as Obj)) setOwn(map, k, v);
    } else out[def.name] = value;
  }
  return out;
}

function readValue(r: Reader, wire: number, def: FieldDef, raw: boolean): unknown {
  const kind = def.kind;
  if (kind === "int" || kind === "bool") {
    if (wire !== 0) throw new ProtobufError(`field ${def.name}: expected a varint`);
    const v = BigInt.asIntN(64, r.varint());
    return kind === "bool" ? v !== 0n : Number(v);
  }
  if (wire !== 2) throw new ProtobufError(`field ${def.name}: expected a length-delimited value`);
  const bytes = r.bytes();
  if (kind === "string") return raw ? bytes : text.decode(bytes);
  if (kind === "intOrString") {
    const v = decodeMessage(bytes, { 1: f("type", "int"), 2: f("intVal", "int"), 3: f("strVal", "string") });
    return v.type === 1 ? (v.strVal ?? "") : (v.intVal ?? 0);
  }
  if ("map" in kind) {
    const entry = decodeMessage(bytes, { 1: f("key", "string"), 2: f("value", "string") });
    return { [String(entry.key ?? "")]: entry.value ?? "" };
  }
  return decodeMessage(bytes, kind.message);
}

/** Drops the zero values Go's proto encoder writes for unset fields, as JSON omitempty would. */
function omitEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(omitEmpty);
  if (v && typeof v === "object") {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v as Obj)) {
      const c = omitEmpty(x);
      if (c === "" || c === 0 || c === false || c === undefined) continue;
      setOwn(out, k, c);
    }
    return out;
  }
  return v;
}

/** Decodes a Kubernetes protobuf body into the object's JSON form. */
export function decodeKubernetesProtobuf(body: Uint8Array): Obj {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b))
    throw new ProtobufError("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
  const unknown = decodeMessage(body.subarray(MAGIC.length), UNKNOWN, true);
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const kind = typeMeta.kind ?? "";
  const layout = ownValue(KINDS, kind) as MessageLayout | undefined;
  if (!layout) throw new ProtobufError(`svcedge accepts protobuf only for ${Object.keys(KINDS).join(", ")}; send ${kind || "this object"} as application/json`);
  const object = omitEmpty(decodeMessage((unknown.raw as Uint8Array | undefined) ?? new Uint8Array(), layout)) as Obj;
  const meta = object.metadata as Obj | undefined;
  if (meta?.creationTimestamp) delete meta.creationTimestamp;
  return { apiVersion: typeMeta.apiVersion, kind, ...object };
}
