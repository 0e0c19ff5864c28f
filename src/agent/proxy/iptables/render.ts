// Pure iptables rule generation: ProxyState -> text for `iptables-restore --noflush`,
// in kube-proxy's chain layout under our own SVCEDGE- prefix. Every chain we own is
// declared (and so flushed) and refilled in one restore; chains left over from an
// earlier sync are flushed and deleted in the same restore.
import type { EndpointInfo, IPFamily, ProxyState, ServicePortState } from "../state";
import {
  endpointChain,
  EXTERNAL_SERVICES_CHAIN,
  FIXED_CHAINS,
  FORWARD_CHAIN,
  FIREWALL_CHAIN,
  MARK_MASQ_CHAIN,
  MASQ_OFF_CLUSTER_CHAIN,
  NODEPORTS_CHAIN,
  POSTROUTING_CHAIN,
  serviceChains,
  SERVICES_CHAIN,
  type IptablesTable,
} from "./chains";
import { MASQUERADE_MARK } from "../marks";
import type { HashName } from "../chain-names";
import { IPV4_LOOPBACK_CIDR, IPV6_LOOPBACK_CIDR, isLoopbackAddress, servesLocalhostNodePorts } from "../nodeport-addresses";

export interface IptablesOptions {
  /** How chain names are hashed: a proxier passes its memo (chain-names.ts NameHashes). */
  hashName?: HashName;
  /** The family of these rules (default IPv4): iptables, or ip6tables (kube-proxy's per-family proxiers). */
  family?: IPFamily;
  /** Sources inside the cluster; traffic from elsewhere to a ClusterIP is masqueraded. */
  clusterCIDRs?: string[];
  /** Masquerade all ClusterIP traffic (kube-proxy --masquerade-all). */
  masqueradeAll?: boolean;
  /**
   * The addresses NodePorts answer on (resolved --nodeport-addresses). Omitted: every local
   * address, 127.0.0.1 included, as kube-proxy's iptables mode with its defaults.
   */
  nodePortIPs?: string[];
  /** SVCEDGE-* chains the kernel holds now (from iptables-save); those not rendered are deleted. */
  existingChains?: Partial<Record<IptablesTable, Iterable<string>>>;
}

