// Pure nftables rule generation (KEP-3866 layout): ProxyState -> text for `nft -f -`.
// The agent owns exactly one table; a full render replaces it atomically, an update
// render touches only the chains, sets and map elements that differ.
import type { EndpointInfo, ProxyState, ServicePortState } from "../state";
import { endpointNameBase, serviceChainNames } from "./names";

export const NFT_TABLE = "svcedge";
/** Same bit as kube-proxy's masquerade mark, so operators recognise it. */
export const MASQUERADE_MARK = "0x4000";
/** NF_IP_PRI_NAT_DST; written as a number because nft 1.0.6 accepts "dstnat" only on prerouting. */
const DSTNAT_PRIORITY = -100;
/** NF_IP_PRI_NAT_SRC. */
const SRCNAT_PRIORITY = 100;
/** kube-proxy's filter chains run just before DNAT. */
const FILTER_PRIORITY = -110;

export interface NftablesOptions {
  table?: string;
  /** Sources inside the cluster; traffic from elsewhere to a ClusterIP is masqueraded. */
  clusterCIDRs?: string[];
  /** Masquerade all ClusterIP traffic (kube-proxy --masquerade-all). */
  masqueradeAll?: boolean;
}

export interface MapElement {
  map: string;
  key: string;
  value: string;
}

/** Everything the per-service part of the table holds, keyed by name for diffing. */
export interface NftObjects {
  /** Chain name -> its rules, in order. */
  chains: Map<string, string[]>;
  /** Set name -> its definition body. */
  sets: Map<string, string>;
  /** "map key" -> element. */
  elements: Map<string, MapElement>;
}

const REJECT = "goto reject-chain";
const DROP = "drop";

const affinitySetDefinition = (timeoutSeconds: number): string =>
  `{ type ipv4_addr; flags dynamic,timeout; timeout ${timeoutSeconds}s; }`;

function addElement(out: NftObjects, map: string, key: string, value: string): void {
  const id = `${map} ${key}`;
  // Two Services claiming the same address and port: the first (sorted) one wins, as a duplicate key would fail the transaction.
  if (!out.elements.has(id)) out.elements.set(id, { map, key, value });
}

/** Affinity lookups first (an established client keeps its endpoint), then a random pick. */
function balancingRules(svc: ServicePortState, endpoints: EndpointInfo[]): string[] {
  const rules: string[] = [];
  if (svc.affinityTimeoutSeconds > 0) {
    for (const ep of endpoints) {
      const base = endpointNameBase(svc, ep);
      rules.push(`ip saddr @affinity-${base} goto endpoint-${base}`);
    }
  }
  const arms = endpoints.map((ep, i) => `${i} : goto endpoint-${endpointNameBase(svc, ep)}`);
  rules.push(`numgen random mod ${endpoints.length} vmap { ${arms.join(", ")} }`);
  return rules;
}

