// The resources the registry stores: the API's resource table plus Leases
// (coordination.k8s.io/v1), which carry node heartbeats and live only in the
// Durable Object.
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
};

export const ALL_RESOURCES: ResourceDef[] = [...Object.values(RESOURCES).map((info) => ({ ...info, info })), LEASES];

const byKey = new Map(ALL_RESOURCES.map((r) => [`${r.group}/${r.resource}`, r]));

export function resolveResource(group: string, resource: string): ResourceDef | undefined {
  return byKey.get(`${group}/${resource}`);
}
