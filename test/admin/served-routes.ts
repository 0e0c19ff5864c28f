// Every path the admin API serves, built from what discovery advertises
// (src/admin/served-resources.ts) rather than listed by hand, so that a resource or
// subresource added there is covered by the suites that walk them (auth-matrix.test.ts).
import { groupVersions, SERVED, type ServedResource } from "../../src/admin/served-resources";
import type { ResourceDef } from "../../src/registry/resources";

export type RouteShape = "collection" | "all-namespaces" | "item" | "subresource" | "non-resource";

export interface ServedRoute {
  path: string;
  shape: RouteShape;
  /** The resource the path names; undefined for discovery, metrics and unknown paths. */
  served?: ServedResource;
  subresource?: string;
  /** The object the path names, or that a create in the collection names; undefined for non-resource paths. */
  name?: string;
  /** The verbs discovery advertises on this path (collection: create/list/watch; item: the rest; subresource: its own). */
  verbs: string[];
}

/** Which object a path names, per resource (Leases of nodes live in kube-node-lease, not the test's namespace). */
export type Target = (def: ResourceDef) => { namespace: string; name: string };

export const apiPrefix = (def: ResourceDef): string => (def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`);

const COLLECTION_VERBS = new Set(["create", "list", "watch"]);

/** Collection and item paths (namespaced and across namespaces) and subresources of every served resource. */
export function resourceRoutes(target: Target): ServedRoute[] {
  const routes: ServedRoute[] = [];
  for (const served of SERVED) {
    const def = served.def;
    const { namespace, name } = target(def);
    const prefix = apiPrefix(def);
    const collection = def.namespaced ? `${prefix}/namespaces/${namespace}/${def.resource}` : `${prefix}/${def.resource}`;
    const collectionVerbs = served.verbs.filter((v) => COLLECTION_VERBS.has(v));
    const itemVerbs = served.verbs.filter((v) => !COLLECTION_VERBS.has(v));
    routes.push({ path: collection, shape: "collection", served, name, verbs: collectionVerbs });
    if (def.namespaced)
      routes.push({ path: `${prefix}/${def.resource}`, shape: "all-namespaces", served, name, verbs: collectionVerbs.filter((v) => v !== "create") });
    routes.push({ path: `${collection}/${name}`, shape: "item", served, name, verbs: itemVerbs });
    for (const sub of served.subresources)
      routes.push({ path: `${collection}/${name}/${sub.name}`, shape: "subresource", served, subresource: sub.name, name, verbs: sub.verbs });
  }
  return routes;
}

/** Discovery, OpenAPI, /version, /metrics, the route explainer, and paths that name nothing. */
export function nonResourceRoutes(namespace: string): ServedRoute[] {
  const paths = ["/version", "/api", "/apis", "/openapi/v2", "/openapi/v3", "/metrics"];
  for (const gv of groupVersions()) {
    const root = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    paths.push(`/${root}`, `/openapi/v3/${root}`);
  }
  paths.push("/debug/routes/example.com", "/", "/nothing", `/api/v1/namespaces/${namespace}/widgets`, "/apis/example.com/v1/widgets");
  return paths.map((path) => ({ path, shape: "non-resource", verbs: [] }));
}

/** The HTTP method of each Kubernetes verb on a path (watch and list are both GET). */
export const METHOD_OF_VERB: Record<string, string> = {
  create: "POST",
  get: "GET",
  list: "GET",
  watch: "GET",
  update: "PUT",
  patch: "PATCH",
  delete: "DELETE",
};

/** Whether a write method is one the path serves, as discovery says. */
export const servesMethod = (route: ServedRoute, method: string): boolean => route.verbs.some((v) => METHOD_OF_VERB[v] === method);
