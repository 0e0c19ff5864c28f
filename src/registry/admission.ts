// Admission: turn a request body into the object to write, as the apiserver's
// REST handlers do: decode, reconcile metadata with the URL and the stored object,
// default, then validate. Nothing here touches storage.
import { decode, jsonKind } from "../api/decode";
import { setDefaults } from "../api/defaults";
import { validateCreate, validateStatusUpdate, validateUpdate } from "../api/validate";
import { validateAnnotations, validateLabels } from "../api/validate-meta";
import { badRequest, fieldInvalid, fieldRequired, invalid } from "../api/status";
import type { KubeObject, Lease, Service, Status, StatusCause } from "../api/types";
import { NODE_LEASE_NAMESPACE } from "../api/types";
import type { ResourceDef } from "./resources";

export type Admitted = { ok: true; object: KubeObject; unknownFields: string[]; warnings: string[] };

export interface AdmitContext {
  /** Namespace from the URL ("" for cluster-scoped). */
  namespace: string;
  /** Name from the URL (updates and patches). */
  name?: string;
  /** The stored object (updates and patches). */
  current?: KubeObject;
  subresource?: string;
  /**
   * After defaulting, before validation: what needs the cluster's configuration (the strategy's
   * initialize, as kube-apiserver's BeginCreate/BeginUpdate). Causes refuse the write alone, as there.
   */
  initialize?: (obj: KubeObject, current: KubeObject | undefined) => StatusCause[];
  /** Validation is the caller's, after it allocated (kube-apiserver validates after BeginCreate/BeginUpdate). */
  deferValidation?: boolean;
}

const NAME_REQUIRED = fieldRequired("metadata.name", "name or generateName is required");

/** Random suffix length of generateName, as the apiserver (5 characters). */
const GENERATED_SUFFIX = 5;
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export function admit(r: ResourceDef, body: unknown, ctx: AdmitContext): Admitted | { ok: false; status: Status } {
  if (!body || typeof body !== "object" || Array.isArray(body))
    return { ok: false, status: badRequest("the body of the request must be a JSON or YAML object") };
  const raw = { ...(body as Record<string, unknown>) };
  const kindMismatch = typeMismatch(r, raw);
  if (kindMismatch) return { ok: false, status: kindMismatch };
  raw.apiVersion ??= r.apiVersion;
  raw.kind ??= r.kind;

  let obj: KubeObject;
  let unknownFields: string[] = [];
  if (r.info) {
    const decoded = decode(r.info.kind, raw);
    if (!decoded.ok) return { ok: false, status: badRequest(decoded.message) };
    obj = decoded.object;
    unknownFields = decoded.unknownFields;
  } else {
    const lease = decodeLease(raw);
    if ("status" in lease) return { ok: false, status: lease.status };
    const metaCauses = [
      ...validateLabels(lease.metadata.labels, "metadata.labels"),
      ...validateAnnotations(lease.metadata.annotations, "metadata.annotations"),
    ];
    if (metaCauses.length > 0) return { ok: false, status: invalid("Lease", String(lease.metadata.name ?? ""), metaCauses, "coordination.k8s.io") };
    obj = lease;
  }
  obj.metadata ??= {};

  const nsStatus = reconcileNamespace(r, obj, ctx);
  if (nsStatus) return { ok: false, status: nsStatus };

  if (ctx.current) {
    // As the apiserver's checkName: a missing name does not match either.
    if (obj.metadata.name !== ctx.name)
      return { ok: false, status: badRequest(`the name of the object (${obj.metadata.name ?? ""}) does not match the name on the URL (${ctx.name})`) };
    obj = mergeWithCurrent(obj, ctx.current, ctx.subresource);
  } else {
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomSuffix();
    // Validation reports a missing name with the object's other faults, as kube-apiserver's (below); a Lease has none.
    if (!obj.metadata.name && !r.info) return { ok: false, status: invalid(r.kind, "", [NAME_REQUIRED], r.group) };
    for (const f of ["uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"] as const)
      delete obj.metadata[f];
    if (r.resource === "services") delete (obj as Service).status;
  }

  if (r.info) {
    setDefaults(obj, ctx.current);
    const initCauses = ctx.subresource === "status" ? [] : (ctx.initialize?.(obj, ctx.current) ?? []);
    if (initCauses.length > 0) return { ok: false, status: invalid(r.kind, obj.metadata.name!, initCauses, r.group) };
    // A nameless object is never allocated for (nothing to key it on): it is validated here, and refused.
    const nameless = !obj.metadata.name;
    const causes: StatusCause[] =
      ctx.subresource === "status"
        ? validateStatusUpdate(obj, ctx.current!)
        : ctx.deferValidation && !nameless
          ? []
          : !ctx.current
            ? validateCreate(obj)
            : validateUpdate(obj, ctx.current);
    if (nameless && !causes.some((c) => c.field === "metadata.name")) causes.unshift(NAME_REQUIRED);
    if (causes.length > 0) return { ok: false, status: invalid(r.kind, obj.metadata.name ?? "", causes, r.group) };
  }
  return { ok: true, object: obj, unknownFields, warnings: unknownFields.map((f) => `unknown field "${f.replace(/^\./, "")}"`) };
}