const quote = (text: string): string => (/[\s"]/.test(text) ? `"${text.replace(/"/g, '\\"')}"` : text);
/** An endpoint as kube-proxy writes it: "ip:port", "[ip]:port" for IPv6. */
const endpointText = (ep: EndpointInfo): string => (ep.ip.includes(":") ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`);
/** One address as a -d/-s match: /32, or /128 for IPv6. */
const host = (ip: string): string => (ip.includes(":") ? `${ip}/128` : `${ip}/32`);

const comment = (text: string): string => `-m comment --comment ${quote(text)}`;
const protoMatch = (svc: ServicePortState, port: number): string => {
  const p = svc.protocol.toLowerCase();
  return `-p ${p} -m ${p} --dport ${port}`;
};

/** kube-proxy's probability for endpoint i of n: 1/(n-i), printed with %0.10f. */
export const probability = (n: number): string => (1 / n).toFixed(10);

interface Tables {
  nat: { chains: string[]; rules: string[] };
  filter: { chains: string[]; rules: string[] };
}

function balancingRules(t: Tables, svc: ServicePortState, chain: string, endpoints: EndpointInfo[], seps: Map<EndpointInfo, string>): void {
  if (svc.affinityTimeoutSeconds > 0) {
    // A client seen within the timeout goes back to its endpoint, before any random pick.
    for (const ep of endpoints) {
      const sep = seps.get(ep)!;
      t.nat.rules.push(
        `-A ${chain} ${comment(`${svc.name} -> ${endpointText(ep)}`)} -m recent --name ${sep} --rcheck --seconds ${svc.affinityTimeoutSeconds} --reap -j ${sep}`,
      );
    }
  }
  endpoints.forEach((ep, i) => {
    const n = endpoints.length - i;
    const stat = n > 1 ? ` -m statistic --mode random --probability ${probability(n)}` : "";
    t.nat.rules.push(`-A ${chain} ${comment(`${svc.name} -> ${endpointText(ep)}`)}${stat} -j ${seps.get(ep)!}`);
  });
}

/**
 * The rule (in `chain`, for traffic to a ClusterIP) that marks off-cluster sources for
 * masquerade, as kube-proxy's localDetector.IfNotLocal() rule: a client outside the pod
 * ranges may reach the VIP through any node, so the reply must come back through this one.
 */
function masqueradeOffClusterRule(match: string, opts: IptablesOptions): string | undefined {
  if (opts.masqueradeAll) return `${match} -j ${MARK_MASQ_CHAIN}`;
  const cidrs = opts.clusterCIDRs ?? [];
  if (cidrs.length === 0) return undefined;
  if (cidrs.length === 1) return `${match} ! -s ${cidrs[0]} -j ${MARK_MASQ_CHAIN}`;
  return `${match} -j ${MASQ_OFF_CLUSTER_CHAIN}`;
}

function renderService(t: Tables, svc: ServicePortState, opts: IptablesOptions): void {
  const chains = serviceChains(svc, opts.hashName);
  const seps = new Map(svc.allReachableEndpoints.map((ep) => [ep, endpointChain(svc, ep, opts.hashName)]));
  const hasLocal = svc.localEndpoints.length > 0;
  const hasInternalEndpoints = svc.hasAnyEndpoints && (!svc.internalPolicyLocal || hasLocal);
  const hasExternalEndpoints = svc.hasAnyEndpoints && (!svc.externalPolicyLocal || hasLocal);
  // The external chain exists whenever there are endpoints anywhere: with Local policy and
  // none here, it still short-circuits pod and node traffic to the cluster endpoints.
  const usesExternalChain = svc.externallyAccessible && svc.hasAnyEndpoints;
  const internalChain = svc.internalPolicyLocal ? chains.svl : chains.svc;
  const externalPolicyChain = svc.externalPolicyLocal ? chains.svl : chains.svc;
  // No endpoints at all: REJECT. Endpoints elsewhere but none here under a Local policy: DROP
  // (external traffic that the external chain did not short-circuit, so not DNATed).
  const filterTarget = svc.hasAnyEndpoints ? "DROP" : "REJECT";
  const filterComment = comment(svc.hasAnyEndpoints ? `${svc.name} has no local endpoints` : `${svc.name} has no endpoints`);

  for (const ip of svc.clusterIPs) {
    const dest = `-d ${host(ip)} ${protoMatch(svc, svc.port)}`;
    if (hasInternalEndpoints) t.nat.rules.push(`-A ${SERVICES_CHAIN} ${comment(`${svc.name} cluster IP`)} ${dest} -j ${internalChain}`);
    else t.filter.rules.push(`-A ${SERVICES_CHAIN} ${filterComment} ${dest} -j ${filterTarget}`);
  }
  for (const [kind, ips] of [
    ["external IP", svc.externalIPs],
    ["loadbalancer IP", svc.loadBalancerIPs],
  ] as const) {
    for (const ip of ips) {
      const dest = `-d ${host(ip)} ${protoMatch(svc, svc.port)}`;
      if (usesExternalChain) t.nat.rules.push(`-A ${SERVICES_CHAIN} ${comment(`${svc.name} ${kind}`)} ${dest} -j ${chains.ext}`);
      if (!hasExternalEndpoints) t.filter.rules.push(`-A ${EXTERNAL_SERVICES_CHAIN} ${filterComment} ${dest} -j ${filterTarget}`);
    }
  }
  if (svc.nodePort !== 0) {
    if (usesExternalChain) t.nat.rules.push(`-A ${NODEPORTS_CHAIN} ${comment(svc.name)} ${protoMatch(svc, svc.nodePort)} -j ${chains.ext}`);
    if (!hasExternalEndpoints)
      t.filter.rules.push(`-A ${EXTERNAL_SERVICES_CHAIN} ${filterComment} -m addrtype --dst-type LOCAL ${protoMatch(svc, svc.nodePort)} -j ${filterTarget}`);
  }

  // Off-cluster sources of ClusterIP traffic are masqueraded in whichever chain takes it (SVL under internalTrafficPolicy Local).
  const internalRules = (chain: string): void => {
    if (!hasInternalEndpoints || chain !== internalChain) return;
    for (const ip of svc.clusterIPs) {
      const rule = masqueradeOffClusterRule(`-A ${chain} ${comment(`${svc.name} cluster IP`)} -d ${host(ip)} ${protoMatch(svc, svc.port)}`, opts);
      if (rule) t.nat.rules.push(rule);
    }
  };
  if (svc.clusterEndpoints.length > 0) {
    t.nat.chains.push(chains.svc);
    internalRules(chains.svc);
    balancingRules(t, svc, chains.svc, svc.clusterEndpoints, seps);
  }
  if (hasLocal) {
    t.nat.chains.push(chains.svl);
    internalRules(chains.svl);
    balancingRules(t, svc, chains.svl, svc.localEndpoints, seps);
  }
  if (usesExternalChain) {
    t.nat.chains.push(chains.ext);
    if (!svc.externalPolicyLocal) {
      // Cluster policy may send the packet to another node: masquerade so the reply comes back here.
      t.nat.rules.push(`-A ${chains.ext} ${comment(`masquerade traffic for ${svc.name} external destinations`)} -j ${MARK_MASQ_CHAIN}`);
    } else {
      // Local policy keeps the client source IP; only traffic from this host (or its pods) may use remote endpoints.
      for (const cidr of opts.clusterCIDRs ?? []) {
        t.nat.rules.push(`-A ${chains.ext} ${comment(`pod traffic for ${svc.name} external destinations`)} -s ${cidr} -j ${chains.svc}`);
      }
      t.nat.rules.push(
        `-A ${chains.ext} ${comment(`masquerade LOCAL traffic for ${svc.name} external destinations`)} -m addrtype --src-type LOCAL -j ${MARK_MASQ_CHAIN}`,
      );
      t.nat.rules.push(
        `-A ${chains.ext} ${comment(`route LOCAL traffic for ${svc.name} external destinations`)} -m addrtype --src-type LOCAL -j ${chains.svc}`,
      );
    }
    // Anything else takes the policy's endpoints; with none here it falls off the chain, not DNATed, into the filter's DROP.
    if (hasExternalEndpoints) t.nat.rules.push(`-A ${chains.ext} -j ${externalPolicyChain}`);
  }
  for (const ep of svc.allReachableEndpoints) {
    const sep = seps.get(ep)!;
    const p = svc.protocol.toLowerCase();
    t.nat.chains.push(sep);
    t.nat.rules.push(`-A ${sep} ${comment(svc.name)} -s ${host(ep.ip)} -j ${MARK_MASQ_CHAIN}`);
    const affinity = svc.affinityTimeoutSeconds > 0 ? ` -m recent --name ${sep} --set` : "";
    t.nat.rules.push(`-A ${sep} ${comment(svc.name)}${affinity} -p ${p} -m ${p} -j DNAT --to-destination ${endpointText(ep)}`);
  }
}

function collect(state: ProxyState, opts: IptablesOptions): Tables {
  const t: Tables = { nat: { chains: [], rules: [] }, filter: { chains: [], rules: [] } };
  t.filter.rules.push(
    `-A ${FORWARD_CHAIN} ${comment("svcedge forwarding rules")} -m mark --mark ${MASQUERADE_MARK}/${MASQUERADE_MARK} -j ACCEPT`,
    `-A ${FORWARD_CHAIN} ${comment("svcedge forwarding conntrack rule")} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  t.nat.rules.push(
    `-A ${POSTROUTING_CHAIN} -m mark ! --mark ${MASQUERADE_MARK}/${MASQUERADE_MARK} -j RETURN`,
    // Clear the mark so a re-traversal (e.g. through IPsec) does not masquerade twice.
    `-A ${POSTROUTING_CHAIN} -j MARK --xor-mark ${MASQUERADE_MARK}`,
    `-A ${POSTROUTING_CHAIN} ${comment("svcedge service traffic requiring SNAT")} -j MASQUERADE --random-fully`,
    `-A ${MARK_MASQ_CHAIN} -j MARK --or-mark ${MASQUERADE_MARK}`,
  );
  const cidrs = opts.clusterCIDRs ?? [];
  if (cidrs.length > 1 && !opts.masqueradeAll) {
    t.nat.chains.push(MASQ_OFF_CLUSTER_CHAIN);
    for (const cidr of cidrs) t.nat.rules.push(`-A ${MASQ_OFF_CLUSTER_CHAIN} ${comment("pod traffic")} -s ${cidr} -j RETURN`);
    t.nat.rules.push(`-A ${MASQ_OFF_CLUSTER_CHAIN} ${comment("off-cluster traffic to a cluster IP")} -j ${MARK_MASQ_CHAIN}`);
  }
  const v6 = opts.family === "IPv6";
  if (servesLocalhostNodePorts(opts.nodePortIPs, opts.family)) {
    // route_localnet (set by the applier) lets 127.0.0.1:<nodePort> be DNATed off the host, but
    // would also let other hosts reach services bound to 127/8: kube-proxy's mitigation (CVE-2020-8558).
    t.filter.rules.push(
      `-A ${FIREWALL_CHAIN} ${comment("block incoming localnet connections")} -d ${IPV4_LOOPBACK_CIDR} ! -s ${IPV4_LOOPBACK_CIDR} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }
  for (const svc of state.services) renderService(t, svc, opts);
  // NOTE: this must be the last rule in SVCEDGE-SERVICES: it sends what no other rule took to the NodePorts.
  const nodePortsComment = comment("svcedge service nodeports; NOTE: this must be the last rule in this chain");
  // IPv6 has no route_localnet: ::1 never takes NodePorts (as kube-proxy's IPv6 proxier).
  const notLoopback = v6 ? ` ! -d ${IPV6_LOOPBACK_CIDR}` : "";
  if (opts.nodePortIPs === undefined)
    t.nat.rules.push(`-A ${SERVICES_CHAIN} ${nodePortsComment} -m addrtype --dst-type LOCAL${notLoopback} -j ${NODEPORTS_CHAIN}`);
  else
    for (const ip of opts.nodePortIPs)
      if (!v6 || !isLoopbackAddress(ip)) t.nat.rules.push(`-A ${SERVICES_CHAIN} ${nodePortsComment} -d ${host(ip)} -j ${NODEPORTS_CHAIN}`);
  for (const table of TABLE_NAMES) t[table].chains = FIXED_CHAINS[table].concat(t[table].chains);
  return t;
}

const TABLE_NAMES = ["filter", "nat"] as const;

export function renderIptables(state: ProxyState, opts: IptablesOptions = {}): string {
  return renderTables(collect(state, opts), opts.existingChains);
}

function renderTables(t: Tables, existingChains: IptablesOptions["existingChains"]): string {
  // Joined per section: spreading 100,000+ rules into push() would overflow the call stack.
  const sections: string[] = [];
  for (const table of TABLE_NAMES) {
    const chains = t[table].chains;
    const live = new Set(chains);
    const stale = [...(existingChains?.[table] ?? [])].filter((c) => !live.has(c));
    // Declaring a chain flushes it under --noflush: stale ones are emptied first, deleted last.
    const declarations = chains.concat(stale).map((chain) => `:${chain} - [0:0]`);
    sections.push(`*${table}`, declarations.join("\n"), t[table].rules.join("\n"));
    if (stale.length) sections.push(stale.map((chain) => `-X ${chain}`).join("\n"));
    sections.push("COMMIT");
  }
  return `${sections.join("\n")}\n`;
}

/** Every chain we own, per table, with its rules as one text (in order): what a sync is compared by. */
export type IptablesChains = Record<IptablesTable, Map<string, string>>;

function chainsOf(t: Tables): IptablesChains {
  const chains = { filter: new Map<string, string>(), nat: new Map<string, string>() };
  for (const table of TABLE_NAMES) {
    const byChain = new Map<string, string[]>(t[table].chains.map((c) => [c, []]));
    for (const rule of t[table].rules) byChain.get(rule.slice(3, rule.indexOf(" ", 3)))!.push(rule);
    for (const [chain, rules] of byChain) chains[table].set(chain, rules.join("\n"));
  }
  return chains;
}

/** The chains a state renders to, for a partial sync's comparison (no restore text). */
export function iptablesChains(state: ProxyState, opts: IptablesOptions = {}): IptablesChains {
  return chainsOf(collect(state, opts));
}

/** The full restore text for a state, and its chains for the next sync's comparison. */
export function renderIptablesSync(state: ProxyState, opts: IptablesOptions = {}): { text: string; chains: IptablesChains } {
  const t = collect(state, opts);
  return { text: renderTables(t, opts.existingChains), chains: chainsOf(t) };
}

/**
 * Only the chains that changed between two syncs (kube-proxy's MinimizeIPTablesRestore):
 * changed and new chains declared (so flushed) and refilled, gone ones flushed and deleted,
 * unchanged ones not mentioned, so `--noflush` leaves them alone. A chain that starts or
 * stops jumping to another has changed itself, so references stay valid. "" when nothing
 * changed.
 */
export function renderIptablesChanges(prev: IptablesChains, next: IptablesChains): string {
  const sections: string[] = [];
  for (const table of TABLE_NAMES) {
    const changed = [...next[table]].filter(([chain, rules]) => prev[table].get(chain) !== rules);
    const gone = [...prev[table].keys()].filter((chain) => !next[table].has(chain));
    if (changed.length === 0 && gone.length === 0) continue;
    sections.push(`*${table}`, ...changed.map(([chain]) => `:${chain} - [0:0]`), ...gone.map((chain) => `:${chain} - [0:0]`));
    for (const [, rules] of changed) if (rules) sections.push(rules);
    sections.push(...gone.map((chain) => `-X ${chain}`), "COMMIT");
  }
  return sections.length ? `${sections.join("\n")}\n` : "";
}
