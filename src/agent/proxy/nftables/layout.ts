// The nftables layout (KEP-3866 shape, sized for 10,000+ Services): what the fixed part of
// the table holds and which objects each service port owns. Kernel objects that are
// expensive to create in bulk (sets, anonymous or named, and chains) stay few: a service
// port owns one chain (two or three with Local policies), and picks an endpoint with
// `numgen random mod N` as a key into a few large shared maps whose data is the DNAT
// target. Only ClientIP-affinity services keep per-endpoint chains and sets.
import type { EndpointInfo, IPFamily, ServicePortState } from "../state";
import { MASQUERADE_MARK } from "../marks";
import type { HashName } from "../chain-names";
import { endpointNameBase, serviceChainNames } from "./names";

/** NF_IP_PRI_NAT_DST; written as a number because nft 1.0.6 accepts "dstnat" only on prerouting. */
const DSTNAT_PRIORITY = -100;
/** NF_IP_PRI_NAT_SRC. */
const SRCNAT_PRIORITY = 100;
/** kube-proxy's filter chains run just before DNAT. */
const FILTER_PRIORITY = -110;
/** kube-proxy's filter-output-post-dnat: locally sent packets, just after DNAT. */
const FILTER_POST_DNAT_PRIORITY = -90;

export interface NftablesOptions {
  /** How object names are hashed: a proxier passes its memo (chain-names.ts NameHashes). */
  hashName?: HashName;
  table?: string;
  /** The family this table serves (default IPv4): an `ip` table, or an `ip6` one (kube-proxy's per-family proxiers). */
  family?: IPFamily;
  /** Sources inside the cluster; traffic from elsewhere to a ClusterIP is masqueraded. */
  clusterCIDRs?: string[];
  /** Masquerade all ClusterIP traffic (kube-proxy --masquerade-all). */
  masqueradeAll?: boolean;
  /** Ranges ClusterIPs are allocated from; traffic to an address in them that no Service holds is dropped. */
  serviceCIDRs?: string[];
  /**
   * The addresses NodePorts answer on (resolved --nodeport-addresses), loopback ones left
   * out. Omitted: every local address but 127/8, as kube-proxy's nftables mode.
   */
  nodePortIPs?: string[];
  /** A full sync declares base containers of at least this many elements with a size (containerSize; default SIZED_CONTAINER_MIN_ELEMENTS). */
  sizedContainerMinElements?: number;
}

/** Verdict maps the dispatch chains look up. */
export const SERVICE_IPS = "service-ips";
export const SERVICE_NODEPORTS = "service-nodeports";
const NO_ENDPOINT_SERVICES = "no-endpoint-services";
const NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports";
/**
 * Endpoint maps: (entry . random index) -> DNAT target, for the cluster and the local
 * endpoint lists, one set of maps per protocol. TCP's keep the unsuffixed names.
 */
const endpointMapNames = (proto: string) => {
  const suffix = proto === "tcp" ? "" : `-${proto}`;
  return {
    cluster: { ip: `service-endpoints${suffix}`, nodePort: `nodeport-endpoints${suffix}` },
    local: { ip: `service-local-endpoints${suffix}`, nodePort: `nodeport-local-endpoints${suffix}` },
  } as const;
};
/** The protocols a Service port may use (core/v1 Protocol), lowercased as nft spells them. */
const PROTOCOLS = ["tcp", "udp", "sctp"] as const;
export const ENDPOINT_MAPS = Object.fromEntries(PROTOCOLS.map((p) => [p, endpointMapNames(p)])) as Record<
  (typeof PROTOCOLS)[number],
  ReturnType<typeof endpointMapNames>
>;
const endpointMaps = (which: "cluster" | "local", proto: string) => {
  const maps = ENDPOINT_MAPS[proto as (typeof PROTOCOLS)[number]];
  if (!maps) throw new Error(`nftables: no endpoint maps for protocol ${proto}`);
  return maps[which];
};
export const CLUSTER_CIDRS_SET = "cluster-cidrs";
/** Every ClusterIP in use: a packet still addressed to one after DNAT hit a port no Service has. */
export const CLUSTER_IPS_SET = "cluster-ips";
export const SERVICE_CIDRS_SET = "service-cidrs";
export const HAIRPIN_SET = "hairpin-endpoints";
export const NODEPORT_IPS_SET = "nodeport-ips";

