// Kubernetes `Status` objects for every failure the API reports. Messages follow
// k8s.io/apimachinery/pkg/api/errors word for word, so kubectl prints what users expect.
import type { Status, StatusCause, StatusReason } from "./types";

export function status(code: number, reason: StatusReason | undefined, message: string, details?: Status["details"]): Status {
  const s: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: code < 400 ? "Success" : "Failure", message, code };
  if (reason) s.reason = reason;
  if (details) s.details = details;
  return s;
}

/** `resource` is the plural lower-case resource ("services"); `group` is "" for core. */
export const notFound = (resource: string, name: string, group = ""): Status =>
  status(404, "NotFound", `${qualified(resource, group)} "${name}" not found`, details(resource, name, group));

export const alreadyExists = (resource: string, name: string, group = ""): Status =>
  status(409, "AlreadyExists", `${qualified(resource, group)} "${name}" already exists`, details(resource, name, group));

export const conflict = (resource: string, name: string, reason: string, group = ""): Status =>
  status(409, "Conflict", `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${reason}`, details(resource, name, group));

export const STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again";

/** 422 Invalid: `kind` is the object kind ("Service"), as in `Service "x" is invalid: ...`. */
export function invalid(kind: string, name: string, causes: StatusCause[], group = ""): Status {
  const fieldErrors = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : (c.message ?? "")));
  const joined = fieldErrors.length === 1 ? fieldErrors[0] : `[${fieldErrors.join(", ")}]`;
  const s = status(422, "Invalid", `${kind}${group ? `.${group}` : ""} "${name}" is invalid: ${joined}`, {
    name,
    kind,
    causes,
  });
  if (group) s.details!.group = group;
  return s;
}

export const badRequest = (message: string): Status => status(400, "BadRequest", message);
export const unauthorized = (): Status => status(401, "Unauthorized", "Unauthorized");
export const forbidden = (user: string, verb: string, resource: string, group: string, scope: string, name?: string): Status =>
  status(
    403,
    "Forbidden",
    `${resource}${name ? ` "${name}"` : ""} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
    { kind: resource, ...(name ? { name } : {}), ...(group ? { group } : {}) },
  );
export const gone = (message: string): Status => status(410, "Expired", message);
export const methodNotAllowed = (): Status => status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
export const unsupportedMediaType = (contentType: string): Status =>
  status(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; got ${contentType}`,
  );
export const tooLarge = (limit: number): Status => status(413, "RequestEntityTooLarge", `the request body is larger than the limit of ${limit} bytes`);
export const internalError = (message: string): Status => status(500, "InternalError", `Internal error occurred: ${message}`);

export const fieldInvalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${formatValue(value)}: ${detail}`,
  field,
});
export const fieldRequired = (field: string, detail = ""): StatusCause => ({
  reason: "FieldValueRequired",
  message: detail ? `Required value: ${detail}` : "Required value",
  field,
});
export const fieldDuplicate = (field: string, value: unknown): StatusCause => ({
  reason: "FieldValueDuplicate",
  message: `Duplicate value: ${formatValue(value)}`,
  field,
});
export const fieldNotSupported = (field: string, value: unknown, supported: string[]): StatusCause => ({
  reason: "FieldValueNotSupported",
  message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((v) => `"${v}"`).join(", ")}`,
  field,
});
export const fieldForbidden = (field: string, detail: string): StatusCause => ({
  reason: "FieldValueForbidden",
  message: `Forbidden: ${detail}`,
  field,
});

/** Go's %#v-ish rendering used by field.Error: strings quoted, numbers bare, string slices as []string{"a", "b"}. */
export function formatValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return `[]string{${v.map((x) => JSON.stringify(x)).join(", ")}}`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null || v === undefined) return "null";
  return JSON.stringify(v);
}

function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}
function details(resource: string, name: string, group: string): Status["details"] {
  return group ? { name, group, kind: resource } : { name, kind: resource };
}
