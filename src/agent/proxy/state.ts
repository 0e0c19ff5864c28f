// The proxier's view of the cluster: one entry per (Service, port) with the endpoints
// this node may use, in a stable order so that rendered rules are deterministic.
// Like kube-proxy's ServicePortMap + EndpointsMap, reduced to what the rule renderers need.
// The renderers program the IPv4 family only, so IPv6 addresses are left out here.
import type { EndpointSlice, Protocol, Service, ServicePort } from "../../api/types";
import { SERVICE_NAME_LABEL } from "../../api/types";
import { categorizeEndpoints, endpointKey, type CategorizedEndpoints, type EndpointInfo } from "./categorize";

export type { EndpointInfo } from "./categorize";

/** core/v1 default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

export interface ServicePortState extends CategorizedEndpoints {
  /** kube-proxy's ServicePortName string: "ns/name" or "ns/name:portName". */
  name: string;
  namespace: string;
  service: string;
  portName: string;
  protocol: Protocol;
  clusterIPs: string[];
  port: number;
  /** 0 when the Service has no NodePort. */
  nodePort: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** ClientIP affinity timeout; 0 when sessionAffinity is None. */
  affinityTimeoutSeconds: number;
  externallyAccessible: boolean;
  /** externalTrafficPolicy Local, on a port that takes external traffic. */
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** Every endpoint from the slices, sorted by address then port. */
  endpoints: EndpointInfo[];
}

export interface ProxyState {
  nodeName: string;
  nodeIPs: string[];
  /** Sorted by name then protocol. */
  services: ServicePortState[];
}

export interface ProxyStateInput {
  services: Service[];
  slices: EndpointSlice[];
  nodeName: string;
  nodeIPs: string[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
export const isIPv4 = (ip: string): boolean => IPV4.test(ip);

/** Numeric order for IPv4 addresses, so 10.0.0.9 sorts before 10.0.0.10. */
export function compareIPv4(a: string, b: string): number {
  const pa = a.split(".");
  const pb = b.split(".");
  for (let i = 0; i < 4; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

const compareEndpoints = (a: EndpointInfo, b: EndpointInfo): number => compareIPv4(a.ip, b.ip) || a.port - b.port;
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const portKey = (name: string, protocol: Protocol): string => `${name}/${protocol}`;

/** Services kube-proxy ignores: ExternalName and headless (ShouldSkipService). */
function isProxied(svc: Service): boolean {
  if (svc.spec.type === "ExternalName") return false;
  const ip = svc.spec.clusterIP;
  return ip !== undefined && ip !== "" && ip !== "None";
}

/** Endpoints of each service, keyed by "ns/name" then by "portName/PROTOCOL". */
function indexSlices(slices: EndpointSlice[], nodeName: string): Map<string, Map<string, Map<string, EndpointInfo>>> {
  const byService = new Map<string, Map<string, Map<string, EndpointInfo>>>();
  for (const slice of slices) {
    const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svcName || slice.addressType !== "IPv4") continue;
    const svcKey = `${slice.metadata.namespace ?? "default"}/${svcName}`;
    let byPort = byService.get(svcKey);
    if (!byPort) byService.set(svcKey, (byPort = new Map()));
    for (const p of slice.ports ?? []) {
      if (p.port === undefined || p.port === null) continue;
      const key = portKey(p.name ?? "", p.protocol ?? "TCP");
      let eps = byPort.get(key);
      if (!eps) byPort.set(key, (eps = new Map()));
      for (const ep of slice.endpoints) {
        const ip = ep.addresses[0];
        if (ip === undefined || !isIPv4(ip)) continue;
        const c = ep.conditions ?? {};
        // discovery/v1: nil ready means ready; nil serving follows ready; nil terminating means not terminating.
        const ready = c.ready !== false;
        const info: EndpointInfo = {
          ip,
          port: p.port,
          ready,
          serving: c.serving === undefined || c.serving === null ? ready : c.serving,
          terminating: c.terminating === true,
          isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
        };
        if (ep.nodeName !== undefined) info.nodeName = ep.nodeName;
        // The same endpoint may appear in two slices while the controller moves it; keep one.
        eps.set(endpointKey(info), info);
      }
    }
  }
  return byService;
}

function servicePortState(svc: Service, sp: ServicePort, endpoints: EndpointInfo[]): ServicePortState | undefined {
  const spec = svc.spec;
  const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? ""]).filter(isIPv4);
  if (clusterIPs.length === 0) return undefined;
  const type = spec.type ?? "ClusterIP";
  const nodePort = (type === "NodePort" || type === "LoadBalancer") && sp.nodePort ? sp.nodePort : 0;
  const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
  // Ingress with ipMode Proxy is reached through the load balancer, not DNATed on the node.
  const loadBalancerIPs =
    type === "LoadBalancer"
      ? (svc.status?.loadBalancer?.ingress ?? []).flatMap((ing) => (ing.ip && ing.ipMode !== "Proxy" && isIPv4(ing.ip) ? [ing.ip] : []))
      : [];
  const externallyAccessible = nodePort !== 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
  const externalPolicyLocal = externallyAccessible && spec.externalTrafficPolicy === "Local";
  const internalPolicyLocal = spec.internalTrafficPolicy === "Local";
  const affinityTimeoutSeconds =
    spec.sessionAffinity === "ClientIP" ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS : 0;
  const namespace = svc.metadata.namespace ?? "default";
  const service = svc.metadata.name ?? "";
  const portName = sp.name ?? "";
  const policies = { externallyAccessible, externalPolicyLocal, internalPolicyLocal };
  return {
    name: `${namespace}/${service}${portName ? `:${portName}` : ""}`,
    namespace,
    service,
    portName,
    protocol: sp.protocol ?? "TCP",
    clusterIPs,
    port: sp.port,
    nodePort,
    externalIPs,
    loadBalancerIPs,
    affinityTimeoutSeconds,
    ...policies,
    endpoints,
    ...categorizeEndpoints(endpoints, policies),
  };
}

export function buildProxyState(input: ProxyStateInput): ProxyState {
  const slicesByService = indexSlices(input.slices, input.nodeName);
  const services: ServicePortState[] = [];
  for (const svc of input.services) {
    if (!isProxied(svc)) continue;
    const byPort = slicesByService.get(`${svc.metadata.namespace ?? "default"}/${svc.metadata.name ?? ""}`);
    for (const sp of svc.spec.ports ?? []) {
      const eps = [...(byPort?.get(portKey(sp.name ?? "", sp.protocol ?? "TCP"))?.values() ?? [])].sort(compareEndpoints);
      const state = servicePortState(svc, sp, eps);
      if (state) services.push(state);
    }
  }
  services.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.protocol, b.protocol));
  return { nodeName: input.nodeName, nodeIPs: [...input.nodeIPs].filter(isIPv4).sort(compareIPv4), services };
}