/** The words of nft's syntax that differ between the IPv4 and the IPv6 table. */
export interface NftFamily {
  /** The table's family (`ip` or `ip6`), and the payload expression of addresses (`ip saddr`, `ip6 daddr`). */
  table: "ip" | "ip6";
  addrType: "ipv4_addr" | "ipv6_addr";
  /** Loopback destinations NodePorts never take (kube-proxy's nftables mode has no route_localnet). */
  loopback: string;
}
const IPV4_FAMILY: NftFamily = { table: "ip", addrType: "ipv4_addr", loopback: "127.0.0.0/8" };
const IPV6_FAMILY: NftFamily = { table: "ip6", addrType: "ipv6_addr", loopback: "::1" };
export const nftFamily = (family: IPFamily | undefined): NftFamily => (family === "IPv6" ? IPV6_FAMILY : IPV4_FAMILY);

const ipEntryKey = (f: NftFamily): string => `${f.table} daddr . meta l4proto . th dport`;
const NODEPORT_ENTRY_KEY = "meta l4proto . th dport";
/**
 * typeof of an endpoint map: the entry the packet came in on, then the random index. The
 * port is typed through the map's own protocol (`tcp dport`, `udp dport`, `sctp dport`):
 * nft 1.0.6 cannot read back a typeof holding `th dport` ("conflicting protocols" on the
 * next `add rule`), and a rule matching one protocol that looks up a map typed by another
 * fails the same way (an SCTP Service in a map typed `tcp dport` failed every sync).
 */
const endpointMapType = (entry: string, proto: string, f: NftFamily) =>
  `typeof ${entry.replace("th dport", `${proto} dport`)} . numgen random mod 1 : ${f.table} daddr . ${proto} dport`;

export interface BaseContainer {
  kind: "map" | "set";
  name: string;
  definition: string;
}

/** The maps and sets of the fixed part of a family's table; full syncs flush and refill them, affinity sets are not here. */
export const baseContainers = (family?: IPFamily): BaseContainer[] => {
  const f = nftFamily(family);
  const addr = f.addrType;
  const entryKey = ipEntryKey(f);
  return [
    {
      kind: "map",
      name: SERVICE_IPS,
      definition: `type ${addr} . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic";`,
    },
    { kind: "map", name: SERVICE_NODEPORTS, definition: `type inet_proto . inet_service : verdict; comment "NodePort traffic";` },
    {
      kind: "map",
      name: NO_ENDPOINT_SERVICES,
      definition: `type ${addr} . inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to services with no endpoints";`,
    },
    {
      kind: "map",
      name: NO_ENDPOINT_NODEPORTS,
      definition: `type inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to service nodeports with no endpoints";`,
    },
    ...PROTOCOLS.flatMap((proto) => {
      const maps = ENDPOINT_MAPS[proto];
      const what = proto.toUpperCase();
      return [
        { name: maps.cluster.ip, entry: entryKey, comment: `service IP . proto . port . random index : endpoint (${what})` },
        { name: maps.cluster.nodePort, entry: NODEPORT_ENTRY_KEY, comment: `proto . nodeport . random index : endpoint (${what})` },
        { name: maps.local.ip, entry: entryKey, comment: `as ${maps.cluster.ip}, this node's endpoints only` },
        { name: maps.local.nodePort, entry: NODEPORT_ENTRY_KEY, comment: `as ${maps.cluster.nodePort}, this node's endpoints only` },
      ].map((m) => ({ kind: "map" as const, name: m.name, definition: `${endpointMapType(m.entry, proto, f)}; comment "${m.comment}";` }));
    }),
    { kind: "set", name: CLUSTER_CIDRS_SET, definition: `type ${addr}; flags interval; comment "pod ranges";` },
    { kind: "set", name: CLUSTER_IPS_SET, definition: `type ${addr}; comment "Active ClusterIPs";` },
    { kind: "set", name: SERVICE_CIDRS_SET, definition: `type ${addr}; flags interval; comment "ranges ClusterIPs are allocated from";` },
    { kind: "set", name: NODEPORT_IPS_SET, definition: `type ${addr}; comment "IPs that accept NodePort traffic (with --nodeport-addresses)";` },
    {
      kind: "set",
      name: HAIRPIN_SET,
      definition: `type ${addr} . ${addr}; comment "endpoint . endpoint: a pod reaching itself through a service is masqueraded";`,
    },
  ];
};

/** The IPv4 table's fixed maps and sets (the names are the same in both families). */
export const BASE_CONTAINERS: BaseContainer[] = baseContainers();