function serviceObjects(svc: ServicePortState, opts: NftablesOptions, out: NftObjects): void {
  const names = serviceChainNames(svc);
  const proto = svc.protocol.toLowerCase();
  const hasLocal = svc.localEndpoints.length > 0;
  const hasInternalEndpoints = svc.hasAnyEndpoints && (!svc.internalPolicyLocal || hasLocal);
  const hasExternalEndpoints = svc.hasAnyEndpoints && (!svc.externalPolicyLocal || hasLocal);
  // No endpoints at all: reject. Endpoints elsewhere but none here under a Local policy: drop.
  const noEndpointVerdict = svc.hasAnyEndpoints ? DROP : REJECT;
  const internalChain = svc.internalPolicyLocal ? names.local : names.cluster;
  const externalPolicyChain = svc.externalPolicyLocal ? names.local : names.cluster;

  if (svc.clusterEndpoints.length > 0) {
    const rules: string[] = [];
    for (const ip of svc.clusterIPs) {
      const match = `ip daddr ${ip} ${proto} dport ${svc.port}`;
      if (opts.masqueradeAll) rules.push(`${match} jump mark-for-masquerade`);
      else if (opts.clusterCIDRs?.length) rules.push(`${match} ip saddr != { ${opts.clusterCIDRs.join(", ")} } jump mark-for-masquerade`);
    }
    out.chains.set(names.cluster, [...rules, ...balancingRules(svc, svc.clusterEndpoints)]);
  }
  if (hasLocal) out.chains.set(names.local, balancingRules(svc, svc.localEndpoints));

  if (svc.externallyAccessible && hasExternalEndpoints) {
    const rules: string[] = [];
    if (!svc.externalPolicyLocal) {
      // Cluster policy may send the packet to another node: masquerade so the reply comes back here.
      rules.push("jump mark-for-masquerade");
    } else {
      // Local policy keeps the client source IP; only traffic from this host (or its pods) may use remote endpoints.
      if (opts.clusterCIDRs?.length) rules.push(`ip saddr { ${opts.clusterCIDRs.join(", ")} } goto ${names.cluster}`);
      rules.push("fib saddr type local jump mark-for-masquerade");
      rules.push(`fib saddr type local goto ${names.cluster}`);
    }
    rules.push(`goto ${externalPolicyChain}`);
    out.chains.set(names.external, rules);
  }

  for (const ep of svc.allReachableEndpoints) {
    const base = endpointNameBase(svc, ep);
    const rules = [`ip saddr ${ep.ip} jump mark-for-masquerade`];
    if (svc.affinityTimeoutSeconds > 0) {
      out.sets.set(`affinity-${base}`, affinitySetDefinition(svc.affinityTimeoutSeconds));
      rules.push(`update @affinity-${base} { ip saddr }`);
    }
    rules.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
    out.chains.set(`endpoint-${base}`, rules);
  }

  for (const ip of svc.clusterIPs) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasInternalEndpoints) addElement(out, "service-ips", key, `goto ${internalChain}`);
    else addElement(out, "no-endpoint-services", key, noEndpointVerdict);
  }
  for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasExternalEndpoints) addElement(out, "service-ips", key, `goto ${names.external}`);
    else addElement(out, "no-endpoint-services", key, noEndpointVerdict);
  }
  if (svc.nodePort !== 0) {
    const key = `${proto} . ${svc.nodePort}`;
    if (hasExternalEndpoints) addElement(out, "service-nodeports", key, `goto ${names.external}`);
    else addElement(out, "no-endpoint-nodeports", key, noEndpointVerdict);
  }
}

/** Memoized per ServicePortState object: an unchanged service is not re-rendered by the next update. */
const objectsCache = new WeakMap<ServicePortState, { key: string; objects: NftObjects }>();
const optionsKey = (opts: NftablesOptions): string => JSON.stringify([opts.clusterCIDRs ?? [], opts.masqueradeAll ?? false]);

export function collectNftObjects(state: ProxyState, opts: NftablesOptions = {}): NftObjects {
  const out: NftObjects = { chains: new Map(), sets: new Map(), elements: new Map() };
  const key = optionsKey(opts);
  for (const svc of state.services) {
    let cached = objectsCache.get(svc);
    if (!cached || cached.key !== key) {
      cached = { key, objects: { chains: new Map(), sets: new Map(), elements: new Map() } };
      serviceObjects(svc, opts, cached.objects);
      objectsCache.set(svc, cached);
    }
    for (const [name, rules] of cached.objects.chains) out.chains.set(name, rules);
    for (const [name, def] of cached.objects.sets) out.sets.set(name, def);
    for (const [id, el] of cached.objects.elements) if (!out.elements.has(id)) out.elements.set(id, el);
  }
  return out;
}

