// The resource table: every resource the registry stores (the API's kinds plus
// Leases, coordination.k8s.io/v1, which carry node heartbeats), with the flags the
// rest of the code asks about. Discovery, the REST paths, the node policy, namespace
// deletion and the registry's figures all read them here.
import { RESOURCES, type ResourceInfo } from "../api/resources";

export interface ResourceDef {
  kind: string;
  resource: string;
  singular: string;
  group: string;
  version: string;
  apiVersion: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Set for the kinds the API's schemas decode and validate. */
  info?: ResourceInfo;
  /** Has a /status subresource (get, update, patch). */
  statusSubresource: boolean;
  /** A node token may get, list and watch it (NodeRestriction's reads). */
  nodeReadable: boolean;
}

export const LEASES: ResourceDef = {
  kind: "Lease",
  resource: "leases",
  singular: "lease",
  group: "coordination.k8s.io",
  version: "v1",
  apiVersion: "coordination.k8s.io/v1",
  namespaced: true,
  shortNames: [],
  categories: [],
  statusSubresource: false,
  nodeReadable: true,
};

/** Kinds with a status subresource: the apiserver's for core/v1 (EndpointSlices have no status). */
const WITH_STATUS = new Set(["services", "pods", "nodes", "namespaces"]);

export const ALL_RESOURCES: ResourceDef[] = [
  ...Object.values(RESOURCES).map((info) => ({ ...info, info, statusSubresource: WITH_STATUS.has(info.resource), nodeReadable: true })),
  LEASES,
];

const byKey = new Map(ALL_RESOURCES.map((r) => [`${r.group}/${r.resource}`, r]));
const byName = new Map(ALL_RESOURCES.map((r) => [r.resource, r]));

export function resolveResource(group: string, resource: string): ResourceDef | undefined {
  return byKey.get(`${group}/${resource}`);
}

/** A stored resource by its plural name alone (plural names are unique across the groups served). */
export function resourceNamed(resource: string): ResourceDef | undefined {
  return byName.get(resource);
}

/** What a Namespace's deletion removes with it: every namespaced resource. */
export const NAMESPACED_RESOURCES: ResourceDef[] = ALL_RESOURCES.filter((r) => r.namespaced);
