// The resource table: what the discovery documents, the REST paths and the
// decoder agree on for each kind svcedge serves (k8s.io/api core/v1, discovery/v1).

export type Kind = "Service" | "Pod" | "EndpointSlice" | "Node" | "Namespace";

export interface ResourceInfo {
  kind: Kind;
  /** Plural, lower case, as in REST paths: "services". */
  resource: string;
  singular: string;
  group: "" | "discovery.k8s.io";
  version: "v1";
  /** "v1" for the core group, "<group>/v1" otherwise. */
  apiVersion: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
}

export const RESOURCES: Record<Kind, ResourceInfo> = {
  Service: {
    kind: "Service",
    resource: "services",
    singular: "service",
    group: "",
    version: "v1",
    apiVersion: "v1",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
  },
  Pod: {
    kind: "Pod",
    resource: "pods",
    singular: "pod",
    group: "",
    version: "v1",
    apiVersion: "v1",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
  },
  EndpointSlice: {
    kind: "EndpointSlice",
    resource: "endpointslices",
    singular: "endpointslice",
    group: "discovery.k8s.io",
    version: "v1",
    apiVersion: "discovery.k8s.io/v1",
    namespaced: true,
    shortNames: [],
    categories: [],
  },
  Node: {
    kind: "Node",
    resource: "nodes",
    singular: "node",
    group: "",
    version: "v1",
    apiVersion: "v1",
    namespaced: false,
    shortNames: ["no"],
    categories: [],
  },
  Namespace: {
    kind: "Namespace",
    resource: "namespaces",
    singular: "namespace",
    group: "",
    version: "v1",
    apiVersion: "v1",
    namespaced: false,
    shortNames: ["ns"],
    categories: [],
  },
};

export const KINDS = Object.keys(RESOURCES) as Kind[];
