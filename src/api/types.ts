// Kubernetes API object shapes that svcedge serves. Field names, nesting and
// optionality follow k8s.io/api (core/v1, discovery/v1, meta/v1) so that real
// manifests and the real kubectl work unchanged. The zod schemas in this folder
// validate input into these shapes; everything else imports the shapes from here.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: ManagedFieldsEntry[];
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: "FieldsV1";
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

/** Any object this server stores. */
export interface KubeObject extends TypeMeta {
  metadata: ObjectMeta;
}

// ---- core/v1 Service ----

export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
export type Protocol = "TCP" | "UDP" | "SCTP";
export type TrafficPolicy = "Cluster" | "Local";

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  appProtocol?: string;
  port: number;
  /** A number, or the name of a container port (IANA_SVC_NAME). */
  targetPort?: number | string;
  nodePort?: number;
}

export interface SessionAffinityConfig {
  clientIP?: { timeoutSeconds?: number };
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: "VIP" | "Proxy";
  ports?: { port: number; protocol: Protocol; error?: string }[];
}

export interface ServiceSpec {
  type?: ServiceType;
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  externalIPs?: string[];
  sessionAffinity?: "None" | "ClientIP";
  sessionAffinityConfig?: SessionAffinityConfig;
  externalTrafficPolicy?: TrafficPolicy;
  internalTrafficPolicy?: TrafficPolicy;
  healthCheckNodePort?: number;
  loadBalancerSourceRanges?: string[];
  loadBalancerClass?: string;
  allocateLoadBalancerNodePorts?: boolean;
  publishNotReadyAddresses?: boolean;
  ipFamilies?: ("IPv4" | "IPv6")[];
  ipFamilyPolicy?: "SingleStack" | "PreferDualStack" | "RequireDualStack";
  trafficDistribution?: string;
}

export interface Service extends KubeObject {
  apiVersion: "v1";
  kind: "Service";
  spec: ServiceSpec;
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

// ---- core/v1 Pod (the subset svcedge needs) ----

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
  hostPort?: number;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: "HTTP" | "HTTPS"; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number | string; host?: string };
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  readinessProbe?: Probe;
}

export interface PodCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface PodStatus {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  podIP?: string;
  podIPs?: { ip: string }[];
  hostIP?: string;
  conditions?: PodCondition[];
  startTime?: string;
}

export interface Pod extends KubeObject {
  apiVersion: "v1";
  kind: "Pod";
  spec: { nodeName?: string; containers: Container[]; hostname?: string; subdomain?: string };
  status?: PodStatus;
}

/** Annotation on a Pod: the URL the edge must fetch to reach it (production Workers cannot fetch bare IPs). */
export const POD_URL_ANNOTATION = "svcedge.io/url";

// ---- discovery.k8s.io/v1 EndpointSlice ----

/** core/v1 ObjectReference: an endpoint's targetRef (the endpoints controller sets kind, namespace, name and uid). */
export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EndpointConditions {
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  /** Deprecated topology labels (kept, validated as labels; the zone belongs in `zone`). */
  deprecatedTopology?: Record<string, string>;
  hints?: { forZones?: { name: string }[]; forNodes?: ForNode[] };
}

/** discovery/v1 ForNode: a hint svcedge stores but does not use (newer than kubernetes-types 1.30, see test/api/types-match-upstream.ts). */
export interface ForNode {
  name: string;
}

export interface EndpointPort {
  name?: string | null;
  protocol?: Protocol;
  port?: number | null;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  apiVersion: "discovery.k8s.io/v1";
  kind: "EndpointSlice";
  addressType: "IPv4" | "IPv6" | "FQDN";
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/** core/v1 Endpoints: svcedge serves them read-only, mirrored from EndpointSlices (src/admin/endpoints-mirror.ts). */
export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: { name?: string; port: number; protocol?: Protocol; appProtocol?: string }[];
}

export interface Endpoints extends KubeObject {
  apiVersion: "v1";
  kind: "Endpoints";
  subsets?: EndpointSubset[];
}

/** Label that ties an EndpointSlice to its Service (set by the endpoints controller). */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** Label naming the controller that manages a slice. */
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const MANAGED_BY_CONTROLLER = "endpointslice-controller.k8s.io";
/** Annotation on an endpoint-bearing slice: JSON map of endpoint address -> URL for the edge. */
export const ENDPOINT_URLS_ANNOTATION = "svcedge.io/endpoint-urls";

// ---- core/v1 Node ----

export interface NodeAddress {
  type: "InternalIP" | "ExternalIP" | "Hostname" | "InternalDNS" | "ExternalDNS";
  address: string;
}

export interface NodeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface Node extends KubeObject {
  apiVersion: "v1";
  kind: "Node";
  spec?: { podCIDR?: string; podCIDRs?: string[]; unschedulable?: boolean; providerID?: string };
  status?: { addresses?: NodeAddress[]; conditions?: NodeCondition[] };
}

// ---- core/v1 Namespace ----

export interface Namespace extends KubeObject {
  apiVersion: "v1";
  kind: "Namespace";
  spec?: { finalizers?: string[] };
  status?: { phase?: "Active" | "Terminating" };
}

// ---- meta/v1 ----

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface List<T extends KubeObject = KubeObject> extends TypeMeta {
  metadata: ListMeta;
  items: T[];
}

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Expired"
  | "Invalid"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "RequestEntityTooLarge"
  | "UnsupportedMediaType"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout"
  | "TooManyRequests";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: ListMeta;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent<T = KubeObject | Status> {
  type: WatchEventType;
  object: T;
}

// ---- coordination.k8s.io/v1 Lease (node heartbeats, namespace kube-node-lease) ----

export interface Lease extends KubeObject {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Namespace that holds one Lease per Node, as in Kubernetes. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** Annotation the registry sets on Pods a node registered itself (NodeRestriction lets that node edit them). */
export const REGISTERED_BY_ANNOTATION = "svcedge.io/registered-by";