/** The fixed part of the table: hooks, maps and helper chains. Invariant: no rule here names a service. */
function baseRuleset(t: string): string[] {
  const T = `ip ${t}`;
  return [
    `add table ${T} { comment "rules for svcedge"; }`,
    `add chain ${T} mark-for-masquerade`,
    `add rule ${T} mark-for-masquerade mark set mark or ${MASQUERADE_MARK}`,
    `add chain ${T} masquerading`,
    `add rule ${T} masquerading mark and ${MASQUERADE_MARK} == 0 return`,
    `add rule ${T} masquerading mark set mark xor ${MASQUERADE_MARK}`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict; comment "NodePort traffic"; }`,
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to services with no endpoints"; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to service nodeports with no endpoints"; }`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports"; }`,
    `add rule ${T} reject-chain reject`,
    `add chain ${T} services`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    // nftables mode opens NodePorts on local addresses but not on 127/8 (no route_localnet, CVE-2020-8558).
    `add rule ${T} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`,
    `add chain ${T} service-endpoints-check`,
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add chain ${T} nodeport-endpoints-check`,
    `add rule ${T} nodeport-endpoints-check fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority ${DSTNAT_PRIORITY}; }`,
    `add rule ${T} nat-prerouting jump services`,
    `add chain ${T} nat-output { type nat hook output priority ${DSTNAT_PRIORITY}; }`,
    `add rule ${T} nat-output jump services`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority ${SRCNAT_PRIORITY}; }`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add chain ${T} filter-input { type filter hook input priority ${FILTER_PRIORITY}; }`,
    `add rule ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${T} filter-input ct state new jump service-endpoints-check`,
    `add chain ${T} filter-forward { type filter hook forward priority ${FILTER_PRIORITY}; }`,
    `add rule ${T} filter-forward ct state new jump service-endpoints-check`,
    `add chain ${T} filter-output { type filter hook output priority ${FILTER_PRIORITY}; }`,
    `add rule ${T} filter-output ct state new jump service-endpoints-check`,
  ];
}

/**
 * The whole table as one transaction. `add` then `delete` makes the delete safe when the
 * table does not exist yet; the result is the same whatever the kernel held before.
 */
export function renderNftables(state: ProxyState, opts: NftablesOptions = {}): string {
  const t = opts.table ?? NFT_TABLE;
  const T = `ip ${t}`;
  const objects = collectNftObjects(state, opts);
  const lines = [`add table ${T}`, `delete table ${T}`, ...baseRuleset(t)];
  // Declare every set and chain before any rule refers to it.
  for (const [name, def] of objects.sets) lines.push(`add set ${T} ${name} ${def}`);
  for (const name of objects.chains.keys()) lines.push(`add chain ${T} ${name}`);
  for (const [name, rules] of objects.chains) for (const rule of rules) lines.push(`add rule ${T} ${name} ${rule}`);
  for (const el of objects.elements.values()) lines.push(`add element ${T} ${el.map} { ${el.key} : ${el.value} }`);
  return lines.join("\n") + "\n";
}

const sameRules = (a: string[] | undefined, b: string[]): boolean => a !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * Only what changed between two states, as one transaction that assumes the kernel holds
 * `prev`. Returns "" when nothing changed. Falls back to a full render when an affinity
 * set's definition changed (nft cannot redefine a set in place).
 */
export function renderNftablesUpdate(prev: ProxyState, next: ProxyState, opts: NftablesOptions = {}): string {
  const T = `ip ${opts.table ?? NFT_TABLE}`;
  const before = collectNftObjects(prev, opts);
  const after = collectNftObjects(next, opts);
  const lines: string[] = [];

  for (const [name, def] of after.sets) {
    const old = before.sets.get(name);
    if (old === undefined) lines.push(`add set ${T} ${name} ${def}`);
    else if (old !== def) return renderNftables(next, opts);
  }
  for (const name of after.chains.keys()) if (!before.chains.has(name)) lines.push(`add chain ${T} ${name}`);
  for (const [name, rules] of after.chains) {
    const old = before.chains.get(name);
    if (sameRules(old, rules)) continue;
    if (old !== undefined) lines.push(`flush chain ${T} ${name}`);
    for (const rule of rules) lines.push(`add rule ${T} ${name} ${rule}`);
  }
  for (const [id, el] of before.elements) {
    const now = after.elements.get(id);
    if (now === undefined || now.value !== el.value) lines.push(`delete element ${T} ${el.map} { ${el.key} }`);
  }
  for (const [id, el] of after.elements) {
    const old = before.elements.get(id);
    if (old === undefined || old.value !== el.value) lines.push(`add element ${T} ${el.map} { ${el.key} : ${el.value} }`);
  }
  // Stale chains may jump to each other (service -> endpoint): empty them all before deleting any.
  const staleChains = [...before.chains.keys()].filter((name) => !after.chains.has(name));
  for (const name of staleChains) lines.push(`flush chain ${T} ${name}`);
  for (const name of staleChains) lines.push(`delete chain ${T} ${name}`);
  for (const name of before.sets.keys()) if (!after.sets.has(name)) lines.push(`delete set ${T} ${name}`);
  return lines.length ? lines.join("\n") + "\n" : "";
}