/** A body (or an applied configuration) of another kind or version; TypeMeta that is not strings fails to decode, as in Go. */
export function typeMismatch(r: ResourceDef, raw: Record<string, unknown>): Status | undefined {
  const kind = raw.kind;
  const apiVersion = raw.apiVersion;
  for (const [field, v] of [
    ["apiVersion", apiVersion],
    ["kind", kind],
  ] as const)
    if (v !== undefined && v !== null && typeof v !== "string")
      return badRequest(`couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonKind(v)} into Go struct field .${field} of type string`);
  if ((kind !== undefined && kind !== r.kind) || (apiVersion !== undefined && apiVersion !== r.apiVersion))
    return badRequest(
      `the API version in the data (${String(apiVersion ?? "")}) does not match the expected API version (${r.apiVersion}), or the kind (${String(kind ?? "")}) is not ${r.kind}`,
    );
  return undefined;
}

function reconcileNamespace(r: ResourceDef, obj: KubeObject, ctx: AdmitContext): Status | undefined {
  if (!r.namespaced) {
    delete obj.metadata.namespace;
    return undefined;
  }
  if (obj.metadata.namespace && ctx.namespace && obj.metadata.namespace !== ctx.namespace)
    return badRequest("the namespace of the provided object does not match the namespace sent on the request");
  obj.metadata.namespace = obj.metadata.namespace || ctx.namespace || (r.resource === "leases" ? NODE_LEASE_NAMESPACE : "default");
  return undefined;
}

/**
 * Updates keep the system-owned metadata of the stored object. The main resource
 * keeps the stored status; the /status subresource keeps the stored spec and metadata.
 */
function mergeWithCurrent(next: KubeObject, current: KubeObject, subresource?: string): KubeObject {
  const rv = next.metadata.resourceVersion;
  if (subresource === "status") {
    const merged = structuredClone(current) as KubeObject & { status?: unknown };
    merged.status = (next as KubeObject & { status?: unknown }).status;
    merged.metadata.resourceVersion = rv;
    return merged;
  }
  const merged = next as KubeObject & { status?: unknown };
  // A uid the request sets is kept, so that validation refuses a changed one as immutable (422).
  for (const f of ["uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"] as const) {
    if (f === "uid" && merged.metadata.uid) continue;
    if (current.metadata[f] !== undefined) (merged.metadata as Record<string, unknown>)[f] = current.metadata[f];
    else delete merged.metadata[f];
  }
  const currentStatus = (current as KubeObject & { status?: unknown }).status;
  if (currentStatus !== undefined) merged.status = structuredClone(currentStatus);
  else delete merged.status;
  return merged;
}

function decodeLease(raw: Record<string, unknown>): Lease | { status: Status } {
  const meta = (raw.metadata ?? {}) as Record<string, unknown>;
  const spec = (raw.spec ?? {}) as Record<string, unknown>;
  const causes: StatusCause[] = [];
  if (typeof meta !== "object") causes.push(fieldInvalid("metadata", meta, "must be an object"));
  // The typed kinds' schemas check these; a name that is no string would reach storage keys and messages.
  for (const f of ["name", "generateName", "namespace", "uid", "resourceVersion"])
    if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== "string") causes.push(fieldInvalid(`metadata.${f}`, meta[f], "must be a string"));
  const duration = spec.leaseDurationSeconds;
  if (duration !== undefined && (typeof duration !== "number" || !Number.isInteger(duration) || duration <= 0))
    causes.push(fieldInvalid("spec.leaseDurationSeconds", duration, "must be greater than 0"));
  for (const f of ["holderIdentity", "renewTime", "acquireTime"])
    if (spec[f] !== undefined && spec[f] !== null && typeof spec[f] !== "string") causes.push(fieldInvalid(`spec.${f}`, spec[f], "must be a string"));
  if (causes.length > 0) return { status: invalid("Lease", typeof meta.name === "string" ? meta.name : "", causes, "coordination.k8s.io") };
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: structuredClone(meta), spec: structuredClone(spec) } as Lease;
}

function randomSuffix(): string {
  let s = "";
  const bytes = crypto.getRandomValues(new Uint8Array(GENERATED_SUFFIX));
  for (const b of bytes) s += ALPHANUMS[b % ALPHANUMS.length];
  return s;
}
