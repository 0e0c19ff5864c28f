// Compiles a Service and its EndpointSlices into the route records the gateway
// reads from KV (contract: src/api/route.ts). Pure: same input, same records.
import { EXTRA_HOSTNAMES_ANNOTATION, TIMEOUT_ANNOTATION, type RouteEndpoint, type RoutePort, type RouteRecord } from "../api/route";
import { DEFAULT_CLIENT_IP_AFFINITY_SECONDS, isHeadless } from "../api/service-rules";
import { ENDPOINT_URLS_ANNOTATION, type Endpoint, type EndpointSlice, type Service } from "../api/types";

export interface ClusterConfig {
  clusterDomain: string;
  lbDomain: string;
}

export interface HostClaim {
  host: string;
  access: "public" | "cluster";
}

export const lbHostname = (svc: Service, cfg: ClusterConfig): string => `${svc.metadata.name}-${svc.metadata.namespace}.${cfg.lbDomain}`.toLowerCase();

export const clusterHostname = (svc: Service, cfg: ClusterConfig): string =>
  `${svc.metadata.name}.${svc.metadata.namespace}.svc.${cfg.clusterDomain}`.toLowerCase();

/** Extra public hostnames a LoadBalancer Service asks for through its annotation. */
export function extraHostnames(svc: Service): string[] {
  const raw = svc.metadata.annotations?.[EXTRA_HOSTNAMES_ANNOTATION];
  if (!raw) return [];
  return raw
    .split(",")
    .map((h) => h.trim().toLowerCase().replace(/\.$/, ""))
    .filter((h) => h.length > 0);
}

/** Every host name a Service answers on at the edge. Headless Services have none. */
export function serviceHosts(svc: Service, cfg: ClusterConfig): HostClaim[] {
  if (isHeadless(svc)) return [];
  const hosts: HostClaim[] = [{ host: clusterHostname(svc, cfg), access: "cluster" }];
  if (svc.spec.type === "LoadBalancer") {
    // The allocated hostname is derived, never read from status: status is not a claim check.
    hosts.push({ host: lbHostname(svc, cfg), access: "public" });
    for (const h of extraHostnames(svc)) hosts.push({ host: h, access: "public" });
  }
  const seen = new Set<string>();
  return hosts.filter((h) => (seen.has(h.host) ? false : (seen.add(h.host), true)));
}

/** Kubernetes' legacy annotation for source ranges, used when the spec field is empty (as kube-proxy does). */
const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";

function sourceRanges(svc: Service): string[] {
  const fromSpec = svc.spec.loadBalancerSourceRanges ?? [];
  const raw = fromSpec.length > 0 ? fromSpec : (svc.metadata.annotations?.[SOURCE_RANGES_ANNOTATION] ?? "").split(",");
  return raw.map((r) => r.trim()).filter((r) => r.length > 0);
}

/** Go-style duration ("30s", "1500ms", "2m", "1m30s") to milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    matched = re.lastIndex;
  }
  return matched === s.length && matched > 0 ? total : undefined;
}

/**
 * The URL the edge must fetch for an endpoint, when it has one (a Pod's `svcedge.io/url`);
 * null when the edge must not reach it at all (a Pod a node registered, which no admin gave a URL).
 */
export type EndpointUrlLookup = (slice: EndpointSlice, endpoint: Endpoint) => string | undefined | null;

export function compileRoutes(
  svc: Service,
  slices: EndpointSlice[],
  cfg: ClusterConfig,
  resourceVersion: string,
  urlFor: EndpointUrlLookup = sliceAnnotationUrl,
): Map<string, RouteRecord> {
  const out = new Map<string, RouteRecord>();
  const hosts = serviceHosts(svc, cfg);
  if (hosts.length === 0) return out;
  const external = svc.spec.type === "ExternalName";
  const ports = external ? [] : compilePorts(svc, slices, urlFor);
  const timeout = svc.metadata.annotations?.[TIMEOUT_ANNOTATION];
  const timeoutMs = timeout ? parseDuration(timeout) : undefined;
  for (const { host, access } of hosts) {
    const rec: RouteRecord = {
      v: 1,
      namespace: svc.metadata.namespace!,
      service: svc.metadata.name!,
      access,
      sessionAffinity: svc.spec.sessionAffinity === "ClientIP" ? "ClientIP" : "None",
      ports,
      resourceVersion,
    };
    if (external) rec.externalName = svc.spec.externalName!.replace(/\.$/, "");
    if (rec.sessionAffinity === "ClientIP")
      rec.affinityTimeoutSeconds = svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_CLIENT_IP_AFFINITY_SECONDS;
    if (timeoutMs !== undefined) rec.timeoutMs = timeoutMs;
    const ranges = sourceRanges(svc);
    if (access === "public" && ranges.length > 0) rec.sourceRanges = ranges;
    out.set(host, rec);
  }
  return out;
}

function compilePorts(svc: Service, slices: EndpointSlice[], urlFor: EndpointUrlLookup): RoutePort[] {
  // The edge speaks HTTP over TCP only; UDP and SCTP ports are the agent's.
  return (svc.spec.ports ?? [])
    .filter((p) => (p.protocol ?? "TCP") === "TCP")
    .map((p) => {
      const name = p.name ?? "";
      const ready: RouteEndpoint[] = [];
      const terminating: RouteEndpoint[] = [];
      const seen = new Set<string>();
      for (const slice of slices) {
        const sp = slice.ports?.find((x) => (x.name ?? "") === name && (x.protocol ?? "TCP") === "TCP");
        if (!sp || typeof sp.port !== "number") continue;
        for (const ep of slice.endpoints) {
          const address = ep.addresses[0];
          if (!address) continue;
          const given = urlFor(slice, ep);
          if (given === null) continue;
          const url = endpointUrl(slice.addressType, address, sp.port, given);
          // The same destination listed twice (overlapping slices) is one endpoint.
          if (seen.has(url)) continue;
          seen.add(url);
          const isReady = ep.conditions?.ready ?? true;
          const serving = ep.conditions?.serving ?? isReady;
          const isTerminating = ep.conditions?.terminating ?? false;
          const entry: RouteEndpoint = { id: ep.targetRef?.uid ?? address, url };
          if (ep.nodeName) entry.nodeName = ep.nodeName;
          if (isReady) ready.push(entry);
          else if (serving && isTerminating) terminating.push(entry);
        }
      }
      const port: RoutePort = { name, port: p.port, protocol: "TCP", ready, terminating };
      if (p.appProtocol) port.appProtocol = p.appProtocol;
      return port;
    });
}

/** For user-written slices: the `svcedge.io/endpoint-urls` annotation maps an address to its URL. */
export function sliceAnnotationUrl(slice: EndpointSlice, endpoint: Endpoint): string | undefined {
  const raw = slice.metadata.annotations?.[ENDPOINT_URLS_ANNOTATION];
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const url = parsed?.[endpoint.addresses[0] ?? ""];
    return typeof url === "string" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** A pod URL may name its port with `{port}`; otherwise it is used as is. Without a URL, `http://address:port`. */
function endpointUrl(addressType: EndpointSlice["addressType"], address: string, port: number, url?: string): string {
  if (url) return url.replace(/\{port\}/g, String(port)).replace(/\/$/, "");
  const host = addressType === "IPv6" ? `[${address}]` : address;
  return `http://${host}:${port}`;
}
