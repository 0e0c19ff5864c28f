// Server-side printing: meta.k8s.io/v1 Table objects with the columns
// kube-apiserver's printers (pkg/printers/internalversion/printers.go) give each
// kind, so that `kubectl get` prints what users see against a real cluster.
import type { EndpointSlice, Endpoints, KubeObject, Lease, List, Namespace, Node, Pod, Service } from "../api/types";
import { podHasAddress } from "../api/pod-status";
import { podReadyCondition } from "../registry/endpoints-controller";
import { age } from "./human-duration";
import { hasOwn } from "../api/plain-data";

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

/** `includeObject`: what each row carries (the apiserver's default is Metadata). */
export type IncludeObject = "None" | "Metadata" | "Object";

interface Printer {
  columns: ColumnDefinition[];
  cells(obj: KubeObject, now: number): unknown[];
}

const NAME_DOC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DOC =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

const col = (name: string, description: string, priority = 0, format = ""): ColumnDefinition => ({ name, type: "string", format, description, priority });
const NAME = col("Name", NAME_DOC, 0, "name");
const AGE = col("Age", AGE_DOC);
const NONE = "<none>";

const orNone = (s: string | undefined): string => (s ? s : NONE);

function formatLabels(set: Record<string, string> | undefined): string {
  const keys = Object.keys(set ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${set![k]}`).join(",") : NONE;
}

/** getServiceExternalIP in the printers; the apiserver prints wide, so load-balancer lists are not truncated. */
function serviceExternalIP(svc: Service): string {
  const external = svc.spec.externalIPs ?? [];
  switch (svc.spec.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : NONE;
    case "LoadBalancer": {
      const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter(Boolean);
      const all = [...ingress, ...external];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return svc.spec.externalName ?? "";
  }
  return "<unknown>";
}

function servicePorts(svc: Service): string {
  const ports = svc.spec.ports ?? [];
  if (ports.length === 0) return NONE;
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`)).join(",");
}

/** listWithMoreString: at most three entries, then "+ N more...". */
const MAX_LISTED = 3;
function listWithMore(values: string[]): string {
  const shown = values.slice(0, MAX_LISTED).join(",");
  if (values.length > MAX_LISTED) return `${shown} + ${values.length - MAX_LISTED} more...`;
  return shown || "<unset>";
}

/** formatEndpoints: each ready address with each port ("ip:port", IPv6 bracketed), at most three, then "+ N more...". */
function formatEndpoints(e: Endpoints): string {
  const subsets = e.subsets ?? [];
  if (subsets.length === 0) return NONE;
  const hostPort = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
  const values = subsets.flatMap((s) => {
    const ips = (s.addresses ?? []).map((a) => a.ip);
    return s.ports?.length ? s.ports.flatMap((p) => ips.map((ip) => hostPort(ip, p.port))) : ips;
  });
  return values.length ? listWithMore(values) : "";
}

function podStatus(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  return pod.status?.phase ?? "Pending";
}

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  const states = [!ready ? "Unknown" : ready.status === "True" ? "Ready" : "NotReady"];
  if (node.spec?.unschedulable) states.push("SchedulingDisabled");
  return states.join(",");
}

const NODE_ROLE_PREFIX = "node-role.kubernetes.io/";
function nodeRoles(node: Node): string {
  const labels = node.metadata.labels ?? {};
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(NODE_ROLE_PREFIX) && k.length > NODE_ROLE_PREFIX.length) roles.add(k.slice(NODE_ROLE_PREFIX.length));
    else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(",") : NONE;
}

const nodeAddress = (node: Node, type: string): string => orNone(node.status?.addresses?.find((a) => a.type === type)?.address);

