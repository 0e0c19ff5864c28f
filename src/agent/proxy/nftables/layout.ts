// The nftables layout (KEP-3866 shape, sized for 10,000+ Services): what the fixed part of
// the table holds and which objects each service port owns. Kernel objects that are
// expensive to create in bulk (sets, anonymous or named, and chains) stay few: a service
// port owns one chain (two or three with Local policies), and picks an endpoint with
// `numgen random mod N` as a key into a few large shared maps whose data is the DNAT
// target. Only ClientIP-affinity services keep per-endpoint chains and sets.
import type { EndpointInfo, ServicePortState } from "../state";
import { endpointNameBase, serviceChainNames } from "./names";

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

/** Verdict maps the dispatch chains look up. */
export const SERVICE_IPS = "service-ips";
export const SERVICE_NODEPORTS = "service-nodeports";
const NO_ENDPOINT_SERVICES = "no-endpoint-services";
const NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports";
/** Endpoint maps: (entry . random index) -> DNAT target, for the cluster and the local endpoint lists. */
export const ENDPOINT_MAPS = {
  cluster: { ip: "service-endpoints", nodePort: "nodeport-endpoints" },
  local: { ip: "service-local-endpoints", nodePort: "nodeport-local-endpoints" },
} as const;
export const CLUSTER_CIDRS_SET = "cluster-cidrs";
export const HAIRPIN_SET = "hairpin-endpoints";

const IP_ENTRY_KEY = "ip daddr . meta l4proto . th dport";
const NODEPORT_ENTRY_KEY = "meta l4proto . th dport";
/**
 * typeof of an endpoint map: the entry the packet came in on, then the random index. nft
 * 1.0.6 cannot read back a typeof holding `th dport` ("conflicting protocols" on the next
 * `add rule`), so the declaration says `tcp dport`: the same type, and the maps serve UDP
 * and SCTP entries alike.
 */
const endpointMapType = (entry: string) => `typeof ${entry.replace("th dport", "tcp dport")} . numgen random mod 1 : ip daddr . tcp dport`;

/** The maps and sets of the fixed part; full syncs flush and refill them, affinity sets are not here. */
export const BASE_CONTAINERS: { kind: "map" | "set"; name: string; definition: string }[] = [
  { kind: "map", name: SERVICE_IPS, definition: `type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic";` },
  { kind: "map", name: SERVICE_NODEPORTS, definition: `type inet_proto . inet_service : verdict; comment "NodePort traffic";` },
  { kind: "map", name: NO_ENDPOINT_SERVICES, definition: `type ipv4_addr . inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to services with no endpoints";` },
  { kind: "map", name: NO_ENDPOINT_NODEPORTS, definition: `type inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to service nodeports with no endpoints";` },
  { kind: "map", name: ENDPOINT_MAPS.cluster.ip, definition: `${endpointMapType(IP_ENTRY_KEY)}; comment "service IP . proto . port . random index : endpoint";` },
  { kind: "map", name: ENDPOINT_MAPS.cluster.nodePort, definition: `${endpointMapType(NODEPORT_ENTRY_KEY)}; comment "proto . nodeport . random index : endpoint";` },
  { kind: "map", name: ENDPOINT_MAPS.local.ip, definition: `${endpointMapType(IP_ENTRY_KEY)}; comment "as service-endpoints, this node's endpoints only";` },
  { kind: "map", name: ENDPOINT_MAPS.local.nodePort, definition: `${endpointMapType(NODEPORT_ENTRY_KEY)}; comment "as nodeport-endpoints, this node's endpoints only";` },
  { kind: "set", name: CLUSTER_CIDRS_SET, definition: `type ipv4_addr; flags interval; comment "pod ranges";` },
  { kind: "set", name: HAIRPIN_SET, definition: `type ipv4_addr . ipv4_addr; comment "endpoint . endpoint: a pod reaching itself through a service is masqueraded";` },
];

