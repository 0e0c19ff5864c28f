// The endpoints controller: Service selector × Pods × readiness → EndpointSlices.
// Pure: `desiredSlices` computes what the managed slices of one Service must be;
// the registry diffs that against what is stored and writes only the changes.
import { contentHash } from "../api/content-hash";
import { ipFamilyOfString } from "../api/ip";
import {
  MANAGED_BY_CONTROLLER,
  MANAGED_BY_LABEL,
  POD_URL_ANNOTATION,
  SERVICE_NAME_LABEL,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type Pod,
  type Service,
} from "../api/types";

/**
 * Endpoints per slice the controller writes: kube-controller-manager's default --max-endpoints-per-slice.
 * (Validation allows a slice up to 1,000: MAX_ENDPOINTS_PER_SLICE in api/validate-endpointslice.ts.)
 */
export const ENDPOINTS_PER_MANAGED_SLICE = 100;

export interface NodeFacts {
  /** False when the Node exists and is not Ready (its lease expired). Pods with no Node object count as on a live node. */
  isReady(nodeName: string): boolean;
  zone(nodeName: string): string | undefined;
}

export const selectsPods = (svc: Service): boolean => svc.spec.type !== "ExternalName" && !!svc.spec.selector && Object.keys(svc.spec.selector).length > 0;

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

export function podReadyCondition(pod: Pod): boolean {
  const cond = pod.status?.conditions?.find((c) => c.type === "Ready");
  if (cond) return cond.status === "True";
  // svcedge does not run pods: a pod without a readiness probe is ready while it is registered.
  return !pod.spec.containers.some((c) => c.readinessProbe);
}

type AddressType = EndpointSlice["addressType"];

/**
 * The address types a Service's slices hold, one per IP family (the EndpointSlice controller's
 * getAddressTypesForService); a Service stored before it had families: its clusterIP's, or both when headless.
 */
export function addressTypesOf(svc: Service): AddressType[] {
  if (svc.spec.ipFamilies?.length) return [...svc.spec.ipFamilies];
  const ip = svc.spec.clusterIP;
  if (ip && ip !== "None") return [ip.includes(":") ? "IPv6" : "IPv4"];
  return ["IPv4", "IPv6"];
}

/**
 * A Pod's addresses of one family (status.podIPs, as the controller's getEndpointAddresses); a Pod
 * with no IP but a URL (svcedge's own) gives its host name, as an FQDN endpoint, whatever the Service's families.
 */
function podAddresses(pod: Pod, types: AddressType[]): { address: string; type: AddressType }[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  if (ips.length > 0) {
    const out: { address: string; type: AddressType }[] = [];
    for (const type of types) {
      const address = ips.find((ip) => (ipFamilyOfString(ip) === 6) === (type === "IPv6"));
      if (address) out.push({ address, type });
    }
    return out;
  }
  const url = pod.metadata.annotations?.[POD_URL_ANNOTATION];
  if (!url) return [];
  try {
    return [{ address: new URL(url.replace(/\{port\}/g, "1")).hostname, type: "FQDN" }];
  } catch {
    return [];
  }
}

/** The service port numbers a pod serves: named targetPorts resolve through its container ports. */
function podPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const protocol = sp.protocol ?? "TCP";
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof target === "number") port = target;
    else {
      for (const c of pod.spec.containers)
        for (const cp of c.ports ?? []) if (cp.name === target && (cp.protocol ?? "TCP") === protocol) port = cp.containerPort;
    }
    if (port === undefined) continue; // as Kubernetes: an unresolvable named port leaves this pod out of that port
    const ep: EndpointPort = { name: sp.name ?? "", port, protocol };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** A stable 7-character name suffix per slice family and chunk (the controller's names must not depend on order). */
const sliceSuffix = (s: string): string => contentHash(s).toString(36).padStart(7, "0").slice(-7);

/**
 * The managed slices a Service should have, keyed by name. Pods are grouped by
 * address type (one per family of the Service: a dual-stack Pod is in an IPv4 and an IPv6 slice) and resolved port list (one slice family per group, as the
 * Kubernetes controller does) and chunked at ENDPOINTS_PER_MANAGED_SLICE.
 */
export function desiredSlices(svc: Service, pods: Pod[], nodes: NodeFacts): EndpointSlice[] {
  if (!selectsPods(svc)) return [];
  const groups = new Map<string, { type: EndpointSlice["addressType"]; ports: EndpointPort[]; endpoints: Endpoint[] }>();
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const types = addressTypesOf(svc);
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace) continue;
    if (!selectorMatches(svc.spec.selector!, pod.metadata.labels)) continue;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
    const addrs = podAddresses(pod, types);
    if (addrs.length === 0) continue;
    const ports = podPorts(svc, pod);
    const nodeName = pod.spec.nodeName;
    const nodeLive = nodeName ? nodes.isReady(nodeName) : true;
    const terminating = !!pod.metadata.deletionTimestamp;
    const serving = podReadyCondition(pod) && nodeLive;
    for (const addr of addrs) {
      const key = `${addr.type}|${JSON.stringify(ports)}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { type: addr.type, ports, endpoints: [] }));
      const ep: Endpoint = {
        addresses: [addr.address],
        conditions: { ready: publishNotReady || (serving && !terminating), serving: publishNotReady || serving, terminating },
        targetRef: { kind: "Pod", namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! },
      };
      // As the upstream controller: a Pod names its endpoint when its subdomain is this Service (DNS: <hostname>.<svc>.<ns>.svc).
      if (pod.spec.hostname && pod.spec.subdomain === svc.metadata.name) ep.hostname = pod.spec.hostname;
      if (nodeName) {
        ep.nodeName = nodeName;
        const zone = nodes.zone(nodeName);
        if (zone) ep.zone = zone;
      }
      g.endpoints.push(ep);
    }
  }
  const out: EndpointSlice[] = [];
  const svcName = svc.metadata.name!;
  for (const [key, g] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const order = (e: Endpoint) => `${e.addresses[0]}/${e.targetRef?.name ?? ""}`;
    g.endpoints.sort((a, b) => (order(a) < order(b) ? -1 : 1));
    for (let i = 0; i < g.endpoints.length; i += ENDPOINTS_PER_MANAGED_SLICE) {
      const chunk = g.endpoints.slice(i, i + ENDPOINTS_PER_MANAGED_SLICE);
      const slice: EndpointSlice = {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: `${svcName}-${sliceSuffix(`${key}#${i}`)}`,
          namespace: svc.metadata.namespace!,
          labels: { [SERVICE_NAME_LABEL]: svcName, [MANAGED_BY_LABEL]: MANAGED_BY_CONTROLLER },
          ownerReferences: [{ apiVersion: "v1", kind: "Service", name: svcName, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        addressType: g.type,
        endpoints: chunk,
        ports: g.ports,
      };
      out.push(slice);
    }
  }
  return out;
}

export const isManagedSlice = (s: EndpointSlice): boolean => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_CONTROLLER;

/** True when two slices carry the same content (what the controller would write). */
export function sameSliceContent(a: EndpointSlice, b: EndpointSlice): boolean {
  return (
    a.addressType === b.addressType &&
    JSON.stringify(a.endpoints) === JSON.stringify(b.endpoints) &&
    JSON.stringify(a.ports) === JSON.stringify(b.ports) &&
    JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {}) &&
    JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {})
  );
}
