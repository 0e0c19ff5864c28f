// What the admin API serves, as discovery and OpenAPI describe it: the registry's
// resources plus core/v1 Events, which svcedge never records (read-only, always
// empty) but which `kubectl describe` and `kubectl events` ask for, and core/v1
// Endpoints, read-only, mirrored from EndpointSlices.
import { ownValue } from "../api/plain-data";
import { ALL_RESOURCES, type ResourceDef } from "../registry/resources";

export interface Subresource {
  name: string;
  kind: string;
  verbs: string[];
}

export interface ServedResource {
  def: ResourceDef;
  verbs: string[];
  subresources: Subresource[];
}

/** The verbs the registry implements on a main resource (no deletecollection: DELETE on a collection is 405). */
const READ_WRITE = ["create", "delete", "get", "list", "patch", "update", "watch"];
const STATUS_VERBS = ["get", "patch", "update"];

export const EVENTS: ResourceDef = {
  kind: "Event",
  resource: "events",
  singular: "event",
  group: "",
  version: "v1",
  apiVersion: "v1",
  namespaced: true,
  shortNames: ["ev"],
  categories: [],
  statusSubresource: false,
  nodeReadable: false,
};

/** core/v1 Endpoints, mirrored read-only from EndpointSlices (endpoints-mirror.ts). */
export const ENDPOINTS: ResourceDef = { ...EVENTS, kind: "Endpoints", resource: "endpoints", singular: "endpoints", shortNames: ["ep"] };

export const SERVED: ServedResource[] = [
  ...ALL_RESOURCES.map((def) => {
    const subresources: Subresource[] = def.statusSubresource ? [{ name: "status", kind: def.kind, verbs: STATUS_VERBS }] : [];
    if (def.resource === "nodes") subresources.push({ name: "token", kind: "TokenRequest", verbs: ["create"] });
    return { def, verbs: READ_WRITE, subresources };
  }),
  { def: EVENTS, verbs: ["get", "list", "watch"], subresources: [] },
  { def: ENDPOINTS, verbs: ["get", "list", "watch"], subresources: [] },
];

/** Group-versions in the order discovery lists them; "" is the core group. */
export function groupVersions(): { group: string; version: string; resources: ServedResource[] }[] {
  const out = new Map<string, { group: string; version: string; resources: ServedResource[] }>();
  for (const r of SERVED) {
    const key = `${r.def.group}/${r.def.version}`;
    if (!out.has(key)) out.set(key, { group: r.def.group, version: r.def.version, resources: [] });
    out.get(key)!.resources.push(r);
  }
  return [...out.values()];
}

const VERB_OF_METHOD: Record<string, string> = { GET: "get", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };

/**
 * How a subresource path answers a method: "ok" when discovery lists the verb, 405 when the
 * subresource exists without it, 404 when the resource has no such subresource.
 */
export function subresourceAllows(resource: string, subresource: string, method: string): "ok" | 404 | 405 {
  const sub = SERVED.find((r) => r.def.resource === resource)?.subresources.find((s) => s.name === subresource);
  if (!sub) return 404;
  const verb = ownValue(VERB_OF_METHOD, method) as string | undefined;
  return verb !== undefined && sub.verbs.includes(verb) ? "ok" : 405;
}
