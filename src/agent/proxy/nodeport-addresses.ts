// Which of the node's addresses NodePorts answer on: kube-proxy's --nodeport-addresses
// (pkg/proxy/util/nodeport_addresses.go and the "primary" handling of cmd/kube-proxy),
// resolved at start-up, per IP family, into the addresses the backends program. `undefined`
// means every local address of the family (kube-proxy's MatchAll).
import { networkInterfaces } from "node:os";
import { isIPv4, isLoopback, parseCIDR, parseIP } from "../../api/ip";
import type { IPFamily } from "./state";

/** The value that means "the node's primary address only" (kube-proxy's NodePortAddressesPrimary). */
export const NODEPORT_ADDRESSES_PRIMARY = "primary";

/** The loopback range: kube-proxy's iptables mode serves NodePorts there, its nftables mode never does. */
export const IPV4_LOOPBACK_CIDR = "127.0.0.0/8";

/** kube-proxy's iptables mode never serves NodePorts on IPv6 loopback (there is no route_localnet for IPv6). */
export const IPV6_LOOPBACK_CIDR = "::1/128";

const familyNumber = (family: IPFamily): 4 | 6 => (family === "IPv4" ? 4 : 6);

/** Whether `ip` is inside `cidr`, both of the same family. */
export function ipInCIDR(ip: string, cidr: string): boolean {
  const parsed = parseCIDR(cidr);
  const addr = parseIP(ip);
  if (!parsed || !addr || parsed.ip.family !== addr.family) return false;
  const a = addr.bytes;
  const b = parsed.ip.bytes;
  for (let bit = 0; bit < parsed.prefix; bit++) {
    const mask = 1 << (7 - (bit & 7));
    if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Whether `ip` (IPv4) is inside `cidr` (IPv4). */
export const ipv4InCIDR = (ip: string, cidr: string): boolean => isIPv4(ip) && ipInCIDR(ip, cidr);

/** 127/8 or ::1. */
export const isLoopbackAddress = (ip: string): boolean => {
  const parsed = parseIP(ip);
  return parsed !== undefined && isLoopback(parsed);
};

/** kube-proxy's validation of the list (validateKubeProxyNodePortAddress): an error message, or undefined. */
export function nodePortAddressesError(values: string[]): string | undefined {
  for (const [i, value] of values.entries()) {
    if (value === NODEPORT_ADDRESSES_PRIMARY)
      return i !== 0 || values.length !== 1 ? `${JSON.stringify(value)}: can't use both 'primary' and CIDRs` : undefined;
    if (!parseCIDR(value)) return `${JSON.stringify(value)}: must be a valid CIDR`;
  }
  return undefined;
}

export interface NodeAddresses {
  /** The node's addresses (--node-ip, or detected); the first of each family is that family's primary. */
  nodeIPs: string[];
  /** Every address on the node's interfaces, loopback included (other families are ignored). */
  localAddresses: string[];
}

/**
 * The addresses of `family` (default IPv4) NodePorts answer on, or undefined for every local
 * address: no CIDR of the family given (kube-proxy then uses 0.0.0.0/0 or ::/0 for it), or
 * one of prefix 0. "primary" is the family's first node address unless it is loopback (then none).
 */
export function resolveNodePortAddresses(values: string[], node: NodeAddresses, family: IPFamily = "IPv4"): string[] | undefined {
  const fam = familyNumber(family);
  const ofFamily = (ip: string): boolean => parseIP(ip)?.family === fam && (fam === 6) !== isIPv4(ip);
  if (values.length === 1 && values[0] === NODEPORT_ADDRESSES_PRIMARY) {
    const primary = node.nodeIPs.find(ofFamily);
    return primary && !isLoopbackAddress(primary) ? [primary] : [];
  }
  const cidrs = values.filter((v) => parseCIDR(v)?.ip.family === fam);
  if (cidrs.length === 0 || cidrs.some((c) => parseCIDR(c)!.prefix === 0)) return undefined;
  return [...new Set(node.localAddresses.filter((ip) => ofFamily(ip) && cidrs.some((c) => ipInCIDR(ip, c))))];
}

/** The addresses of this host's interfaces, both families (what kube-proxy's GetNodeIPs matches the CIDRs against). */
export function localAddresses(): string[] {
  const out: string[] = [];
  // Link-local IPv6 addresses need a zone to be used, and kube-proxy's CIDRs never mean them.
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === "IPv4" || a.scopeid === 0) out.push(a.address);
  return out;
}

/**
 * Whether NodePorts answer on 127.0.0.1 (iptables mode: every local address, or a loopback
 * one chosen). Never for IPv6: the kernel has no route_localnet for ::1.
 */
export const servesLocalhostNodePorts = (nodePortIPs: string[] | undefined, family: IPFamily = "IPv4"): boolean =>
  family === "IPv4" && (nodePortIPs === undefined || nodePortIPs.some(isLoopbackAddress));
