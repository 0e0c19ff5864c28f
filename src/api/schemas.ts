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
import * as z from "zod/mini";
import type { Kind } from "./resources";

type Schema = z.ZodMiniType;

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
const int32 = () => go(z.int().check(z.minimum(INT32_MIN), z.maximum(INT32_MAX)), "int32");
const int64 = () => go(z.int(), "int64");
const bool = () => go(z.boolean(), "bool");
const strMap = () => go(z.record(z.string(), str()), "map[string]string");
const list = <T extends Schema>(el: T, goEl = goTypeOf(el)) => go(z.array(el), `[]${goEl}`);
/** A Go struct, by its OpenAPI name: its Go type name is the last two parts (io.k8s.api.core.v1.ServicePort is v1.ServicePort). */
const struct = <S extends z.core.$ZodLooseShape>(name: string, shape: S) => go(z.object(shape), name.split(".").slice(-2).join("."), name);
/** Free-form JSON (managedFields' fieldsV1): not walked for unknown fields. */
const rawJSON = () => go(z.record(z.string(), z.unknown()), "v1.FieldsV1");
const intOrString = go(
  z.union([z.int().check(z.minimum(INT32_MIN), z.maximum(INT32_MAX)), z.string()]),
  "intstr.IntOrString",
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
);

const ownerReference = struct(`${META}.OwnerReference`, {
  apiVersion: z._default(str(), ""),
  kind: z._default(str(), ""),
  name: z._default(str(), ""),
  uid: z._default(str(), ""),
  controller: z.optional(bool()),
  blockOwnerDeletion: z.optional(bool()),
});

const managedFieldsEntry = struct(`${META}.ManagedFieldsEntry`, {
  manager: z.optional(str()),
  operation: z.optional(str()),
  apiVersion: z.optional(str()),
  time: z.optional(str()),
  fieldsType: z.optional(str()),
  fieldsV1: z.optional(rawJSON()),
  subresource: z.optional(str()),
});

const objectMeta = struct(`${META}.ObjectMeta`, {
  name: z.optional(str()),
  generateName: z.optional(str()),
  namespace: z.optional(str()),
  uid: z.optional(str()),
  resourceVersion: z.optional(str()),
  generation: z.optional(int64()),
  creationTimestamp: z.optional(str()),
  deletionTimestamp: z.optional(str()),
  deletionGracePeriodSeconds: z.optional(int64()),
  labels: z.optional(strMap()),
  annotations: z.optional(strMap()),
  managedFields: z.optional(list(managedFieldsEntry)),
  finalizers: z.optional(list(str())),
  ownerReferences: z.optional(list(ownerReference)),
});

const typeMeta = { apiVersion: z.optional(str()), kind: z.optional(str()), metadata: z._default(objectMeta, {}) };

// ---- Service ----

const servicePort = struct(`${CORE}.ServicePort`, {
  name: z.optional(str()),
  protocol: z.optional(str()),
  appProtocol: z.optional(str()),
  port: z._default(int32(), 0),
  targetPort: z.optional(intOrString),
  nodePort: z.optional(int32()),
});

const portStatus = struct(`${CORE}.PortStatus`, { port: z._default(int32(), 0), protocol: z._default(str(), ""), error: z.optional(str()) });

const loadBalancerIngress = struct(`${CORE}.LoadBalancerIngress`, {
  ip: z.optional(str()),
  hostname: z.optional(str()),
  ipMode: z.optional(str()),
  ports: z.optional(list(portStatus)),
});

