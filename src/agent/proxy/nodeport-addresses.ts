// Which of the node's addresses NodePorts answer on: kube-proxy's --nodeport-addresses
// (pkg/proxy/util/nodeport_addresses.go and the "primary" handling of cmd/kube-proxy),
// resolved at start-up into the IPv4 addresses the backends program. `undefined` means
// every local address (kube-proxy's MatchAll).
import { networkInterfaces } from "node:os";
import { ipv4ToNumber, isIPv4, parseCIDR } from "../../api/ip";

/** The value that means "the node's primary address only" (kube-proxy's NodePortAddressesPrimary). */
export const NODEPORT_ADDRESSES_PRIMARY = "primary";

/** The loopback range: kube-proxy's iptables mode serves NodePorts there, its nftables mode never does. */
export const IPV4_LOOPBACK_CIDR = "127.0.0.0/8";

/** Whether `ip` (IPv4) is inside `cidr` (IPv4). */
export function ipv4InCIDR(ip: string, cidr: string): boolean {
  const parsed = parseCIDR(cidr);
  const addr = ipv4ToNumber(ip);
  const base = ipv4ToNumber(cidr.slice(0, cidr.indexOf("/")));
  if (parsed?.ip.family !== 4 || addr === undefined || base === undefined) return false;
  const mask = parsed.prefix === 0 ? 0 : (~0 << (32 - parsed.prefix)) >>> 0;
  return (addr & mask) >>> 0 === (base & mask) >>> 0;
}

export const isIPv4Loopback = (ip: string): boolean => ipv4InCIDR(ip, IPV4_LOOPBACK_CIDR);

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
  /** The node's addresses (--node-ip, or detected); the first IPv4 one is the primary. */
  nodeIPs: string[];
  /** Every IPv4 address on the node's interfaces, loopback included. */
  localAddresses: string[];
}

/**
 * The IPv4 addresses NodePorts answer on, or undefined for every local address: no IPv4
 * CIDR given (kube-proxy then uses 0.0.0.0/0 for the family), or one of prefix 0.
 * "primary" is the first IPv4 node address unless it is loopback (then none).
 */
export function resolveNodePortAddresses(values: string[], node: NodeAddresses): string[] | undefined {
  if (values.length === 1 && values[0] === NODEPORT_ADDRESSES_PRIMARY) {
    const primary = node.nodeIPs.find(isIPv4);
    return primary && !isIPv4Loopback(primary) ? [primary] : [];
  }
  const cidrs = values.filter((v) => parseCIDR(v)?.ip.family === 4);
  if (cidrs.length === 0 || cidrs.some((c) => parseCIDR(c)!.prefix === 0)) return undefined;
  return [...new Set(node.localAddresses.filter((ip) => cidrs.some((c) => ipv4InCIDR(ip, c))))];
}

/** The IPv4 addresses of this host's interfaces (what kube-proxy's GetNodeIPs matches the CIDRs against). */
export function localIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === "IPv4") out.push(a.address);
  return out;
}

/** Whether NodePorts answer on 127.0.0.1 (iptables mode: every local address, or a loopback one chosen). */
export const servesLocalhostNodePorts = (nodePortIPs: string[] | undefined): boolean => nodePortIPs === undefined || nodePortIPs.some(isIPv4Loopback);
