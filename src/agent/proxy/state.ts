// The proxier's view of the cluster: one entry per (Service, port) with the endpoints
// this node may use, in a stable order so that rendered rules are deterministic.
// Like kube-proxy's ServicePortMap + EndpointsMap, reduced to what the rule renderers need.
// One IP family at a time, as each of kube-proxy's per-family proxiers (MetaProxier) sees
// it: the family's ClusterIPs, external and load-balancer IPs, and the EndpointSlices of
// its addressType.
import type { Endpoint, EndpointConditions, EndpointPort, EndpointSlice, ObjectMeta, Protocol, Service, ServicePort } from "../../api/types";
import { ipToBigInt, isIPv4, parseIP } from "../../api/ip";
import { DEFAULT_CLIENT_IP_AFFINITY_SECONDS } from "../../api/service-rules";
import { SERVICE_NAME_LABEL } from "../../api/types";
import { categorizeEndpoints, type CategorizedEndpoints, type EndpointInfo } from "./categorize";

export type { EndpointInfo } from "./categorize";

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

/** An IP family as the Service API names it (spec.ipFamilies, EndpointSlice addressType). */
export type IPFamily = "IPv4" | "IPv6";

export interface ProxyStateInput {
  services: Service[];
  slices: EndpointSlice[];
  nodeName: string;
  nodeIPs: string[];
  /** The family this state is for (default IPv4): addresses and slices of the other one are left out. */
  family?: IPFamily;
}

/** Shared by every service port without such addresses; frozen, since it is everyone's. */
const NO_ADDRESSES: string[] = Object.freeze([]) as unknown as string[];
/** Whether `ip` belongs to `family` (an IPv6 address is anything that parses and is not dotted-quad IPv4). */
export const isOfFamily = (ip: string, family: IPFamily): boolean => (family === "IPv4" ? isIPv4(ip) : !isIPv4(ip) && parseIP(ip)?.family === 6);
/** The addresses of one family in a list: the list itself when that is all of it (the store's array is shared, not copied). */
const onlyFamily = (ips: string[], family: IPFamily): string[] =>
  ips.every((ip) => isOfFamily(ip, family)) ? ips : ips.filter((ip) => isOfFamily(ip, family));

/**
 * Numeric order for IPv4 addresses, so 10.0.0.9 sorts before 10.0.0.10. Read octet by octet
 * from the characters: it runs for every pair a sort compares (millions at 10,000 Services),
 * so it makes no strings.
 */
export function compareIPv4(a: string, b: string): number {
  let i = 0;
  let j = 0;
  for (let part = 0; part < 4; part++) {
    let x = 0;
    let y = 0;
    for (let c = a.charCodeAt(i); c >= 48 && c <= 57; c = a.charCodeAt(++i)) x = x * 10 + c - 48;
    for (let c = b.charCodeAt(j); c >= 48 && c <= 57; c = b.charCodeAt(++j)) y = y * 10 + c - 48;
    if (x !== y) return x - y;
    i++;
    j++;
  }
  return 0;
}

