// Pure nftables rule generation (KEP-3866 layout): ProxyState -> text for `nft -f -`.
// The agent owns exactly one table; a full render replaces it atomically, an update
// render touches only the chains, sets and map elements that differ.
import { sameServicePort, servicePortKey } from "../same-service-port";
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

/** The objects one service port owns in the table. */
export interface NftServiceObjects {
  /** [chain name, rules] in declaration order. */
  chains: [string, string[]][];
  /** [set name, definition]. */
  sets: [string, string][];
  elements: MapElement[];
}

const REJECT = "goto reject-chain";
const DROP = "drop";

const affinitySetDefinition = (timeoutSeconds: number): string =>
  `{ type ipv4_addr; flags dynamic,timeout; timeout ${timeoutSeconds}s; }`;

/** Affinity lookups first (an established client keeps its endpoint), then a random pick. */
function balancingRules(svc: ServicePortState, endpoints: EndpointInfo[], bases: Map<EndpointInfo, string>): string[] {
  const rules: string[] = [];
  if (svc.affinityTimeoutSeconds > 0) {
    for (const ep of endpoints) {
      const base = bases.get(ep)!;
      rules.push(`ip saddr @affinity-${base} goto endpoint-${base}`);
    }
  }
  const arms = endpoints.map((ep, i) => `${i} : goto endpoint-${bases.get(ep)!}`);
  rules.push(`numgen random mod ${endpoints.length} vmap { ${arms.join(", ")} }`);
  return rules;
}

export function serviceObjects(svc: ServicePortState, opts: NftablesOptions = {}): NftServiceObjects {
  const out: NftServiceObjects = { chains: [], sets: [], elements: [] };
  const addElement = (map: string, key: string, value: string) => out.elements.push({ map, key, value });
  // Cluster and local lists hold the same objects as allReachableEndpoints.
  const bases = new Map(svc.allReachableEndpoints.map((ep) => [ep, endpointNameBase(svc, ep)]));
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
    out.chains.push([names.cluster, [...rules, ...balancingRules(svc, svc.clusterEndpoints, bases)]]);
  }
  if (hasLocal) out.chains.push([names.local, balancingRules(svc, svc.localEndpoints, bases)]);

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
    out.chains.push([names.external, rules]);
  }

  for (const ep of svc.allReachableEndpoints) {
    const base = bases.get(ep)!;
    const rules = [`ip saddr ${ep.ip} jump mark-for-masquerade`];
    if (svc.affinityTimeoutSeconds > 0) {
      out.sets.push([`affinity-${base}`, affinitySetDefinition(svc.affinityTimeoutSeconds)]);
      rules.push(`update @affinity-${base} { ip saddr }`);
    }
    rules.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
    out.chains.push([`endpoint-${base}`, rules]);
  }

  for (const ip of svc.clusterIPs) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasInternalEndpoints) addElement("service-ips", key, `goto ${internalChain}`);
    else addElement("no-endpoint-services", key, noEndpointVerdict);
  }
  for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasExternalEndpoints) addElement("service-ips", key, `goto ${names.external}`);
    else addElement("no-endpoint-services", key, noEndpointVerdict);
  }
  if (svc.nodePort !== 0) {
    const key = `${proto} . ${svc.nodePort}`;
    if (hasExternalEndpoints) addElement("service-nodeports", key, `goto ${names.external}`);
    else addElement("no-endpoint-nodeports", key, noEndpointVerdict);
  }
  return out;
}

const COMMENT_TABLE = "rules for svcedge";

/**
 * The fixed part of the table: hooks, maps and helper chains, in nft's block syntax.
 * Invariant: nothing here names a service, so updates never touch it.
 */
const BASE_BLOCK = `\tcomment "${COMMENT_TABLE}"
\tmap service-ips { type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"; }
\tmap service-nodeports { type inet_proto . inet_service : verdict; comment "NodePort traffic"; }
\tmap no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to services with no endpoints"; }
\tmap no-endpoint-nodeports { type inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to service nodeports with no endpoints"; }
\tchain mark-for-masquerade {
\t\tmark set mark or ${MASQUERADE_MARK}
\t}
\tchain masquerading {
\t\tmark and ${MASQUERADE_MARK} == 0 return
\t\tmark set mark xor ${MASQUERADE_MARK}
\t\tmasquerade fully-random
\t}
\tchain reject-chain {
\t\treject
\t}
\tchain services {
\t\tip daddr . meta l4proto . th dport vmap @service-ips
\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
\t}
\tchain service-endpoints-check {
\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services
\t}
\tchain nodeport-endpoints-check {
\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports
\t}
\tchain nat-prerouting {
\t\ttype nat hook prerouting priority ${DSTNAT_PRIORITY}; policy accept;
\t\tjump services
\t}
\tchain nat-output {
\t\ttype nat hook output priority ${DSTNAT_PRIORITY}; policy accept;
\t\tjump services
\t}
\tchain nat-postrouting {
\t\ttype nat hook postrouting priority ${SRCNAT_PRIORITY}; policy accept;
\t\tjump masquerading
\t}
\tchain filter-input {
\t\ttype filter hook input priority ${FILTER_PRIORITY}; policy accept;
\t\tct state new jump nodeport-endpoints-check
\t\tct state new jump service-endpoints-check
\t}
\tchain filter-forward {
\t\ttype filter hook forward priority ${FILTER_PRIORITY}; policy accept;
\t\tct state new jump service-endpoints-check
\t}
\tchain filter-output {
\t\ttype filter hook output priority ${FILTER_PRIORITY}; policy accept;
\t\tct state new jump service-endpoints-check
\t}
`;

