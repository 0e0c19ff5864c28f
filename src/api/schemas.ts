// zod schemas for the wire shapes in ./types, built once at module load.
// They check structure and JSON types only, as Go's JSON decoder does: enum-like
// strings (type, protocol, …) are any string here and are checked by validation,
// so that the errors say "Unsupported value" exactly where Kubernetes says it.
// Each schema carries its Go type name in API_TYPES, so that decode errors can be
// worded like the apiserver's (`json: cannot unmarshal string into Go struct field
// ServicePort.spec.ports.port of type int32`); each struct also carries, as its
// registry id, the name kube-apiserver's OpenAPI gives it (io.k8s.api.core.v1.ServicePort),
// so that src/admin/openapi.ts publishes the registry with z.toJSONSchema.
// test/api/types-match-upstream.ts checks these fields against ./types and upstream's.
import * as z from "zod";
import type { Kind } from "./resources";

type Schema = z.ZodType;

/** The Go type of each schema (registered on the unwrapped schema); a struct's or IntOrString's id is its OpenAPI name. */
export const API_TYPES = z.registry<{ goType: string; id?: string }>();
const go = <T extends Schema>(schema: T, goType: string, id?: string): T => {
  API_TYPES.add(schema, id ? { goType, id } : { goType });
  return schema;
};

/** The OpenAPI package of each Go package the schemas use. */
const CORE = "io.k8s.api.core.v1";
const DISCOVERY = "io.k8s.api.discovery.v1";
const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const str = () => go(z.string(), "string");
const int32 = () => go(z.number().int().min(INT32_MIN).max(INT32_MAX), "int32");
const int64 = () => go(z.number().int(), "int64");
const bool = () => go(z.boolean(), "bool");
const strMap = () => go(z.record(z.string(), str()), "map[string]string");
const list = <T extends Schema>(el: T, goEl = goTypeOf(el)) => go(z.array(el), `[]${goEl}`);
/** A Go struct, by its OpenAPI name: its Go type name is the last two parts (io.k8s.api.core.v1.ServicePort is v1.ServicePort). */
const struct = <S extends z.ZodRawShape>(name: string, shape: S) => go(z.object(shape), name.split(".").slice(-2).join("."), name);
/** Free-form JSON (managedFields' fieldsV1): not walked for unknown fields. */
const rawJSON = () => go(z.record(z.string(), z.unknown()), "v1.FieldsV1");
const intOrString = go(
  z.union([z.number().int().min(INT32_MIN).max(INT32_MAX), z.string()]),
  "intstr.IntOrString",
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
);

const ownerReference = struct(`${META}.OwnerReference`, {
  apiVersion: str().default(""),
  kind: str().default(""),
  name: str().default(""),
  uid: str().default(""),
  controller: bool().optional(),
  blockOwnerDeletion: bool().optional(),
});

const managedFieldsEntry = struct(`${META}.ManagedFieldsEntry`, {
  manager: str().optional(),
  operation: str().optional(),
  apiVersion: str().optional(),
  time: str().optional(),
  fieldsType: str().optional(),
  fieldsV1: rawJSON().optional(),
  subresource: str().optional(),
});

const objectMeta = struct(`${META}.ObjectMeta`, {
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
  managedFields: list(managedFieldsEntry).optional(),
  finalizers: list(str()).optional(),
  ownerReferences: list(ownerReference).optional(),
});

const typeMeta = { apiVersion: str().optional(), kind: str().optional(), metadata: objectMeta.default({}) };

// ---- Service ----

const servicePort = struct(`${CORE}.ServicePort`, {
  name: str().optional(),
  protocol: str().optional(),
  appProtocol: str().optional(),
  port: int32().default(0),
  targetPort: intOrString.optional(),
  nodePort: int32().optional(),
});

const portStatus = struct(`${CORE}.PortStatus`, { port: int32().default(0), protocol: str().default(""), error: str().optional() });