/** Numeric order for addresses of one family (IPv4 as compareIPv4, IPv6 by value). */
export function compareIPs(a: string, b: string): number {
  // Only IPv6 addresses hold a colon: the per-endpoint check stays as cheap as it was for IPv4.
  if (!a.includes(":") && !b.includes(":")) return compareIPv4(a, b);
  const x = parseIP(a);
  const y = parseIP(b);
  if (!x || !y) return compareStrings(a, b);
  const d = ipToBigInt(x.bytes) - ipToBigInt(y.bytes);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

const compareEndpoints = (a: EndpointInfo, b: EndpointInfo): number => compareIPs(a.ip, b.ip) || a.port - b.port;
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const portKey = (name: string, protocol: Protocol): string => `${name}/${protocol}`;

/** A Service with this label belongs to another proxy (kube-proxy's apis.LabelServiceProxyName). */
export const SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
/** Set by the EndpointSlice controller on a headless Service's slices (v1.IsHeadlessService). */
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
/**
 * kube-proxy's informers list and watch only objects without either label; the agent asks
 * the API for the same when nothing else (cluster DNS) needs the other objects.
 */
export const PROXY_LABEL_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL},!${HEADLESS_LABEL}`;

/** Whether kube-proxy's label selector (PROXY_LABEL_SELECTOR) leaves the object out. */
export const filteredByLabels = (obj: { metadata: ObjectMeta }): boolean => {
  const labels = obj.metadata.labels;
  return labels !== undefined && (labels[SERVICE_PROXY_NAME_LABEL] !== undefined || labels[HEADLESS_LABEL] !== undefined);
};

/** Services kube-proxy ignores: ExternalName and headless (ShouldSkipService), and those its label selector leaves out. */
function isProxied(svc: Service): boolean {
  if (svc.spec.type === "ExternalName" || filteredByLabels(svc)) return false;
  const ip = svc.spec.clusterIP;
  return ip !== undefined && ip !== "" && ip !== "None";
}

const serviceKeyOf = (obj: { metadata: { namespace?: string; name?: string } }, name = obj.metadata.name ?? ""): string =>
  `${obj.metadata.namespace ?? "default"}/${name}`;

/** Endpoints of one service's slices, keyed by "portName/PROTOCOL". */
function indexSlices(slices: Iterable<EndpointSlice>, nodeName: string, family: IPFamily): Map<string, EndpointInfo[]> {
  const byPort = new Map<string, EndpointInfo[]>();
  for (const slice of slices) {
    if (slice.addressType !== family) continue;
    for (const p of slice.ports ?? []) {
      if (p.port === undefined || p.port === null) continue;
      const key = portKey(p.name ?? "", p.protocol ?? "TCP");
      let eps = byPort.get(key);
      if (!eps) byPort.set(key, (eps = []));
      for (const ep of slice.endpoints) {
        const ip = ep.addresses[0];
        if (ip === undefined || !isOfFamily(ip, family)) continue;
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
          nodeName: ep.nodeName,
        };
        eps.push(info);
      }
    }
  }
  return byPort;
}

/** Slices grouped by the "ns/name" of the Service they belong to. */
function slicesByService(slices: Iterable<EndpointSlice>): Map<string, EndpointSlice[]> {
  const byService = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svcName || filteredByLabels(slice)) continue;
    const key = serviceKeyOf(slice, svcName);
    const list = byService.get(key);
    if (list) list.push(slice);
    else byService.set(key, [slice]);
  }
  return byService;
}

function servicePortState(svc: Service, sp: ServicePort, endpoints: EndpointInfo[], family: IPFamily): ServicePortState | undefined {
  const spec = svc.spec;
  // A Service without a ClusterIP of this family (single-stack of the other) is not this proxier's.
  const clusterIPs = onlyFamily(spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? ""], family);
  if (clusterIPs.length === 0) return undefined;
  const type = spec.type ?? "ClusterIP";
  const nodePort = (type === "NodePort" || type === "LoadBalancer") && sp.nodePort ? sp.nodePort : 0;
  const externalIPs = spec.externalIPs ? onlyFamily(spec.externalIPs, family) : NO_ADDRESSES;
  // Ingress with ipMode Proxy is reached through the load balancer, not DNATed on the node.
  const ingress = type === "LoadBalancer" ? (svc.status?.loadBalancer?.ingress ?? []) : [];
  const loadBalancerIPs = ingress.length
    ? ingress.flatMap((ing) => (ing.ip && ing.ipMode !== "Proxy" && isOfFamily(ing.ip, family) ? [ing.ip] : []))
    : NO_ADDRESSES;
  const externallyAccessible = nodePort !== 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
  const externalPolicyLocal = externallyAccessible && spec.externalTrafficPolicy === "Local";
  const internalPolicyLocal = spec.internalTrafficPolicy === "Local";
  const affinityTimeoutSeconds =
    spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_CLIENT_IP_AFFINITY_SECONDS) : 0;
  const namespace = svc.metadata.namespace ?? "default";
  const service = svc.metadata.name ?? "";
  const portName = sp.name ?? "";
  const categorized = categorizeEndpoints(endpoints, { externallyAccessible, externalPolicyLocal, internalPolicyLocal });
  // One literal naming every field (no spreads): 10,000 of these stay in memory, and an
  // object assembled from spreads takes more room than one V8 can lay out at once.
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
    externallyAccessible,
    externalPolicyLocal,
    internalPolicyLocal,
    endpoints,
    clusterEndpoints: categorized.clusterEndpoints,
    localEndpoints: categorized.localEndpoints,
    allReachableEndpoints: categorized.allReachableEndpoints,
    hasAnyEndpoints: categorized.hasAnyEndpoints,
  };
}

/**
 * `eps` sorted by address then port, each endpoint once: the same endpoint may appear in two
 * slices while the controller moves it, and the one listed last is kept. The sort is stable,
 * so the last of each run of equals is that one (no key string or map per endpoint).
 */
function sortedEndpoints(eps: EndpointInfo[]): EndpointInfo[] {
  eps.sort(compareEndpoints);
  let n = 0;
  for (let i = 0; i < eps.length; i++) {
    const next = eps[i + 1];
    if (next !== undefined && compareEndpoints(eps[i]!, next) === 0) continue;
    eps[n++] = eps[i]!;
  }
  eps.length = n;
  return eps;
}

/** The service ports of one Service, from its own slices. */
function servicePortStates(svc: Service, slices: EndpointSlice[], nodeName: string, family: IPFamily): ServicePortState[] {
  if (!isProxied(svc)) return [];
  const byPort = indexSlices(slices, nodeName, family);
  const out: ServicePortState[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const eps = sortedEndpoints(byPort.get(portKey(sp.name ?? "", sp.protocol ?? "TCP")) ?? []);
    const state = servicePortState(svc, sp, eps, family);
    if (state) out.push(state);
  }
  return out;
}

/** The metadata the proxy reads (name, namespace, labels) plus identity and version. */
function proxyMetadata(m: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = {};
  if (m.name !== undefined) out.name = m.name;
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.uid !== undefined) out.uid = m.uid;
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.labels !== undefined) out.labels = m.labels;
  return out;
}

/**
 * A Service with only the fields ProxyState is built from (informers store these, not the
 * listed objects with their managedFields, selectors and annotations).
 */
export function trimServiceForProxy(svc: Service): Service {
  const spec = svc.spec ?? {};
  const kept: Service["spec"] = {};
  if (spec.type !== undefined) kept.type = spec.type;
  if (spec.ports !== undefined) {
    kept.ports = spec.ports.map((p) => {
      const port: ServicePort = { port: p.port };
      if (p.name !== undefined) port.name = p.name;
      if (p.protocol !== undefined) port.protocol = p.protocol;
      if (p.nodePort !== undefined) port.nodePort = p.nodePort;
      return port;
    });
  }
  if (spec.clusterIP !== undefined) kept.clusterIP = spec.clusterIP;
  if (spec.clusterIPs !== undefined) kept.clusterIPs = spec.clusterIPs;
  if (spec.externalIPs !== undefined) kept.externalIPs = spec.externalIPs;
  if (spec.sessionAffinity !== undefined) kept.sessionAffinity = spec.sessionAffinity;
  if (spec.sessionAffinityConfig !== undefined) kept.sessionAffinityConfig = spec.sessionAffinityConfig;
  if (spec.externalTrafficPolicy !== undefined) kept.externalTrafficPolicy = spec.externalTrafficPolicy;
  if (spec.internalTrafficPolicy !== undefined) kept.internalTrafficPolicy = spec.internalTrafficPolicy;
  // Not read by ProxyState: the agent's health-check servers read it from the store.
  if (spec.healthCheckNodePort !== undefined) kept.healthCheckNodePort = spec.healthCheckNodePort;
  const out: Service = { apiVersion: "v1", kind: "Service", metadata: proxyMetadata(svc.metadata), spec: kept };
  const ingress = svc.status?.loadBalancer?.ingress;
  if (ingress?.length) out.status = { loadBalancer: { ingress: ingress.map((i) => (i.ipMode === undefined ? { ip: i.ip } : { ip: i.ip, ipMode: i.ipMode })) } };
  return out;
}

/** One frozen conditions object per combination, shared by every endpoint that has it. */
const sharedConditions = new Map<string, EndpointConditions>();
function conditionsOf(c: EndpointConditions): EndpointConditions {
  const key = `${c.ready}/${c.serving}/${c.terminating}`;
  let shared = sharedConditions.get(key);
  if (!shared) {
    const kept: EndpointConditions = {};
    if (c.ready !== undefined) kept.ready = c.ready;
    if (c.serving !== undefined) kept.serving = c.serving;
    if (c.terminating !== undefined) kept.terminating = c.terminating;
    sharedConditions.set(key, (shared = Object.freeze(kept)));
  }
  return shared;
}

/** Node names repeat across every endpoint: one string per name (bounded by the cluster's nodes). */
const nodeNames = new Map<string, string>();
const internNodeName = (name: string): string => {
  const known = nodeNames.get(name);
  if (known !== undefined) return known;
  nodeNames.set(name, name);
  return name;
};

/** An EndpointSlice with only the fields ProxyState reads (labels, addressType, addresses, conditions, nodeName, ports). */
export function trimEndpointSliceForProxy(slice: EndpointSlice): EndpointSlice {
  // One literal with every field: properties added later would cost a second allocation each.
  const endpoints = (slice.endpoints ?? []).map(
    (ep): Endpoint => ({
      addresses: ep.addresses,
      conditions: ep.conditions ? conditionsOf(ep.conditions) : undefined,
      nodeName: ep.nodeName === undefined ? undefined : internNodeName(ep.nodeName),
    }),
  );
  const out: EndpointSlice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: proxyMetadata(slice.metadata),
    addressType: slice.addressType,
    endpoints,
  };
  if (slice.ports !== undefined) {
    out.ports = slice.ports.map((p) => {
      const port: EndpointPort = {};
      if (p.name !== undefined) port.name = p.name;
      if (p.protocol !== undefined) port.protocol = p.protocol;
      if (p.port !== undefined) port.port = p.port;
      return port;
    });
  }
  return out;
}

/** The order of ProxyState.services: name, then protocol. */
export const compareServicePorts = (a: ServicePortState, b: ServicePortState): number =>
  compareStrings(a.name, b.name) || compareStrings(a.protocol, b.protocol);

const sortedNodeIPs = (ips: string[], family: IPFamily): string[] => [...ips].filter((ip) => isOfFamily(ip, family)).sort(compareIPs);

export function buildProxyState(input: ProxyStateInput): ProxyState {
  const family = input.family ?? "IPv4";
  const slices = slicesByService(input.slices);
  const services: ServicePortState[] = [];
  for (const svc of input.services) services.push(...servicePortStates(svc, slices.get(serviceKeyOf(svc)) ?? [], input.nodeName, family));
  services.sort(compareServicePorts);
  return { nodeName: input.nodeName, nodeIPs: sortedNodeIPs(input.nodeIPs, family), services };
}

export type ServicePortChange = [old: ServicePortState | undefined, now: ServicePortState | undefined];

/**
 * Service ports that are not the same object in both states, paired by name and protocol,
 * in one walk over both sorted lists. With IncrementalProxyState an unchanged service port
 * is the same object, so this costs one comparison per service port and no allocation.
 */
export function changedServicePorts(prev: ProxyState, next: ProxyState): ServicePortChange[] {
  const changed: ServicePortChange[] = [];
  const a = prev.services;
  const b = next.services;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const old = a[i];
    const now = b[j];
    const order = old === undefined ? 1 : now === undefined ? -1 : old === now ? 0 : compareServicePorts(old, now);
    if (order < 0) changed.push([a[i++], undefined]);
    else if (order > 0) changed.push([undefined, b[j++]]);
    else {
      if (old !== now) changed.push([old, now]);
      i++, j++;
    }
  }
  return changed;
}

/** An informer replaces an object it sees change, and the API bumps resourceVersion on every write. */
const sameObject = (a: { metadata: { resourceVersion?: string } }, b: { metadata: { resourceVersion?: string } }): boolean =>
  a === b || (!!a.metadata.resourceVersion && a.metadata.resourceVersion === b.metadata.resourceVersion);

interface ServiceEntry {
  /** "ns/name" of the Service. */
  key: string;
  service: Service | undefined;
  /**
   * The Service's slices, in the order they were first seen (one name each; all are in the
   * Service's namespace). A list, not a Map: most Services have one slice, and 10,000
   * small Maps cost more than the occasional linear search.
   */
  slices: EndpointSlice[];
  ports: ServicePortState[];
}

/** Where an object seen by the last build belongs, and the build that last saw it. */
interface Seen {
  entry: ServiceEntry;
  seenIn: number;
}

const sliceIndex = (slices: EndpointSlice[], name: string | undefined): number => slices.findIndex((s) => s.metadata.name === name);

/**
 * buildProxyState for a caller that builds again and again from informer caches. Objects are
 * recognised by identity (an informer keeps unchanged objects), so a build costs one Map
 * lookup per object plus the rebuild of the Services whose object or slices changed (a new
 * object with the same resourceVersion counts as unchanged). Unchanged Services keep their
 * ServicePortState objects, so consumers can skip them by identity; when nothing changed
 * at all, the previous ProxyState itself is returned.
 */
export class IncrementalProxyState {
  private entries = new Map<string, ServiceEntry>();
  private seen = new Map<object, Seen>();
  private generation = 0;
  private last: ProxyState | undefined;

  /** Builds the state of one IP family (see ProxyStateInput.family). */
  constructor(private readonly family: IPFamily = "IPv4") {}

  build(input: { services: Iterable<Service>; slices: Iterable<EndpointSlice>; nodeName: string; nodeIPs: string[] }): ProxyState {
    const nodeIPs = sortedNodeIPs(input.nodeIPs, this.family);
    let last = this.last;
    // Endpoint locality depends on the node's name: another node means nothing can be reused.
    if (last && last.nodeName !== input.nodeName) {
      this.entries.clear();
      this.seen.clear();
      last = this.last = undefined;
    }
    const generation = ++this.generation;
    const dirty = new Set<string>();
    const entry = (key: string): ServiceEntry => {
      let e = this.entries.get(key);
      if (!e) this.entries.set(key, (e = { key, service: undefined, slices: [], ports: [] }));
      return e;
    };
    let known = 0;
    let added = 0;
    for (const service of input.services) {
      const s = this.seen.get(service);
      if (s) {
        s.seenIn = generation;
        known++;
        continue;
      }
      const e = entry(serviceKeyOf(service));
      added++;
      this.seen.set(service, { entry: e, seenIn: generation });
      if (!e.service || !sameObject(e.service, service)) dirty.add(e.key);
      e.service = service;
    }
    for (const slice of input.slices) {
      const s = this.seen.get(slice);
      if (s) {
        s.seenIn = generation;
        known++;
        continue;
      }
      const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svcName || filteredByLabels(slice)) continue;
      const e = entry(serviceKeyOf(slice, svcName));
      added++;
      this.seen.set(slice, { entry: e, seenIn: generation });
      const at = sliceIndex(e.slices, slice.metadata.name);
      const before = e.slices[at];
      if (!before || !sameObject(before, slice)) dirty.add(e.key);
      if (at < 0) e.slices.push(slice);
      else e.slices[at] = slice;
    }
    // Objects the informers no longer hold (deleted, or replaced by a new object above).
    if (this.seen.size > known + added) {
      for (const [obj, s] of this.seen) {
        if (s.seenIn === generation) continue;
        this.seen.delete(obj);
        const e = s.entry;
        if (e.service === obj) {
          e.service = undefined;
          dirty.add(e.key);
        } else {
          const at = e.slices.indexOf(obj as EndpointSlice);
          if (at < 0) continue;
          e.slices.splice(at, 1);
          dirty.add(e.key);
        }
      }
    }

    const sameNodeIPs = last !== undefined && last.nodeIPs.length === nodeIPs.length && last.nodeIPs.every((ip, i) => ip === nodeIPs[i]);
    if (last && sameNodeIPs && dirty.size === 0) return last;
    // Rebuilt service ports that take the place of ones with the same name and protocol:
    // while only such replacements happen, the previous sorted order still holds.
    const replaced = new Map<ServicePortState, ServicePortState>();
    let reorder = last === undefined;
    for (const key of dirty) {
      const e = this.entries.get(key)!;
      const ports = e.service ? servicePortStates(e.service, e.slices, input.nodeName, this.family) : [];
      if (e.ports.length !== ports.length || e.ports.some((p, i) => compareServicePorts(p, ports[i]!) !== 0)) reorder = true;
      else e.ports.forEach((p, i) => replaced.set(p, ports[i]!));
      e.ports = ports;
      if (!e.service && e.slices.length === 0) this.entries.delete(key);
    }
    let services: ServicePortState[];
    if (!reorder && last) services = replaced.size ? last.services.map((p) => replaced.get(p) ?? p) : last.services;
    else {
      services = [];
      for (const e of this.entries.values()) for (const port of e.ports) services.push(port);
      services.sort(compareServicePorts);
    }
    return (this.last = { nodeName: input.nodeName, nodeIPs, services });
  }
}
