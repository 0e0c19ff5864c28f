// ObjectMeta validation: a port of apimachinery's ValidateObjectMeta and
// ValidateObjectMetaUpdate, plus core's finalizer-name rule.
import {
  FIELD_IMMUTABLE,
  IS_NEGATIVE,
  MAX_LABELS_PER_OBJECT,
  TOTAL_ANNOTATION_SIZE_LIMIT_BYTES,
  fieldTooLong,
  fieldTooMany,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
} from "./apimachinery-validation";
import { fieldForbidden, fieldInvalid, fieldRequired } from "./status";
import type { ObjectMeta, OwnerReference, StatusCause } from "./types";

/** Returns the reasons a name is invalid; `prefix` is true for generateName, which may end in '-'. */
export type NameValidator = (name: string, prefix: boolean) => string[];

// A generateName prefix may end with '-' because a random suffix follows it.
const maskTrailingDash = (name: string): string => (name.length > 1 && name.endsWith("-") ? `${name.slice(0, -1)}a` : name);

export const nameIsDNSSubdomain: NameValidator = (name, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
export const nameIsDNSLabel: NameValidator = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);
export const nameIsDNS1035Label: NameValidator = (name, prefix) => isDNS1035Label(prefix ? maskTrailingDash(name) : name);

const utf8 = new TextEncoder();

/** Finalizer names Kubernetes knows without a domain prefix. */
const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

export function validateLabels(labels: Record<string, string> | undefined, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!labels) return errs;
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS_PER_OBJECT) return [fieldTooMany(path, entries.length, MAX_LABELS_PER_OBJECT)];
  for (const [k, v] of entries) {
    for (const msg of isQualifiedName(k)) errs.push(fieldInvalid(path, k, msg));
    for (const msg of isValidLabelValue(v)) errs.push(fieldInvalid(path, v, msg));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!annotations) return errs;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(fieldInvalid(path, k, msg));
    size += utf8.encode(k).length + utf8.encode(v).length;
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) errs.push(fieldTooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES));
  return errs;
}

function validateOwnerReferences(refs: OwnerReference[] | undefined, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const ref of refs ?? []) {
    const version = ref.apiVersion.includes("/") ? ref.apiVersion.slice(ref.apiVersion.indexOf("/") + 1) : ref.apiVersion;
    if (!version) errs.push(fieldInvalid(`${path}.apiVersion`, ref.apiVersion, "version must not be empty"));
    if (!ref.kind) errs.push(fieldInvalid(`${path}.kind`, ref.kind, "kind must not be empty"));
    if (!ref.name) errs.push(fieldInvalid(`${path}.name`, ref.name, "name must not be empty"));
    if (!ref.uid) errs.push(fieldInvalid(`${path}.uid`, ref.uid, "uid must not be empty"));
  }
  return errs;
}

function validateFinalizers(finalizers: string[] | undefined, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const f of finalizers ?? []) {
    for (const msg of isQualifiedName(f)) errs.push(fieldInvalid(path, f, msg));
    if (!f.includes("/") && !STANDARD_FINALIZERS.has(f)) {
      errs.push(fieldInvalid(path, f, "name is neither a standard finalizer name nor is it fully qualified"));
    }
  }
  return errs;
}

export function validateObjectMeta(meta: ObjectMeta, requiresNamespace: boolean, nameFn: NameValidator, path = "metadata"): StatusCause[] {
  const errs: StatusCause[] = [];
  if (meta.generateName) {
    for (const msg of nameFn(meta.generateName, true)) errs.push(fieldInvalid(`${path}.generateName`, meta.generateName, msg));
  }
  if (!meta.name) {
    errs.push(fieldRequired(`${path}.name`, "name or generateName is required"));
  } else {
    for (const msg of nameFn(meta.name, false)) errs.push(fieldInvalid(`${path}.name`, meta.name, msg));
  }
  if (requiresNamespace) {
    if (!meta.namespace) errs.push(fieldRequired(`${path}.namespace`));
    else for (const msg of nameIsDNSLabel(meta.namespace, false)) errs.push(fieldInvalid(`${path}.namespace`, meta.namespace, msg));
  } else if (meta.namespace) {
    errs.push(fieldForbidden(`${path}.namespace`, "not allowed on this type"));
  }
  if (meta.generation !== undefined && meta.generation < 0) errs.push(fieldInvalid(`${path}.generation`, meta.generation, IS_NEGATIVE));
  errs.push(...validateLabels(meta.labels, `${path}.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(meta.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(meta.finalizers, `${path}.finalizers`));
  return errs;
}

/** name, namespace, uid and creationTimestamp never change once an object exists. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta, path = "metadata"): StatusCause[] {
  const errs: StatusCause[] = [];
  const immutable = ["name", "namespace", "uid", "creationTimestamp"] as const;
  for (const key of immutable) {
    if ((meta[key] ?? "") !== (old[key] ?? "")) errs.push(fieldInvalid(`${path}.${key}`, meta[key] ?? "", FIELD_IMMUTABLE));
  }
  return errs;
}