const loadBalancerIngress = struct(`${CORE}.LoadBalancerIngress`, {
  ip: str().optional(),
  hostname: str().optional(),
  ipMode: str().optional(),
  ports: list(portStatus).optional(),
});

const serviceSpec = struct(`${CORE}.ServiceSpec`, {
  type: str().optional(),
  selector: strMap().optional(),
  ports: list(servicePort).optional(),
  clusterIP: str().optional(),
  clusterIPs: list(str()).optional(),
  externalName: str().optional(),
  externalIPs: list(str()).optional(),
  sessionAffinity: str().optional(),
  sessionAffinityConfig: struct(`${CORE}.SessionAffinityConfig`, {
    clientIP: struct(`${CORE}.ClientIPConfig`, { timeoutSeconds: int32().optional() }).optional(),
  }).optional(),
  externalTrafficPolicy: str().optional(),
  internalTrafficPolicy: str().optional(),
  healthCheckNodePort: int32().optional(),
  loadBalancerSourceRanges: list(str()).optional(),
  loadBalancerClass: str().optional(),
  allocateLoadBalancerNodePorts: bool().optional(),
  publishNotReadyAddresses: bool().optional(),
  ipFamilies: list(str(), "v1.IPFamily").optional(),
  ipFamilyPolicy: str().optional(),
  trafficDistribution: str().optional(),
});

const service = struct(`${CORE}.Service`, {
  ...typeMeta,
  spec: serviceSpec.default({}),
  status: struct(`${CORE}.ServiceStatus`, {
    loadBalancer: struct(`${CORE}.LoadBalancerStatus`, { ingress: list(loadBalancerIngress).optional() }).optional(),
  }).optional(),
});

// ---- Pod ----

const containerPort = struct(`${CORE}.ContainerPort`, {
  name: str().optional(),
  containerPort: int32().default(0),
  protocol: str().optional(),
  hostPort: int32().optional(),
});

const httpHeader = struct(`${CORE}.HTTPHeader`, { name: str().default(""), value: str().default("") });

const probe = struct(`${CORE}.Probe`, {
  httpGet: struct(`${CORE}.HTTPGetAction`, {
    path: str().optional(),
    port: intOrString.default(0),
    host: str().optional(),
    scheme: str().optional(),
    httpHeaders: list(httpHeader).optional(),
  }).optional(),
  tcpSocket: struct(`${CORE}.TCPSocketAction`, { port: intOrString.default(0), host: str().optional() }).optional(),
  grpc: struct(`${CORE}.GRPCAction`, { port: int32().default(0), service: str().optional() }).optional(),
  initialDelaySeconds: int32().optional(),
  periodSeconds: int32().optional(),
  timeoutSeconds: int32().optional(),
  successThreshold: int32().optional(),
  failureThreshold: int32().optional(),
});

const container = struct(`${CORE}.Container`, {
  name: str().default(""),
  image: str().optional(),
  ports: list(containerPort).optional(),
  readinessProbe: probe.optional(),
});

/** PodCondition and NodeCondition differ only in the name of their second timestamp. */
const condition = (name: string, timestamp: "lastProbeTime" | "lastHeartbeatTime") =>
  struct(name, {
    type: str().default(""),
    status: str().default(""),
    [timestamp]: str().optional(),
    lastTransitionTime: str().optional(),
    reason: str().optional(),
    message: str().optional(),
  });

const podCondition = condition(`${CORE}.PodCondition`, "lastProbeTime");

const pod = struct(`${CORE}.Pod`, {
  ...typeMeta,
  spec: struct(`${CORE}.PodSpec`, {
    nodeName: str().optional(),
    containers: list(container).default([]),
    hostname: str().optional(),
    subdomain: str().optional(),
  }).default({ containers: [] }),
  status: struct(`${CORE}.PodStatus`, {
    phase: str().optional(),
    podIP: str().optional(),
    podIPs: list(struct(`${CORE}.PodIP`, { ip: str().default("") })).optional(),
    hostIP: str().optional(),
    conditions: list(podCondition).optional(),
    startTime: str().optional(),
  }).optional(),
});

