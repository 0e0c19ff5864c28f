// PATCH: apply a patch document to the stored object; the result then goes
// through admission like an update.
import { applyJsonPatch, applyMergePatch } from "../api/index";
import { status } from "../api/status";
import type { KubeObject, Status } from "../api/types";
import type { ResourceDef } from "./resources";

export type PatchType = "json" | "merge" | "strategic" | "apply";

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
};

export function applyPatch(r: ResourceDef, type: PatchType, current: KubeObject, patch: unknown): { ok: true; value: unknown } | { ok: false; status: Status } {
  switch (type) {
    case "merge":
      if (!patch || typeof patch !== "object" || Array.isArray(patch)) return { ok: false, status: status(400, "BadRequest", "the merge patch must be a JSON object") };
      return { ok: true, value: applyMergePatch(current, patch) };
    case "json": {
      if (!Array.isArray(patch)) return { ok: false, status: status(400, "BadRequest", "the JSON patch must be an array of operations") };
      const res = applyJsonPatch(current, patch);
      // A failed "test" or a bad path is a 422 in the apiserver.
      return res.ok ? { ok: true, value: res.value } : { ok: false, status: status(422, "Invalid", res.message, { name: current.metadata.name!, kind: r.resource }) };
    }
    default:
      return {
        ok: false,
        status: status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json`),
      };
  }
}