/** Keeps each `add element` command to a size nft parses comfortably. */
const ELEMENTS_PER_COMMAND = 1000;

/**
 * The whole table as one transaction. `add` then `delete` makes the delete safe when the
 * table does not exist yet; the result is the same whatever the kernel held before.
 * The block syntax lets rules name chains defined further down.
 */
export function renderNftables(state: ProxyState, opts: NftablesOptions = {}): string {
  const t = opts.table ?? NFT_TABLE;
  const parts: string[] = [`add table ip ${t}\ndelete table ip ${t}\ntable ip ${t} {\n`, BASE_BLOCK];
  const elements = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const svc of state.services) {
    const objects = serviceObjects(svc, opts);
    for (const [name, def] of objects.sets) parts.push(`\tset ${name} ${def}\n`);
    for (const [name, rules] of objects.chains) parts.push(`\tchain ${name} {\n\t\t${rules.join("\n\t\t")}\n\t}\n`);
    for (const el of objects.elements) {
      const id = `${el.map} ${el.key}`;
      // Two Services claiming one address and port: the first (sorted) wins, as a duplicate key would fail the transaction.
      if (seen.has(id)) continue;
      seen.add(id);
      let list = elements.get(el.map);
      if (!list) elements.set(el.map, (list = []));
      list.push(`${el.key} : ${el.value}`);
    }
  }
  parts.push("}\n");
  for (const [map, list] of elements) {
    for (let i = 0; i < list.length; i += ELEMENTS_PER_COMMAND) {
      parts.push(`add element ip ${t} ${map} { ${list.slice(i, i + ELEMENTS_PER_COMMAND).join(", ")} }\n`);
    }
  }
  return parts.join("");
}

const sameRules = (a: string[] | undefined, b: string[]): boolean => a !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
const EMPTY: NftServiceObjects = { chains: [], sets: [], elements: [] };

/**
 * Only what changed between two states, as one transaction that assumes the kernel holds
 * `prev` (rendered with the same options). Returns "" when nothing changed. Falls back to
 * a full render when an affinity set's definition changed (nft cannot redefine a set).
 */
export function renderNftablesUpdate(prev: ProxyState, next: ProxyState, opts: NftablesOptions = {}): string {
  const T = `ip ${opts.table ?? NFT_TABLE}`;
  const before = new Map(prev.services.map((svc) => [servicePortKey(svc), svc]));
  const afterKeys = new Set(next.services.map(servicePortKey));
  const changed: [NftServiceObjects, NftServiceObjects][] = [];
  for (const svc of next.services) {
    const old = before.get(servicePortKey(svc));
    if (old && sameServicePort(old, svc)) continue;
    changed.push([old ? serviceObjects(old, opts) : EMPTY, serviceObjects(svc, opts)]);
  }
  for (const [key, old] of before) if (!afterKeys.has(key)) changed.push([serviceObjects(old, opts), EMPTY]);

  // Phases keep every reference valid inside the transaction: declare, fill, repoint, then remove.
  const addSets: string[] = [], addChains: string[] = [], fill: string[] = [], delElements: string[] = [];
  const addElements: string[] = [], flushStale: string[] = [], deleteStale: string[] = [], deleteSets: string[] = [];
  for (const [old, now] of changed) {
    const oldSets = new Map(old.sets);
    for (const [name, def] of now.sets) {
      const was = oldSets.get(name);
      if (was === undefined) addSets.push(`add set ${T} ${name} ${def}`);
      else if (was !== def) return renderNftables(next, opts);
    }
    const newSets = new Set(now.sets.map(([name]) => name));
    for (const [name] of old.sets) if (!newSets.has(name)) deleteSets.push(`delete set ${T} ${name}`);

    const oldChains = new Map(old.chains);
    for (const [name, rules] of now.chains) {
      const was = oldChains.get(name);
      if (sameRules(was, rules)) continue;
      if (was === undefined) addChains.push(`add chain ${T} ${name}`);
      else fill.push(`flush chain ${T} ${name}`);
      for (const rule of rules) fill.push(`add rule ${T} ${name} ${rule}`);
    }
    const newChains = new Set(now.chains.map(([name]) => name));
    for (const [name] of old.chains) {
      if (newChains.has(name)) continue;
      // Stale chains may jump to each other (service -> endpoint): empty them all before deleting any.
      flushStale.push(`flush chain ${T} ${name}`);
      deleteStale.push(`delete chain ${T} ${name}`);
    }

    const oldElements = new Map(old.elements.map((el) => [`${el.map} ${el.key}`, el]));
    const newElements = new Map(now.elements.map((el) => [`${el.map} ${el.key}`, el]));
    for (const [id, el] of oldElements) {
      if (newElements.get(id)?.value !== el.value) delElements.push(`delete element ${T} ${el.map} { ${el.key} }`);
    }
    for (const [id, el] of newElements) {
      if (oldElements.get(id)?.value !== el.value) addElements.push(`add element ${T} ${el.map} { ${el.key} : ${el.value} }`);
    }
  }
  const lines = [...addSets, ...addChains, ...fill, ...delElements, ...addElements, ...flushStale, ...deleteStale, ...deleteSets];
  return lines.length ? lines.join("\n") + "\n" : "";
}