// ---- EndpointSlice ----

const zoneHint = struct(`${DISCOVERY}.ForZone`, { name: str().default("") });
const nodeHint = struct(`${DISCOVERY}.ForNode`, { name: str().default("") });

const endpoint = struct(`${DISCOVERY}.Endpoint`, {
  addresses: list(str()).default([]),
  conditions: struct(`${DISCOVERY}.EndpointConditions`, { ready: bool().optional(), serving: bool().optional(), terminating: bool().optional() }).optional(),
  hostname: str().optional(),
  targetRef: struct(`${CORE}.ObjectReference`, {
    kind: str().optional(),
    namespace: str().optional(),
    name: str().optional(),
    uid: str().optional(),
    apiVersion: str().optional(),
    resourceVersion: str().optional(),
    fieldPath: str().optional(),
  }).optional(),
  nodeName: str().optional(),
  zone: str().optional(),
  deprecatedTopology: strMap().optional(),
  hints: struct(`${DISCOVERY}.EndpointHints`, { forZones: list(zoneHint).optional(), forNodes: list(nodeHint).optional() }).optional(),
});

const endpointSlice = struct(`${DISCOVERY}.EndpointSlice`, {
  ...typeMeta,
  addressType: str().default(""),
  endpoints: list(endpoint).default([]),
  ports: list(
    struct(`${DISCOVERY}.EndpointPort`, { name: str().optional(), protocol: str().optional(), port: int32().optional(), appProtocol: str().optional() }),
  ).optional(),
});

// ---- Node ----

const nodeCondition = condition(`${CORE}.NodeCondition`, "lastHeartbeatTime");

const node = struct(`${CORE}.Node`, {
  ...typeMeta,
  spec: struct(`${CORE}.NodeSpec`, {
    podCIDR: str().optional(),
    podCIDRs: list(str()).optional(),
    unschedulable: bool().optional(),
    providerID: str().optional(),
  }).optional(),
  status: struct(`${CORE}.NodeStatus`, {
    addresses: list(struct(`${CORE}.NodeAddress`, { type: str().default(""), address: str().default("") })).optional(),
    conditions: list(nodeCondition).optional(),
  }).optional(),
});

// ---- Namespace ----

const namespace = struct(`${CORE}.Namespace`, {
  ...typeMeta,
  spec: struct(`${CORE}.NamespaceSpec`, { finalizers: list(str(), "v1.FinalizerName").optional() }).optional(),
  status: struct(`${CORE}.NamespaceStatus`, { phase: str().optional() }).optional(),
});

/** The schema of each kind, with its type (test/api/types-match-upstream.ts compares it with ./types). */
export const KIND_SCHEMAS = {
  Service: service,
  Pod: pod,
  EndpointSlice: endpointSlice,
  Node: node,
  Namespace: namespace,
} satisfies Record<Kind, Schema>;

export const SCHEMAS: Record<Kind, Schema> = KIND_SCHEMAS;

// ---- walking schemas (for unknown fields and error wording) ----

/** Strips optional/default/nullable wrappers. */
export function unwrap(s: Schema): Schema {
  let cur = s;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) cur = cur.unwrap() as Schema;
  return cur;
}

export function goTypeOf(s: Schema): string {
  return API_TYPES.get(unwrap(s))?.goType ?? "interface {}";
}

export type SchemaNode =
  | { type: "object"; shape: Record<string, Schema> }
  | { type: "array"; element: Schema }
  | { type: "map"; value: Schema }
  | { type: "raw" }
  | { type: "leaf" };

export function nodeOf(s: Schema): SchemaNode {
  const u = unwrap(s);
  if (u instanceof z.ZodObject) return { type: "object", shape: u.shape };
  if (u instanceof z.ZodArray) return { type: "array", element: u.element as Schema };
  if (u instanceof z.ZodRecord) return u.valueType instanceof z.ZodUnknown ? { type: "raw" } : { type: "map", value: u.valueType as Schema };
  return { type: "leaf" };
}
