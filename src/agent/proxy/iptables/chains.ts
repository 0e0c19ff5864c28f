// Chain names and the jump rules from the built-in chains, shared by the renderer, the
// applier and the tracer. Every chain starts with SVCEDGE- so the agent never touches a
// chain it does not own; 28 characters is the iptables limit (XT_EXTENSION_MAXNAMELEN - 1).
import { base32Hash, type HashName } from "../chain-names";
import type { EndpointInfo, ServicePortState } from "../state";

export const CHAIN_PREFIX = "SVCEDGE-";
export const SERVICES_CHAIN = "SVCEDGE-SERVICES";
export const EXTERNAL_SERVICES_CHAIN = "SVCEDGE-EXTERNAL-SERVICES";
export const NODEPORTS_CHAIN = "SVCEDGE-NODEPORTS";
export const POSTROUTING_CHAIN = "SVCEDGE-POSTROUTING";
export const MARK_MASQ_CHAIN = "SVCEDGE-MARK-MASQ";
export const FORWARD_CHAIN = "SVCEDGE-FORWARD";
/** Drops packets to 127/8 from elsewhere while route_localnet is on (kube-proxy's copy of kubelet's KUBE-FIREWALL). */
export const FIREWALL_CHAIN = "SVCEDGE-FIREWALL";
/** With several pod ranges: returns for each, then marks for masquerade (one `! -s` rule per range would mark every source). */
export const MASQ_OFF_CLUSTER_CHAIN = "SVCEDGE-MASQ-OFF-CLUSTER";

/** kube-proxy keeps 16 base32 characters of the hash in iptables chain names. */
const IPT_HASH_LENGTH = 16;

export interface ServiceChains {
  svc: string;
  svl: string;
  ext: string;
}

export function serviceChains(svc: ServicePortState, hashName: HashName = base32Hash): ServiceChains {
  const hash = hashName(svc.name + svc.protocol, IPT_HASH_LENGTH);
  return { svc: `SVCEDGE-SVC-${hash}`, svl: `SVCEDGE-SVL-${hash}`, ext: `SVCEDGE-EXT-${hash}` };
}

/** kube-proxy hashes the endpoint as it writes it: "ip:port", "[ip]:port" for IPv6. */
export const endpointChain = (svc: ServicePortState, ep: EndpointInfo, hash: HashName = base32Hash): string =>
  `SVCEDGE-SEP-${hash(`${svc.name}${svc.protocol}${ep.ip.includes(":") ? `[${ep.ip}]` : ep.ip}:${ep.port}`, IPT_HASH_LENGTH)}`;

export type IptablesTable = "nat" | "filter";

export interface JumpRule {
  table: IptablesTable;
  /** A built-in chain. */
  chain: string;
  /** Rule spec after the chain name, as iptables -C/-I take it. */
  args: string[];
}

const comment = (text: string): string[] => ["-m", "comment", "--comment", text];
const ctNew = ["-m", "conntrack", "--ctstate", "NEW"];

/** Jumps into our chains from the built-in ones; the applier inserts each once, at the top. */
export const JUMP_RULES: JumpRule[] = [
  { table: "nat", chain: "PREROUTING", args: [...comment("svcedge service portals"), "-j", SERVICES_CHAIN] },
  { table: "nat", chain: "OUTPUT", args: [...comment("svcedge service portals"), "-j", SERVICES_CHAIN] },
  { table: "nat", chain: "POSTROUTING", args: [...comment("svcedge postrouting rules"), "-j", POSTROUTING_CHAIN] },
  { table: "filter", chain: "INPUT", args: [...ctNew, ...comment("svcedge externally-visible service portals"), "-j", EXTERNAL_SERVICES_CHAIN] },
  { table: "filter", chain: "FORWARD", args: [...comment("svcedge forwarding rules"), "-j", FORWARD_CHAIN] },
  { table: "filter", chain: "FORWARD", args: [...ctNew, ...comment("svcedge service portals"), "-j", SERVICES_CHAIN] },
  { table: "filter", chain: "FORWARD", args: [...ctNew, ...comment("svcedge externally-visible service portals"), "-j", EXTERNAL_SERVICES_CHAIN] },
  { table: "filter", chain: "OUTPUT", args: [...ctNew, ...comment("svcedge service portals"), "-j", SERVICES_CHAIN] },
  // As kube-proxy's jumps to KUBE-FIREWALL: always there, the chain filled only while localhost NodePorts are served.
  { table: "filter", chain: "INPUT", args: [...comment("svcedge localnet firewall"), "-j", FIREWALL_CHAIN] },
  { table: "filter", chain: "OUTPUT", args: [...comment("svcedge localnet firewall"), "-j", FIREWALL_CHAIN] },
];

/** Chains the renderer always declares in each table. */
export const FIXED_CHAINS: Record<IptablesTable, string[]> = {
  filter: [SERVICES_CHAIN, EXTERNAL_SERVICES_CHAIN, FORWARD_CHAIN, FIREWALL_CHAIN],
  nat: [SERVICES_CHAIN, NODEPORTS_CHAIN, POSTROUTING_CHAIN, MARK_MASQ_CHAIN],
};
