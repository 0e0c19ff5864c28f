// API discovery, as client-go reads it: aggregated discovery (apidiscovery.k8s.io/v2)
// on /api and /apis when the Accept header asks for it, else the legacy documents
// (APIVersions, APIGroupList, and an APIResourceList per group-version).
import { acceptRanges } from "./media-type";
import { groupVersions, SERVED, type ServedResource } from "./served-resources";

/** The media type parameters that make client-go parse an APIGroupDiscoveryList. */
export const AGGREGATED_DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

export function wantsAggregated(accept: string | null): boolean {
  for (const { type, params } of acceptRanges(accept)) {
    if (type === "application/json" && params.g === "apidiscovery.k8s.io" && params.v === "v2" && params.as === "APIGroupDiscoveryList") return true;
    if (type === "application/json" && !params.as) return false;
  }
  return false;
}

function aggregatedResource(r: ServedResource) {
  const d = r.def;
  const gvk = { group: d.group, version: d.version, kind: d.kind };
  return {
    resource: d.resource,
    responseKind: gvk,
    scope: d.namespaced ? "Namespaced" : "Cluster",
    singularResource: d.singular,
    verbs: r.verbs,
    ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
    ...(d.categories.length ? { categories: d.categories } : {}),
    ...(r.subresources.length
      ? {
          subresources: r.subresources.map((s) => ({
            subresource: s.name,
            responseKind: s.kind === d.kind ? gvk : { group: "authentication.k8s.io", version: "v1", kind: s.kind },
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}

/** `core` true for /api (the legacy core group), false for /apis (named groups). */
export function aggregatedDiscovery(core: boolean) {
  const items = groupVersions()
    .filter((gv) => (gv.group === "") === core)
    .map((gv) => ({
      metadata: gv.group ? { name: gv.group } : {},
      versions: [{ version: gv.version, resources: gv.resources.map(aggregatedResource), freshness: "Current" }],
    }));
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

export function apiVersions(serverAddress: string) {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function namedGroups() {
  return groupVersions()
    .filter((gv) => gv.group !== "")
    .map((gv) => {
      const v = { groupVersion: `${gv.group}/${gv.version}`, version: gv.version };
      return { name: gv.group, versions: [v], preferredVersion: v };
    });
}

export function apiGroupList() {
  return { kind: "APIGroupList", apiVersion: "v1", groups: namedGroups() };
}

/** The APIGroup document of `/apis/<group>`, or undefined when svcedge serves no such group. */
export function apiGroup(name: string) {
  const group = namedGroups().find((g) => g.name === name);
  return group ? { kind: "APIGroup", apiVersion: "v1", ...group } : undefined;
}

/** The APIResourceList of one group-version, or undefined when svcedge does not serve it. */
export function apiResourceList(group: string, version: string) {
  const served = SERVED.filter((r) => r.def.group === group && r.def.version === version);
  if (served.length === 0) return undefined;
  const resources = served.flatMap((r) => {
    const d = r.def;
    const main = {
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: r.verbs,
      ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories.length ? { categories: d.categories } : {}),
    };
    const subs = r.subresources.map((s) => ({
      name: `${d.resource}/${s.name}`,
      singularName: "",
      namespaced: d.namespaced,
      ...(s.kind === d.kind ? {} : { group: "authentication.k8s.io", version: "v1" }),
      kind: s.kind,
      verbs: s.verbs,
    }));
    return [main, ...subs];
  });
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
}
