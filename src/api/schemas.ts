// zod schemas for the wire shapes in ./types, built once at module load.
// They check structure and JSON types only, as Go's JSON decoder does: enum-like
// strings (type, protocol, …) are any string here and are checked by validation,
// so that the errors say "Unsupported value" exactly where Kubernetes says it.
// Each schema carries its Go type name, so that decode errors can be worded like
// the apiserver's (`json: cannot unmarshal string into Go struct field
// ServicePort.spec.ports.port of type int32`).
import * as z from "zod";
import type { Kind } from "./resources";

type Schema = z.ZodType;

/** Go type of each schema (registered on the unwrapped schema). */
const goTypes = new WeakMap<Schema, string>();
const go = <T extends Schema>(schema: T, goType: string): T => {
  goTypes.set(schema, goType);
  return schema;
};

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const str = () => go(z.string(), "string");
const int32 = () => go(z.number().int().min(INT32_MIN).max(INT32_MAX), "int32");
const int64 = () => go(z.number().int(), "int64");
const bool = () => go(z.boolean(), "bool");
const strMap = () => go(z.record(z.string(), str()), "map[string]string");
const list = <T extends Schema>(el: T, goEl: string) => go(z.array(el), `[]${goEl}`);
const struct = <S extends z.ZodRawShape>(goType: string, shape: S) => go(z.object(shape), goType);
/** Free-form JSON (managedFields' fieldsV1): not walked for unknown fields. */
const rawJSON = () => go(z.record(z.string(), z.unknown()), "v1.FieldsV1");
const intOrString = () => go(z.union([z.number().int().min(INT32_MIN).max(INT32_MAX), z.string()]), "intstr.IntOrString");

const ownerReference = struct("v1.OwnerReference", {
  apiVersion: str().default(""),
  kind: str().default(""),
  name: str().default(""),
  uid: str().default(""),
  controller: bool().optional(),
  blockOwnerDeletion: bool().optional(),
});

const managedFieldsEntry = struct("v1.ManagedFieldsEntry", {
  manager: str().optional(),
  operation: str().optional(),
  apiVersion: str().optional(),
  time: str().optional(),
  fieldsType: str().optional(),
  fieldsV1: rawJSON().optional(),
  subresource: str().optional(),
});

const objectMeta = struct("v1.ObjectMeta", {
  name: str().optional(),
  generateName: str().optional(),
  namespace: str().optional(),
  uid: str().optional(),
  resourceVersion: str().optional(),
  generation: int64().optional(),
  creationTimestamp: str().optional(),
  deletionTimestamp: str().optional(),
  deletionGracePeriodSeconds: int64().optional(),
  labels: strMap().optional(),
  annotations: strMap().optional(),
  managedFields: list(managedFieldsEntry, "v1.ManagedFieldsEntry").optional(),
  finalizers: list(str(), "string").optional(),
  ownerReferences: list(ownerReference, "v1.OwnerReference").optional(),
});

const typeMeta = { apiVersion: str().optional(), kind: str().optional(), metadata: objectMeta.default({}) };

// ---- Service ----

const servicePort = struct("v1.ServicePort", {
  name: str().optional(),
  protocol: str().optional(),
  appProtocol: str().optional(),
  port: int32().default(0),
  targetPort: intOrString().optional(),
  nodePort: int32().optional(),
});

const portStatus = struct("v1.PortStatus", { port: int32().default(0), protocol: str().default(""), error: str().optional() });

const loadBalancerIngress = struct("v1.LoadBalancerIngress", {
  ip: str().optional(),
  hostname: str().optional(),
  ipMode: str().optional(),
  ports: list(portStatus, "v1.PortStatus").optional(),
});

const serviceSpec = struct("v1.ServiceSpec", {
  type: str().optional(),
  selector: strMap().optional(),
  ports: list(servicePort, "v1.ServicePort").optional(),
  clusterIP: str().optional(),
  clusterIPs: list(str(), "string").optional(),
  externalName: str().optional(),
  externalIPs: list(str(), "string").optional(),
  sessionAffinity: str().optional(),
  sessionAffinityConfig: struct("v1.SessionAffinityConfig", {
    clientIP: struct("v1.ClientIPConfig", { timeoutSeconds: int32().optional() }).optional(),
  }).optional(),
  externalTrafficPolicy: str().optional(),
  internalTrafficPolicy: str().optional(),
  healthCheckNodePort: int32().optional(),
  loadBalancerSourceRanges: list(str(), "string").optional(),
  loadBalancerClass: str().optional(),
  allocateLoadBalancerNodePorts: bool().optional(),
  publishNotReadyAddresses: bool().optional(),
  ipFamilies: list(str(), "v1.IPFamily").optional(),
  ipFamilyPolicy: str().optional(),
  trafficDistribution: str().optional(),
});

const service = struct("v1.Service", {
  ...typeMeta,
  spec: serviceSpec.default({}),
  status: struct("v1.ServiceStatus", {
    loadBalancer: struct("v1.LoadBalancerStatus", { ingress: list(loadBalancerIngress, "v1.LoadBalancerIngress").optional() }).optional(),
  }).optional(),
});

// ---- Pod ----

const containerPort = struct("v1.ContainerPort", {
  name: str().optional(),
  containerPort: int32().default(0),
  protocol: str().optional(),
  hostPort: int32().optional(),
});

const httpHeader = struct("v1.HTTPHeader", { name: str().default(""), value: str().default("") });