const PRINTERS: Record<string, Printer> = {
  services: {
    columns: [
      NAME,
      col("Type", "type determines how the Service is exposed."),
      col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
      col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
      col("Port(s)", "The list of ports that are exposed by this service."),
      AGE,
      col("Selector", "Route service traffic to pods with label keys and values matching this selector.", 1),
    ],
    cells: (o, now) => {
      const s = o as Service;
      return [
        s.metadata.name,
        s.spec.type ?? "ClusterIP",
        orNone(s.spec.clusterIP),
        serviceExternalIP(s),
        servicePorts(s),
        age(s.metadata.creationTimestamp, now),
        formatLabels(s.spec.selector),
      ];
    },
  },
  pods: {
    columns: [
      NAME,
      col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
      col("Status", "The aggregate status of the containers in this pod."),
      col("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
      AGE,
      col("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
      col("Node", "NodeName indicates in which node this pod is scheduled.", 1),
      col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
      col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ],
    cells: (o, now) => {
      const p = o as Pod;
      const total = p.spec.containers.length;
      const ready = podReadyCondition(p) && podHasAddress(p) && !p.metadata.deletionTimestamp ? total : 0;
      return [
        p.metadata.name,
        `${ready}/${total}`,
        podStatus(p),
        "0",
        age(p.metadata.creationTimestamp, now),
        orNone(p.status?.podIP),
        orNone(p.spec.nodeName),
        NONE,
        NONE,
      ];
    },
  },
  endpoints: {
    columns: [NAME, col("Endpoints", "Endpoints of this service"), AGE],
    cells: (o, now) => [o.metadata.name, formatEndpoints(o as Endpoints), age(o.metadata.creationTimestamp, now)],
  },
  endpointslices: {
    columns: [
      NAME,
      col("AddressType", "Type of address carried by this EndpointSlice"),
      col("Ports", "Ports advertised by this EndpointSlice"),
      col("Endpoints", "Endpoints represented by this EndpointSlice"),
      AGE,
    ],
    cells: (o, now) => {
      const s = o as EndpointSlice;
      const ports = (s.ports ?? []).map((p) => (p.port != null ? String(p.port) : p.name ? p.name : "*"));
      return [
        s.metadata.name,
        s.addressType,
        listWithMore(ports),
        listWithMore(s.endpoints.flatMap((e) => e.addresses)),
        age(s.metadata.creationTimestamp, now),
      ];
    },
  },
  nodes: {
    columns: [
      NAME,
      col("Status", "The status of the node"),
      col("Roles", "The roles of the node"),
      AGE,
      col("Version", "Kubelet Version reported by the node."),
      col("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
      col("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
      col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
      col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
      col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
    ],
    cells: (o, now) => {
      const n = o as Node;
      return [
        n.metadata.name,
        nodeStatus(n),
        nodeRoles(n),
        age(n.metadata.creationTimestamp, now),
        "",
        nodeAddress(n, "InternalIP"),
        nodeAddress(n, "ExternalIP"),
        "<unknown>",
        "<unknown>",
        "<unknown>",
      ];
    },
  },
  namespaces: {
    columns: [NAME, col("Status", "The status of the namespace"), AGE],
    cells: (o, now) => [o.metadata.name, (o as Namespace).status?.phase ?? "", age(o.metadata.creationTimestamp, now)],
  },
  leases: {
    columns: [NAME, col("Holder", "holderIdentity contains the identity of the holder of a current lease."), AGE],
    cells: (o, now) => [o.metadata.name, (o as Lease).spec.holderIdentity ?? "", age(o.metadata.creationTimestamp, now)],
  },
  events: {
    columns: [
      col("Last Seen", "Time when this Event was last observed."),
      col("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
      col("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      col("Object", "The object that this event is about."),
      col("Message", "A human-readable description of the status of this operation."),
    ],
    cells: () => [],
  },
};

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === "None") return undefined;
  if (include === "Object") return obj;
  // PartialObjectMetadata: kubectl reads the namespace from it for -A.
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata };
}

export function hasPrinter(resource: string): boolean {
  return hasOwn(PRINTERS, resource);
}

/** A Table of `items`, with every column; kubectl hides priority-1 columns unless -o wide. */
export function toTable(resource: string, items: KubeObject[], meta: Table["metadata"], include: IncludeObject = "Metadata", now = Date.now()): Table {
  return { ...tableHead(resource, meta), rows: items.map((o) => tableRow(resource, o, include, now)) };
}

/** A Table but its rows (which come last), for writing the rows as they arrive. */
export function tableHead(resource: string, meta: Table["metadata"]): Omit<Table, "rows"> {
  return { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: meta, columnDefinitions: PRINTERS[resource]!.columns };
}

export function tableRow(resource: string, obj: KubeObject, include: IncludeObject, now: number): TableRow {
  const row: TableRow = { cells: PRINTERS[resource]!.cells(obj, now) };
  const object = rowObject(obj, include);
  if (object !== undefined) row.object = object;
  return row;
}

export function listToTable(resource: string, list: List, include: IncludeObject): Table {
  return toTable(resource, list.items, list.metadata, include);
}