const serviceSpec = struct(`${CORE}.ServiceSpec`, {
  type: z.optional(str()),
  selector: z.optional(strMap()),
  ports: z.optional(list(servicePort)),
  clusterIP: z.optional(str()),
  clusterIPs: z.optional(list(str())),
  externalName: z.optional(str()),
  externalIPs: z.optional(list(str())),
  sessionAffinity: z.optional(str()),
  sessionAffinityConfig: z.optional(
    struct(`${CORE}.SessionAffinityConfig`, {
      clientIP: z.optional(struct(`${CORE}.ClientIPConfig`, { timeoutSeconds: z.optional(int32()) })),
    }),
  ),
  externalTrafficPolicy: z.optional(str()),
  internalTrafficPolicy: z.optional(str()),
  healthCheckNodePort: z.optional(int32()),
  loadBalancerSourceRanges: z.optional(list(str())),
  loadBalancerClass: z.optional(str()),
  allocateLoadBalancerNodePorts: z.optional(bool()),
  publishNotReadyAddresses: z.optional(bool()),
  ipFamilies: z.optional(list(str(), "v1.IPFamily")),
  ipFamilyPolicy: z.optional(str()),
  trafficDistribution: z.optional(str()),
});

const service = struct(`${CORE}.Service`, {
  ...typeMeta,
  spec: z._default(serviceSpec, {}),
  status: z.optional(
    struct(`${CORE}.ServiceStatus`, {
      loadBalancer: z.optional(struct(`${CORE}.LoadBalancerStatus`, { ingress: z.optional(list(loadBalancerIngress)) })),
    }),
  ),
});

// ---- Pod ----

const containerPort = struct(`${CORE}.ContainerPort`, {
  name: z.optional(str()),
  containerPort: z._default(int32(), 0),
  protocol: z.optional(str()),
  hostPort: z.optional(int32()),
});

const httpHeader = struct(`${CORE}.HTTPHeader`, { name: z._default(str(), ""), value: z._default(str(), "") });

const probe = struct(`${CORE}.Probe`, {
  httpGet: z.optional(
    struct(`${CORE}.HTTPGetAction`, {
      path: z.optional(str()),
      port: z._default(intOrString, 0),
      host: z.optional(str()),
      scheme: z.optional(str()),
      httpHeaders: z.optional(list(httpHeader)),
    }),
  ),
  tcpSocket: z.optional(struct(`${CORE}.TCPSocketAction`, { port: z._default(intOrString, 0), host: z.optional(str()) })),
  grpc: z.optional(struct(`${CORE}.GRPCAction`, { port: z._default(int32(), 0), service: z.optional(str()) })),
  initialDelaySeconds: z.optional(int32()),
  periodSeconds: z.optional(int32()),
  timeoutSeconds: z.optional(int32()),
  successThreshold: z.optional(int32()),
  failureThreshold: z.optional(int32()),
});

const container = struct(`${CORE}.Container`, {
  name: z._default(str(), ""),
  image: z.optional(str()),
  ports: z.optional(list(containerPort)),
  readinessProbe: z.optional(probe),
});

/** PodCondition and NodeCondition differ only in the name of their second timestamp. */
const condition = (name: string, timestamp: "lastProbeTime" | "lastHeartbeatTime") =>
  struct(name, {
    type: z._default(str(), ""),
    status: z._default(str(), ""),
    [timestamp]: z.optional(str()),
    lastTransitionTime: z.optional(str()),
    reason: z.optional(str()),
    message: z.optional(str()),
  });

const podCondition = condition(`${CORE}.PodCondition`, "lastProbeTime");

const pod = struct(`${CORE}.Pod`, {
  ...typeMeta,
  spec: z._default(
    struct(`${CORE}.PodSpec`, {
      nodeName: z.optional(str()),
      containers: z._default(list(container), []),
      hostname: z.optional(str()),
      subdomain: z.optional(str()),
    }),
    { containers: [] },
  ),
  status: z.optional(
    struct(`${CORE}.PodStatus`, {
      phase: z.optional(str()),
      podIP: z.optional(str()),
      podIPs: z.optional(list(struct(`${CORE}.PodIP`, { ip: z._default(str(), "") }))),
      hostIP: z.optional(str()),
      conditions: z.optional(list(podCondition)),
      startTime: z.optional(str()),
    }),
  ),
});

// ---- EndpointSlice ----