const probe = struct("v1.Probe", {
  httpGet: struct("v1.HTTPGetAction", {
    path: str().optional(),
    port: intOrString().default(0),
    host: str().optional(),
    scheme: str().optional(),
    httpHeaders: list(httpHeader, "v1.HTTPHeader").optional(),
  }).optional(),
  tcpSocket: struct("v1.TCPSocketAction", { port: intOrString().default(0), host: str().optional() }).optional(),
  grpc: struct("v1.GRPCAction", { port: int32().default(0), service: str().optional() }).optional(),
  initialDelaySeconds: int32().optional(),
  periodSeconds: int32().optional(),
  timeoutSeconds: int32().optional(),
  successThreshold: int32().optional(),
  failureThreshold: int32().optional(),
});

const container = struct("v1.Container", {
  name: str().default(""),
  image: str().optional(),
  ports: list(containerPort, "v1.ContainerPort").optional(),
  readinessProbe: probe.optional(),
});

/** PodCondition and NodeCondition differ only in the name of their second timestamp. */
const condition = (goType: string, timestamp: "lastProbeTime" | "lastHeartbeatTime") =>
  struct(goType, {
    type: str().default(""),
    status: str().default(""),
    [timestamp]: str().optional(),
    lastTransitionTime: str().optional(),
    reason: str().optional(),
    message: str().optional(),
  });

const podCondition = condition("v1.PodCondition", "lastProbeTime");

const pod = struct("v1.Pod", {
  ...typeMeta,
  spec: struct("v1.PodSpec", {
    nodeName: str().optional(),
    containers: list(container, "v1.Container").default([]),
    hostname: str().optional(),
    subdomain: str().optional(),
  }).default({ containers: [] }),
  status: struct("v1.PodStatus", {
    phase: str().optional(),
    podIP: str().optional(),
    podIPs: list(struct("v1.PodIP", { ip: str().default("") }), "v1.PodIP").optional(),
    hostIP: str().optional(),
    conditions: list(podCondition, "v1.PodCondition").optional(),
    startTime: str().optional(),
  }).optional(),
});

// ---- EndpointSlice ----

const zoneHint = struct("v1.ForZone", { name: str().default("") });
const nodeHint = struct("v1.ForNode", { name: str().default("") });

const endpoint = struct("v1.Endpoint", {
  addresses: list(str(), "string").default([]),
  conditions: struct("v1.EndpointConditions", { ready: bool().optional(), serving: bool().optional(), terminating: bool().optional() }).optional(),
  hostname: str().optional(),
  targetRef: struct("v1.ObjectReference", { kind: str().optional(), namespace: str().optional(), name: str().optional(), uid: str().optional() }).optional(),
  nodeName: str().optional(),
  zone: str().optional(),
  deprecatedTopology: strMap().optional(),
  hints: struct("v1.EndpointHints", { forZones: list(zoneHint, "v1.ForZone").optional(), forNodes: list(nodeHint, "v1.ForNode").optional() }).optional(),
});

const endpointSlice = struct("v1.EndpointSlice", {
  ...typeMeta,
  addressType: str().default(""),
  endpoints: list(endpoint, "v1.Endpoint").default([]),
  ports: list(
    struct("v1.EndpointPort", { name: str().optional(), protocol: str().optional(), port: int32().optional(), appProtocol: str().optional() }),
    "v1.EndpointPort",
  ).optional(),
});

// ---- Node ----

const nodeCondition = condition("v1.NodeCondition", "lastHeartbeatTime");

const node = struct("v1.Node", {
  ...typeMeta,
  spec: struct("v1.NodeSpec", {
    podCIDR: str().optional(),
    podCIDRs: list(str(), "string").optional(),
    unschedulable: bool().optional(),
    providerID: str().optional(),
  }).optional(),
  status: struct("v1.NodeStatus", {
    addresses: list(struct("v1.NodeAddress", { type: str().default(""), address: str().default("") }), "v1.NodeAddress").optional(),
    conditions: list(nodeCondition, "v1.NodeCondition").optional(),
  }).optional(),
});

// ---- Namespace ----

const namespace = struct("v1.Namespace", {
  ...typeMeta,
  spec: struct("v1.NamespaceSpec", { finalizers: list(str(), "v1.FinalizerName").optional() }).optional(),
  status: struct("v1.NamespaceStatus", { phase: str().optional() }).optional(),
});

export const SCHEMAS: Record<Kind, Schema> = {
  Service: service,
  Pod: pod,
  EndpointSlice: endpointSlice,
  Node: node,
  Namespace: namespace,
};

// ---- walking schemas (for unknown fields and error wording) ----

interface Def {
  type: string;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  innerType?: Schema;
}
const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strips optional/default wrappers. */
export function unwrap(s: Schema): Schema {
  let cur = s;
  for (let d = defOf(cur); d.innerType && (d.type === "optional" || d.type === "default" || d.type === "nullable"); d = defOf(cur)) cur = d.innerType;
  return cur;
}

export const goTypeOf = (s: Schema): string => goTypes.get(unwrap(s)) ?? "interface {}";

export type SchemaNode =
  | { type: "object"; shape: Record<string, Schema> }
  | { type: "array"; element: Schema }
  | { type: "map"; value: Schema }
  | { type: "raw" }
  | { type: "leaf" };

export function nodeOf(s: Schema): SchemaNode {
  const u = unwrap(s);
  const d = defOf(u);
  if (d.type === "object" && d.shape) return { type: "object", shape: d.shape };
  if (d.type === "array" && d.element) return { type: "array", element: d.element };
  if (d.type === "record" && d.valueType) return defOf(d.valueType).type === "unknown" ? { type: "raw" } : { type: "map", value: d.valueType };
  return { type: "leaf" };
}
