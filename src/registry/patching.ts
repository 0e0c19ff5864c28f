// PATCH: apply a patch document to the stored object; the result then goes
// through admission like an update. Server-side apply (which may also create)
// is prepared here and committed by the registry.
import { applyJsonPatch, applyMergePatch } from "../api/index";
import { unsafeDataReason } from "../api/plain-data";
import { fieldTooLong } from "../api/apimachinery-validation";
import { badRequest, fieldForbidden, fieldRequired, invalid, status } from "../api/status";
import type { KubeObject, Status, StatusCause } from "../api/types";
import { typeMismatch } from "./admission";
import type { ResourceDef } from "./resources";
import { serverSideApply, untypedReason } from "./server-side-apply";
import { applyStrategicMergePatch, PATCH_STRATEGIES, StrategicMergeError } from "./strategic-merge";

export type PatchType = "json" | "merge" | "strategic" | "apply";

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
};

type Patched = { ok: true; value: unknown } | { ok: false; status: Status };

export function applyPatch(r: ResourceDef, type: Exclude<PatchType, "apply">, current: KubeObject, patch: unknown): Patched {
  switch (type) {
    case "merge":
      if (!patch || typeof patch !== "object" || Array.isArray(patch))
        return { ok: false, status: status(400, "BadRequest", "the merge patch must be a JSON object") };
      return { ok: true, value: applyMergePatch(current, patch) };
    case "json": {
      if (!Array.isArray(patch)) return { ok: false, status: status(400, "BadRequest", "the JSON patch must be an array of operations") };
      const res = applyJsonPatch(current, patch);
      if (!res.ok && res.tooLarge) return { ok: false, status: status(413, "RequestEntityTooLarge", res.message) };
      // A failed "test" or a bad path is a 422 in the apiserver.
      if (!res.ok) return { ok: false, status: status(422, "Invalid", res.message, { name: current.metadata.name!, kind: r.resource }) };
      // Copies can nest a document deeper than any request body may be.
      const unsafe = unsafeDataReason(res.value);
      return unsafe
        ? { ok: false, status: status(422, "Invalid", `the patched object is invalid: ${unsafe}`, { name: current.metadata.name!, kind: r.resource }) }
        : res;
    }
    case "strategic":
      try {
        return { ok: true, value: applyStrategicMergePatch(current, patch, PATCH_STRATEGIES[r.kind] ?? {}) };
      } catch (e) {
        if (e instanceof StrategicMergeError) return { ok: false, status: badRequest(e.message) };
        throw e;
      }
  }
}

/** apimachinery's validation.FieldManagerMaxLength. */
export const MAX_FIELD_MANAGER_LENGTH = 128;

/**
 * validation.ValidatePatchOptions, after authorization as in the apiserver: a 422 on
 * PatchOptions when `force` comes with a non-apply patch (false included), when an
 * apply names no field manager, or when the manager is too long.
 */
export function patchOptionErrors(type: PatchType, opts: { fieldManager?: string; force?: boolean }): Status | undefined {
  const causes: StatusCause[] = [];
  if (type !== "apply" && opts.force !== undefined) causes.push(fieldForbidden("force", "may not be specified for non-apply patch"));
  if (type === "apply" && !opts.fieldManager) causes.push(fieldRequired("fieldManager", "is required for apply patch"));
  if ((opts.fieldManager ?? "").length > MAX_FIELD_MANAGER_LENGTH) causes.push(fieldTooLong("fieldManager", MAX_FIELD_MANAGER_LENGTH));
  return causes.length ? invalid("PatchOptions", "", causes, "meta.k8s.io") : undefined;
}

export interface ApplyRequest {
  name: string;
  manager: string;
  force: boolean;
  now: number;
}

/** Server-side apply: the object to admit (created when `current` is missing), or a 409 listing the field manager conflicts. */
export function prepareApply(r: ResourceDef, current: KubeObject | undefined, patch: unknown, req: ApplyRequest): Patched {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return { ok: false, status: badRequest("the apply patch must be an object") };
  const applied = structuredClone(patch) as KubeObject;
  if (!applied.apiVersion) return { ok: false, status: badRequest("apiVersion must be set in an apply patch") };
  if (!applied.kind) return { ok: false, status: badRequest("kind must be set in an apply patch") };
  const mismatch = typeMismatch(r, applied as unknown as Record<string, unknown>);
  if (mismatch) return { ok: false, status: mismatch };
  applied.metadata = typeof applied.metadata === "object" && applied.metadata ? applied.metadata : {};
  const name: unknown = applied.metadata.name;
  if (name && name !== req.name)
    return {
      ok: false,
      status: badRequest(`the name of the object (${typeof name === "string" ? name : JSON.stringify(name)}) does not match the name on the URL (${req.name})`),
    };
  applied.metadata.name = req.name;
  const untyped = untypedReason(applied, PATCH_STRATEGIES[r.kind] ?? {});
  if (untyped) return { ok: false, status: badRequest(`failed to create typed patch object (${req.name}; ${r.apiVersion}, Kind=${r.kind}): ${untyped}`) };
  let out: ReturnType<typeof serverSideApply>;
  try {
    out = serverSideApply({ current, applied, manager: req.manager, force: req.force, now: req.now });
  } catch (e) {
    // Strategic merge directives ($patch, $retainKeys, ...) are no fields of an applied configuration.
    if (e instanceof StrategicMergeError) return { ok: false, status: badRequest(`the apply patch cannot be merged: ${e.message}`) };
    throw e;
  }
  if (!out.ok)
    return {
      ok: false,
      status: status(409, "Conflict", out.message, { name: req.name, kind: r.resource, ...(r.group ? { group: r.group } : {}), causes: out.conflicts }),
    };
  return { ok: true, value: out.object };
}