/** A full sync declares a base container of at least this many elements with a size (containerSize). */
export const SIZED_CONTAINER_MIN_ELEMENTS = 8192;

/**
 * The size a full sync declares a base container of `count` elements with: none below
 * `min` elements, else the power of two at or above twice the count. With a
 * size the kernel keeps the elements in a hash of fixed buckets (nft_hash), allocated once,
 * instead of a table it grows and rehashes while 100,000 elements go in (rhashtable's slow
 * insert was the largest part of a full sync's kernel time at 10,000 Services). The size is
 * also the most elements the container may hold: an update that would pass it fails
 * (ENFILE), and the full sync that follows declares the container anew for its new count.
 */
export function containerSize(count: number, min = SIZED_CONTAINER_MIN_ELEMENTS): number | undefined {
  return count < Math.max(min, 1) ? undefined : 2 ** Math.ceil(Math.log2(2 * count));
}

/** `c`'s declaration body (what goes between its braces), with the size containerSize gives `count` elements. */
export function containerDefinition(c: BaseContainer, count: number, opts: NftablesOptions = {}): string {
  const size = containerSize(count, opts.sizedContainerMinElements);
  return size === undefined ? c.definition : c.definition.replace(/; comment "/, `; size ${size}; comment "`);
}

/**
/**
 * The destinations that take NodePorts: every local address but loopback (kube-proxy's
 * nftables mode never serves 127.0.0.1: no route_localnet), or the nodeport-ips set.
 */
const nodePortDestinations = (opts: NftablesOptions, f: NftFamily): string =>
  opts.nodePortIPs === undefined ? `fib daddr type local ${f.table} daddr != ${f.loopback}` : `${f.table} daddr @${NODEPORT_IPS_SET}`;

/**
 * The fixed chains, in nft block syntax. Invariant: nothing here names a service, so updates
 * never touch them. cluster-ips-check (as kube-proxy's) sees new connections after DNAT:
 * one still addressed to an active ClusterIP hit a port no Service defines and is rejected;
 * one addressed to an unallocated ClusterIP in the service ranges is dropped.
 */
export const baseChains = (opts: NftablesOptions = {}, f = nftFamily(opts.family)): string => `\tchain mark-for-masquerade {
\t\tmark set mark or ${MASQUERADE_MARK}
\t}
\tchain masquerading {
\t\tct status dnat ${f.table} saddr . ${f.table} daddr @${HAIRPIN_SET} jump mark-for-masquerade
\t\tmark and ${MASQUERADE_MARK} == 0 return
\t\tmark set mark xor ${MASQUERADE_MARK}
\t\tmasquerade fully-random
\t}
\tchain reject-chain {
\t\treject
\t}
\tchain services {
\t\t${ipEntryKey(f)} vmap @${SERVICE_IPS}
\t\t${nodePortDestinations(opts, f)} ${NODEPORT_ENTRY_KEY} vmap @${SERVICE_NODEPORTS}
\t}
\tchain service-endpoints-check {
\t\t${ipEntryKey(f)} vmap @${NO_ENDPOINT_SERVICES}
\t}
\tchain nodeport-endpoints-check {
\t\t${nodePortDestinations(opts, f)} ${NODEPORT_ENTRY_KEY} vmap @${NO_ENDPOINT_NODEPORTS}
\t}
\tchain cluster-ips-check {
\t\t${f.table} daddr @${CLUSTER_IPS_SET} reject
\t\t${f.table} daddr @${SERVICE_CIDRS_SET} drop
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
\t\tct state new jump cluster-ips-check
\t}
\tchain filter-output {
\t\ttype filter hook output priority ${FILTER_PRIORITY}; policy accept;
\t\tct state new jump service-endpoints-check
\t}
\tchain filter-output-post-dnat {
\t\ttype filter hook output priority ${FILTER_POST_DNAT_PRIORITY}; policy accept;
\t\tct state new jump cluster-ips-check
\t}
`;

/** The fixed chains with NodePorts on every local address. */
export const BASE_CHAINS = baseChains();

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

export const affinitySetDefinition = (timeoutSeconds: number, family?: IPFamily): string =>
  `{ type ${nftFamily(family).addrType}; flags dynamic,timeout; timeout ${timeoutSeconds}s; }`;

const entryIPs = (svc: ServicePortState): string[] => [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs];

/**
 * The shared chain that DNATs to one of `n` endpoints: a random index into an endpoint map,
 * keyed by the entry the packet came in on. The kernel walks every element of a map when a
 * rule in a new chain starts using it, and every user of a map for each element added, so
 * a lookup rule per service port would make a full sync quadratic; one chain per
 * (list, protocol, count) keeps the lookups few.
 */
const pickChainName = (which: "cluster" | "local", proto: string, n: number): string => `${which === "local" ? "local-" : ""}endpoints-${proto}-mod-${n}`;

function pickChainRules(which: "cluster" | "local", proto: string, n: number, f: NftFamily): string[] {
  const maps = endpointMaps(which, proto);
  return [
    `meta l4proto ${proto} dnat ${f.table} to ${ipEntryKey(f)} . numgen random mod ${n} map @${maps.ip}`,
    // Reached only when the first lookup missed: the packet came in on a NodePort.
    `meta l4proto ${proto} dnat ${f.table} to ${NODEPORT_ENTRY_KEY} . numgen random mod ${n} map @${maps.nodePort}`,
  ];
}

/**
 * The chains a service port without affinity jumps to are shared by every service port with
 * the same protocol and endpoint counts, so the table holds a few dozen chains instead of
 * one or more per Service. That matters beyond the full sync: nft 1.0.6 lists every chain
 * of every table before any `add rule`, `add element` or `delete` (its cache), so the cost
 * of a one-endpoint update grows with the number of chains.
 *
 * - `clusterip-<proto>-mod-<n>`: ClusterIP traffic; off-cluster sources are masqueraded.
 * - `local-clusterip-<proto>-mod-<m>`: the same under internalTrafficPolicy Local (`m` local endpoints).
 * - `external-<proto>-mod-<n>`: external traffic under Cluster policy (always masqueraded).
 * - `external-<proto>-mod-<n>-local-<m>`: external traffic under Local policy: in-cluster and
 *   node-local sources may use all `n` endpoints, everything else only the `m` local ones
 *   (with `m` 0, it falls off the chain not DNATed, and the no-endpoint maps drop it).
 * - `endpoints-…` / `local-endpoints-…`: the pick chains above.
 */
export function sharedChainRules(name: string, opts: NftablesOptions = {}): string[] {
  let m: RegExpMatchArray | null;
  const f = nftFamily(opts.family);
  if ((m = name.match(PICK_CHAIN))) return pickChainRules(m[1] ? "local" : "cluster", m[2]!, Number(m[3]), f);
  if ((m = name.match(/^(local-)?clusterip-(\w+)-mod-(\d+)$/))) {
    const pick = `goto ${pickChainName(m[1] ? "local" : "cluster", m[2]!, Number(m[3]))}`;
    const masquerade = masqueradeOffCluster(opts);
    return masquerade ? [masquerade, pick] : [pick];
  }
  if ((m = name.match(/^external-(\w+)-mod-(\d+)$/))) {
    // Cluster policy may send the packet to another node: masquerade so the reply comes back here.
    return ["jump mark-for-masquerade", `goto ${pickChainName("cluster", m[1]!, Number(m[2]))}`];
  }
  if ((m = name.match(/^external-(\w+)-mod-(\d+)-local-(\d+)$/))) {
    // Local policy keeps the client source IP; only traffic from this host (or its pods) may use remote endpoints.
    const all = `goto ${pickChainName("cluster", m[1]!, Number(m[2]))}`;
    const rules = opts.clusterCIDRs?.length ? [`${f.table} saddr @${CLUSTER_CIDRS_SET} ${all}`] : [];
    rules.push("fib saddr type local jump mark-for-masquerade", `fib saddr type local ${all}`);
    const local = Number(m[3]);
    return local > 0 ? [...rules, `goto ${pickChainName("local", m[1]!, local)}`] : rules;
  }
  throw new Error(`not a shared chain: ${name}`);
}

/**
 * The rule that marks off-cluster sources of ClusterIP traffic for masquerade (kube-proxy's
 * localDetector.IfNotLocalNFT() rule, against the set of every pod range), if any.
 */
function masqueradeOffCluster(opts: NftablesOptions): string | undefined {
  if (opts.masqueradeAll) return "jump mark-for-masquerade";
  return opts.clusterCIDRs?.length ? `${nftFamily(opts.family).table} saddr != @${CLUSTER_CIDRS_SET} jump mark-for-masquerade` : undefined;
}

/** The shared chains a service port's verdicts go to (none with affinity), each with the chains it goes to. */
export function sharedChains(svc: ServicePortState): string[] {
  if (svc.affinityTimeoutSeconds > 0) return [];
  const proto = svc.protocol.toLowerCase();
  const n = svc.clusterEndpoints.length;
  const local = svc.localEndpoints.length;
  const out: string[] = [];
  if (n > 0) out.push(pickChainName("cluster", proto, n), `clusterip-${proto}-mod-${n}`);
  if (local > 0) out.push(pickChainName("local", proto, local));
  if (local > 0 && svc.internalPolicyLocal) out.push(`local-clusterip-${proto}-mod-${local}`);
  // Local policy with no endpoint here still short-circuits pod and node traffic to the n endpoints.
  if (svc.externallyAccessible && n > 0) out.push(svc.externalPolicyLocal ? `external-${proto}-mod-${n}-local-${local}` : `external-${proto}-mod-${n}`);
  return out;
}

const PICK_CHAIN = /^(local-)?endpoints-(\w+)-mod-(\d+)$/;

/**
 * `names` plus, for each family of pick chains among them (list and protocol), every pick
 * chain from 1 to the largest endpoint count in use. A rule that starts looking up a map
 * makes the kernel walk the map's elements (100,000 at 10,000 Services, about 25 ms), so a
 * Service losing one endpoint must find the chain for one fewer already there. A full sync
 * creates them while the maps are still empty, where it costs nothing.
 */
export function withPickFamilies(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const largest = new Map<string, number>();
  for (const name of names) {
    out.add(name);
    const m = name.match(PICK_CHAIN);
    if (!m) continue;
    const family = `${m[1] ?? ""}endpoints-${m[2]}-mod-`;
    largest.set(family, Math.max(largest.get(family) ?? 0, Number(m[3])));
  }
  for (const [family, max] of largest) for (let n = 1; n <= max; n++) out.add(`${family}${n}`);
  return out;
}

/**
 * Receives one map element of `map`: its key is `entry` (which it serves), followed by
 * ` . index` when index ≥ 0; `value` is its value.
 */
export type ElementSink = (map: string, entry: string, index: number, value: string) => void;

/** The endpoint map elements of a service port without affinity: one per (entry, index). */
function endpointElements(svc: ServicePortState, endpoints: EndpointInfo[], which: "cluster" | "local", emit: ElementSink): void {
  const proto = svc.protocol.toLowerCase();
  const maps = endpointMaps(which, proto);
  const values = endpoints.map((ep) => `${ep.ip} . ${ep.port}`);
  for (const ip of entryIPs(svc)) {
    const entry = `${ip} . ${proto} . ${svc.port}`;
    for (let i = 0; i < values.length; i++) emit(maps.ip, entry, i, values[i]!);
  }
  if (svc.nodePort !== 0) {
    const entry = `${proto} . ${svc.nodePort}`;
    for (let i = 0; i < values.length; i++) emit(maps.nodePort, entry, i, values[i]!);
  }
}

/** ClientIP affinity: per-endpoint chains remember the client in per-endpoint sets. */
function affinityPickRules(svc: ServicePortState, endpoints: EndpointInfo[], f: NftFamily, hash: HashName | undefined): string[] {
  const bases = endpoints.map((ep) => endpointNameBase(svc, ep, hash));
  const rules = bases.map((base) => `${f.table} saddr @affinity-${base} goto endpoint-${base}`);
  rules.push(`numgen random mod ${endpoints.length} vmap { ${bases.map((base, i) => `${i} : goto endpoint-${base}`).join(", ")} }`);
  return rules;
}

/**
 * The chains, sets and map elements of one service port. A full render passes `emit` to
 * take the elements as they are made (`elements` then stays empty): 100,000 element
 * objects per render were a large part of its time and garbage.
 */
export function serviceObjects(svc: ServicePortState, opts: NftablesOptions = {}, emit?: ElementSink): NftServiceObjects {
  const out: NftServiceObjects = { chains: [], sets: [], elements: [] };
  const element: ElementSink =
    emit ?? ((map, entry, index, value) => void out.elements.push({ map, key: index < 0 ? entry : `${entry} . ${index}`, value, entry }));
  const addElement = (map: string, key: string, value: string) => element(map, key, -1, value);
  const proto = svc.protocol.toLowerCase();
  const f = nftFamily(opts.family);
  const hasLocal = svc.localEndpoints.length > 0;
  const hasInternalEndpoints = svc.hasAnyEndpoints && (!svc.internalPolicyLocal || hasLocal);
  const hasExternalEndpoints = svc.hasAnyEndpoints && (!svc.externalPolicyLocal || hasLocal);
  // With endpoints anywhere, external traffic goes to the external chain even when Local policy
  // finds none here: it short-circuits pod and node traffic, and lets the rest through not DNATed.
  const usesExternalChain = svc.externallyAccessible && svc.hasAnyEndpoints;
  // No endpoints at all: reject. Endpoints elsewhere but none here under a Local policy: drop.
  const noEndpointVerdict = svc.hasAnyEndpoints ? DROP : REJECT;
  let internalChain: string;
  let externalChain: string;

  if (svc.affinityTimeoutSeconds === 0) {
    const n = svc.clusterEndpoints.length;
    const local = svc.localEndpoints.length;
    if (n > 0) endpointElements(svc, svc.clusterEndpoints, "cluster", element);
    if (hasLocal) endpointElements(svc, svc.localEndpoints, "local", element);
    internalChain = svc.internalPolicyLocal ? `local-clusterip-${proto}-mod-${local}` : `clusterip-${proto}-mod-${n}`;
    externalChain = svc.externalPolicyLocal ? `external-${proto}-mod-${n}-local-${local}` : `external-${proto}-mod-${n}`;
  } else {
    const names = serviceChainNames(svc, opts.hashName);
    const cidrs = opts.clusterCIDRs?.length ? `@${CLUSTER_CIDRS_SET}` : undefined;
    const masquerade = masqueradeOffCluster(opts);
    // Off-cluster ClusterIP traffic is marked in whichever chain takes it (the local one under internalTrafficPolicy Local).
    const internalRules = (local: boolean): string[] =>
      masquerade && local === svc.internalPolicyLocal ? svc.clusterIPs.map((ip) => `${f.table} daddr ${ip} ${proto} dport ${svc.port} ${masquerade}`) : [];
    if (svc.clusterEndpoints.length > 0)
      out.chains.push([names.cluster, [...internalRules(false), ...affinityPickRules(svc, svc.clusterEndpoints, f, opts.hashName)]]);
    if (hasLocal) out.chains.push([names.local, [...internalRules(true), ...affinityPickRules(svc, svc.localEndpoints, f, opts.hashName)]]);
    if (usesExternalChain) {
      const rules: string[] = [];
      if (!svc.externalPolicyLocal) rules.push("jump mark-for-masquerade");
      else {
        if (cidrs) rules.push(`ip saddr ${cidrs} goto ${names.cluster}`);
        rules.push("fib saddr type local jump mark-for-masquerade");
        rules.push(`fib saddr type local goto ${names.cluster}`);
      }
      if (hasExternalEndpoints) rules.push(`goto ${svc.externalPolicyLocal ? names.local : names.cluster}`);
      out.chains.push([names.external, rules]);
    }
    for (const ep of svc.allReachableEndpoints) {
      const base = endpointNameBase(svc, ep, opts.hashName);
      out.sets.push([`affinity-${base}`, affinitySetDefinition(svc.affinityTimeoutSeconds, opts.family)]);
      const target = f.table === "ip6" ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
      out.chains.push([`endpoint-${base}`, [`update @affinity-${base} { ${f.table} saddr }`, `meta l4proto ${proto} dnat to ${target}`]]);
    }
    internalChain = svc.internalPolicyLocal ? names.local : names.cluster;
    externalChain = names.external;
  }
  // Hairpin masquerading is the shared hairpin-endpoints set's job (see table-index.ts).

  for (const ip of svc.clusterIPs) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (hasInternalEndpoints) addElement(SERVICE_IPS, key, `goto ${internalChain}`);
    else addElement(NO_ENDPOINT_SERVICES, key, noEndpointVerdict);
  }
  for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) {
    const key = `${ip} . ${proto} . ${svc.port}`;
    if (usesExternalChain) addElement(SERVICE_IPS, key, `goto ${externalChain}`);
    if (!hasExternalEndpoints) addElement(NO_ENDPOINT_SERVICES, key, noEndpointVerdict);
  }
  if (svc.nodePort !== 0) {
    const key = `${proto} . ${svc.nodePort}`;
    if (usesExternalChain) addElement(SERVICE_NODEPORTS, key, `goto ${externalChain}`);
    if (!hasExternalEndpoints) addElement(NO_ENDPOINT_NODEPORTS, key, noEndpointVerdict);
  }
  return out;
}