const zoneHint = struct(`${DISCOVERY}.ForZone`, { name: z._default(str(), "") });
const nodeHint = struct(`${DISCOVERY}.ForNode`, { name: z._default(str(), "") });

const endpoint = struct(`${DISCOVERY}.Endpoint`, {
  addresses: z._default(list(str()), []),
  conditions: z.optional(
    struct(`${DISCOVERY}.EndpointConditions`, { ready: z.optional(bool()), serving: z.optional(bool()), terminating: z.optional(bool()) }),
  ),
  hostname: z.optional(str()),
  targetRef: z.optional(
    struct(`${CORE}.ObjectReference`, {
      kind: z.optional(str()),
      namespace: z.optional(str()),
      name: z.optional(str()),
      uid: z.optional(str()),
      apiVersion: z.optional(str()),
      resourceVersion: z.optional(str()),
      fieldPath: z.optional(str()),
    }),
  ),
  nodeName: z.optional(str()),
  zone: z.optional(str()),
  deprecatedTopology: z.optional(strMap()),
  hints: z.optional(struct(`${DISCOVERY}.EndpointHints`, { forZones: z.optional(list(zoneHint)), forNodes: z.optional(list(nodeHint)) })),
});

const endpointSlice = struct(`${DISCOVERY}.EndpointSlice`, {
  ...typeMeta,
  addressType: z._default(str(), ""),
  endpoints: z._default(list(endpoint), []),
  ports: z.optional(
    list(
      struct(`${DISCOVERY}.EndpointPort`, { name: z.optional(str()), protocol: z.optional(str()), port: z.optional(int32()), appProtocol: z.optional(str()) }),
    ),
  ),
});

// ---- Node ----

const nodeCondition = condition(`${CORE}.NodeCondition`, "lastHeartbeatTime");

const node = struct(`${CORE}.Node`, {
  ...typeMeta,
  spec: z.optional(
    struct(`${CORE}.NodeSpec`, {
      podCIDR: z.optional(str()),
      podCIDRs: z.optional(list(str())),
      unschedulable: z.optional(bool()),
      providerID: z.optional(str()),
    }),
  ),
  status: z.optional(
    struct(`${CORE}.NodeStatus`, {
      addresses: z.optional(list(struct(`${CORE}.NodeAddress`, { type: z._default(str(), ""), address: z._default(str(), "") }))),
      conditions: z.optional(list(nodeCondition)),
    }),
  ),
});

// ---- Namespace ----

const namespace = struct(`${CORE}.Namespace`, {
  ...typeMeta,
  spec: z.optional(struct(`${CORE}.NamespaceSpec`, { finalizers: z.optional(list(str(), "v1.FinalizerName")) })),
  status: z.optional(struct(`${CORE}.NamespaceStatus`, { phase: z.optional(str()) })),
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
  while (cur instanceof z.ZodMiniOptional || cur instanceof z.ZodMiniDefault || cur instanceof z.ZodMiniNullable) cur = cur._zod.def.innerType as Schema;
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

/**
 * Each schema's node, once worked out: decoding walks the schema for every field of every
 * body, and zod's `instanceof` checks and `shape` getters cost more than the walk itself.
 * Keyed by schema object: the schemas are built once at module load, so this stays bounded.
 */
const nodes = new WeakMap<Schema, SchemaNode>();

export function nodeOf(s: Schema): SchemaNode {
  let node = nodes.get(s);
  if (!node) {
    node = schemaNode(unwrap(s));
    nodes.set(s, node);
  }
  return node;
}

function schemaNode(u: Schema): SchemaNode {
  if (u instanceof z.ZodMiniObject) return { type: "object", shape: u.shape as Record<string, Schema> };
  if (u instanceof z.ZodMiniArray) return { type: "array", element: u._zod.def.element as Schema };
  if (u instanceof z.ZodMiniRecord) {
    const value = u._zod.def.valueType;
    return value instanceof z.ZodMiniUnknown ? { type: "raw" } : { type: "map", value: value as Schema };
  }
  return { type: "leaf" };
}