/** The fixed chains, in nft block syntax. Invariant: nothing here names a service, so updates never touch them. */
export const BASE_CHAINS = `\tchain mark-for-masquerade {
\t\tmark set mark or ${MASQUERADE_MARK}
\t}
\tchain masquerading {
\t\tct status dnat ip saddr . ip daddr @${HAIRPIN_SET} jump mark-for-masquerade
\t\tmark and ${MASQUERADE_MARK} == 0 return
\t\tmark set mark xor ${MASQUERADE_MARK}
\t\tmasquerade fully-random
\t}
\tchain reject-chain {
\t\treject
\t}
\tchain services {
\t\t${IP_ENTRY_KEY} vmap @${SERVICE_IPS}
\t\tfib daddr type local ip daddr != 127.0.0.0/8 ${NODEPORT_ENTRY_KEY} vmap @${SERVICE_NODEPORTS}
\t}
\tchain service-endpoints-check {
\t\t${IP_ENTRY_KEY} vmap @${NO_ENDPOINT_SERVICES}
\t}
\tchain nodeport-endpoints-check {
\t\tfib daddr type local ip daddr != 127.0.0.0/8 ${NODEPORT_ENTRY_KEY} vmap @${NO_ENDPOINT_NODEPORTS}
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

/** Names of the fixed chains, so a full sync never mistakes them for stale service chains. */
export const BASE_CHAIN_NAMES = new Set([...BASE_CHAINS.matchAll(/^\tchain (\S+) \{$/gm)].map((m) => m[1]!));

export interface MapElement {
  map: string;
  key: string;
  value: string;
  /** The entry ("ip . proto . port" or "proto . nodePort") the element serves; one service port owns each. */
  entry: string;
}

/** The objects one service port owns in the table. */
export interface NftServiceObjects {
  /** [chain name, rules] in declaration order. */
  chains: [string, string[]][];
  /** Affinity sets: [set name, definition]. */
  sets: [string, string][];
  elements: MapElement[];
}

const REJECT = "goto reject-chain";
const DROP = "drop";

export const affinitySetDefinition = (timeoutSeconds: number): string =>
  `{ type ipv4_addr; flags dynamic,timeout; timeout ${timeoutSeconds}s; }`;

const entryIPs = (svc: ServicePortState): string[] => [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs];

/**
 * The shared chain that DNATs to one of `n` endpoints: a random index into an endpoint map,
 * keyed by the entry the packet came in on. The kernel walks every element of a map when a
 * rule in a new chain starts using it, and every user of a map for each element added, so
 * a lookup rule per service port would make a full sync quadratic; one chain per
 * (list, protocol, count) keeps the lookups few.
 */
function pickChain(which: "cluster" | "local", proto: string, n: number): [string, string[]] {
  const maps = ENDPOINT_MAPS[which];
  return [
    `${which === "local" ? "local-" : ""}endpoints-${proto}-mod-${n}`,
    [
      `meta l4proto ${proto} dnat ip to ${IP_ENTRY_KEY} . numgen random mod ${n} map @${maps.ip}`,
      // Reached only when the first lookup missed: the packet came in on a NodePort.
      `meta l4proto ${proto} dnat ip to ${NODEPORT_ENTRY_KEY} . numgen random mod ${n} map @${maps.nodePort}`,
    ],
  ];
}

/** Name of the shared pick chain a service port uses for a list of endpoints (none with affinity). */
export function pickChainName(svc: ServicePortState, which: "cluster" | "local"): string | undefined {
  const n = (which === "cluster" ? svc.clusterEndpoints : svc.localEndpoints).length;
  return n === 0 || svc.affinityTimeoutSeconds > 0 ? undefined : pickChain(which, svc.protocol.toLowerCase(), n)[0];
}

/** The rules of a shared pick chain, from its name. */
export function pickChainRules(name: string): string[] {
  const m = name.match(/^(local-)?endpoints-(\w+)-mod-(\d+)$/);
  if (!m) throw new Error(`not a pick chain: ${name}`);
  return pickChain(m[1] ? "local" : "cluster", m[2]!, Number(m[3]))[1];
}

/**
 * How a service port's chain picks among `endpoints`: the shared pick chain for their count
 * (the endpoints themselves are elements of the endpoint maps), or, with affinity, the
 * per-endpoint chains that remember the client.
 */
function pickRules(svc: ServicePortState, endpoints: EndpointInfo[], which: "cluster" | "local", out: NftServiceObjects): string[] {
  const proto = svc.protocol.toLowerCase();
  if (svc.affinityTimeoutSeconds > 0) {
    const bases = endpoints.map((ep) => endpointNameBase(svc, ep));
    const rules = bases.map((base) => `ip saddr @affinity-${base} goto endpoint-${base}`);
    rules.push(`numgen random mod ${endpoints.length} vmap { ${bases.map((base, i) => `${i} : goto endpoint-${base}`).join(", ")} }`);
    return rules;
  }
  const maps = ENDPOINT_MAPS[which];
  for (const ip of entryIPs(svc)) {
    const entry = `${ip} . ${proto} . ${svc.port}`;
    endpoints.forEach((ep, i) => out.elements.push({ map: maps.ip, key: `${entry} . ${i}`, value: `${ep.ip} . ${ep.port}`, entry }));
  }
  if (svc.nodePort !== 0) {
    const entry = `${proto} . ${svc.nodePort}`;
    endpoints.forEach((ep, i) => out.elements.push({ map: maps.nodePort, key: `${entry} . ${i}`, value: `${ep.ip} . ${ep.port}`, entry }));
  }
  return [`goto ${pickChainName(svc, which)!}`];
}

export function serviceObjects(svc: ServicePortState, opts: NftablesOptions = {}): NftServiceObjects {
  const out: NftServiceObjects = { chains: [], sets: [], elements: [] };
  const addElement = (map: string, key: string, value: string) => out.elements.push({ map, key, value, entry: key });
  const names = serviceChainNames(svc);
  const proto = svc.protocol.toLowerCase();
  const hasLocal = svc.localEndpoints.length > 0;
  const hasInternalEndpoints = svc.hasAnyEndpoints && (!svc.internalPolicyLocal || hasLocal);
  const hasExternalEndpoints = svc.hasAnyEndpoints && (!svc.externalPolicyLocal || hasLocal);
  // No endpoints at all: reject. Endpoints elsewhere but none here under a Local policy: drop.
  const noEndpointVerdict = svc.hasAnyEndpoints ? DROP : REJECT;
  const internalChain = svc.internalPolicyLocal ? names.local : names.cluster;
  const externalPolicyChain = svc.externalPolicyLocal ? names.local : names.cluster;
  const cidrs = opts.clusterCIDRs?.length ? `@${CLUSTER_CIDRS_SET}` : undefined;

  if (svc.clusterEndpoints.length > 0) {
    const rules: string[] = [];
    for (const ip of svc.clusterIPs) {
      const match = `ip daddr ${ip} ${proto} dport ${svc.port}`;
      if (opts.masqueradeAll) rules.push(`${match} jump mark-for-masquerade`);
      else if (cidrs) rules.push(`${match} ip saddr != ${cidrs} jump mark-for-masquerade`);
    }
    out.chains.push([names.cluster, [...rules, ...pickRules(svc, svc.clusterEndpoints, "cluster", out)]]);
  }
  if (hasLocal) out.chains.push([names.local, pickRules(svc, svc.localEndpoints, "local", out)]);

  if (svc.externallyAccessible && hasExternalEndpoints) {
    const rules: string[] = [];
    if (!svc.externalPolicyLocal) {
      // Cluster policy may send the packet to another node: masquerade so the reply comes back here.
      rules.push("jump mark-for-masquerade");
    } else {
      // Local policy keeps the client source IP; only traffic from this host (or its pods) may use remote endpoints.
      if (cidrs) rules.push(`ip saddr ${cidrs} goto ${names.cluster}`);
      rules.push("fib saddr type local jump mark-for-masquerade");
      rules.push(`fib saddr type local goto ${names.cluster}`);
    }
    rules.push(`goto ${externalPolicyChain}`);
    out.chains.push([names.external, rules]);
  }

  // Hairpin masquerading is the shared hairpin-endpoints set's job (see table-index.ts).
  for (const ep of svc.allReachableEndpoints) {
    if (svc.affinityTimeoutSeconds === 0) continue;
    const base = endpointNameBase(svc, ep);
    out.sets.push([`affinity-${base}`, affinitySetDefinition(svc.affinityTimeoutSeconds)]);
    out.chains.push([`endpoint-${base}`, [`update @affinity-${base} { ip saddr }`, `meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`]]);
  }

  for (const ip of svc.clusterIPs) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasInternalEndpoints) addElement(SERVICE_IPS, key, `goto ${internalChain}`);
    else addElement(NO_ENDPOINT_SERVICES, key, noEndpointVerdict);
  }
  for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasExternalEndpoints) addElement(SERVICE_IPS, key, `goto ${names.external}`);
    else addElement(NO_ENDPOINT_SERVICES, key, noEndpointVerdict);
  }
  if (svc.nodePort !== 0) {
    const key = `${proto} . ${svc.nodePort}`;
    if (hasExternalEndpoints) addElement(SERVICE_NODEPORTS, key, `goto ${names.external}`);
    else addElement(NO_ENDPOINT_NODEPORTS, key, noEndpointVerdict);
  }
  return out;
}
