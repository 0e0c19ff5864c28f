// The proxier behind each --backend, what --dry-run prints for it, and what --cleanup
// removes. Kernel backends share nothing, so cleanup removes both whatever was chosen
// (a node that switched backends must not keep the old one's rules).
import type { Backend } from "./cli-options";
import type { Result } from "./proxy/command";
import { IptablesProxier, cleanupIptables } from "./proxy/iptables/apply";
import { renderIptables } from "./proxy/iptables/render";
import { NftablesProxier, cleanupNftables } from "./proxy/nftables/apply";
import { renderNftables } from "./proxy/nftables/render";
import type { Proxier } from "./proxy/proxier";
import type { ProxyState } from "./proxy/state";
import { ANY_IPV4_ADDRESS, UserspaceProxier, unsupported, usableEndpoints } from "./proxy/userspace";
import { localIPv4Addresses, resolveNodePortAddresses } from "./proxy/nodeport-addresses";

export interface BackendOptions {
  clusterCIDRs: string[];
  /** nftables only, as upstream: traffic to an unallocated ClusterIP in these ranges is dropped. */
  serviceCIDRs?: string[];
  masqueradeAll?: boolean;
  nodeIPs: string[];
  /** --nodeport-addresses as parsed (defaults applied); resolved against this host's interfaces. */
  nodePortAddresses: string[];
  log?: (message: string) => void;
}

type NodePortAddressOptions = Pick<BackendOptions, "nodeIPs" | "nodePortAddresses">;

/** The addresses NodePorts answer on (resolved --nodeport-addresses); undefined: every local address. */
const nodePortIPs = (opts: NodePortAddressOptions): string[] | undefined =>
  resolveNodePortAddresses(opts.nodePortAddresses, { nodeIPs: opts.nodeIPs, localAddresses: localIPv4Addresses() });

/**
 * Where a server for NodePort traffic listens: each resolved --nodeport-addresses address, or
 * 0.0.0.0 for every local address (the userspace NodePorts, and the healthCheckNodePort
 * servers as kube-proxy's newServiceHealthServer).
 */
export const nodePortListenAddresses = (opts: NodePortAddressOptions): string[] => nodePortIPs(opts) ?? [ANY_IPV4_ADDRESS];

/** What the kernel backends' rule generators take from the options. */
function ruleOptions(opts: BackendOptions): { clusterCIDRs?: string[]; masqueradeAll?: boolean; nodePortIPs?: string[] } {
  const out: { clusterCIDRs?: string[]; masqueradeAll?: boolean; nodePortIPs?: string[] } = {};
  if (opts.clusterCIDRs.length) out.clusterCIDRs = opts.clusterCIDRs;
  if (opts.masqueradeAll) out.masqueradeAll = true;
  const ips = nodePortIPs(opts);
  if (ips) out.nodePortIPs = ips;
  return out;
}
const nftOptions = (opts: BackendOptions) => (opts.serviceCIDRs?.length ? { ...ruleOptions(opts), serviceCIDRs: opts.serviceCIDRs } : ruleOptions(opts));

export function createProxier(backend: Backend, opts: BackendOptions): Proxier {
  switch (backend) {
    case "nftables":
      return new NftablesProxier({ ...nftOptions(opts), ...(opts.log ? { log: opts.log } : {}) });
    case "iptables":
      return new IptablesProxier(ruleOptions(opts));
    case "userspace": {
      const ips = nodePortIPs(opts);
      return new UserspaceProxier({ ...(ips ? { nodePortIPs: ips } : {}), ...(opts.log ? { log: opts.log } : {}) });
    }
  }
}

/** The text the backend would apply for `state`: the nft script, the iptables-restore input, or the userspace listeners. */
export function renderDryRun(backend: Backend, state: ProxyState, opts: BackendOptions): string {
  switch (backend) {
    case "nftables":
      return renderNftables(state, nftOptions(opts));
    case "iptables":
      return renderIptables(state, ruleOptions(opts));
    case "userspace": {
      const listenIPs = nodePortListenAddresses(opts);
      const lines: string[] = [];
      for (const svc of state.services) {
        const why = unsupported(svc);
        if (why) {
          lines.push(`# ${svc.name} (${svc.protocol}) not served: ${why}`);
          continue;
        }
        const to = (eps: { ip: string; port: number }[]) => eps.map((e) => `${e.ip}:${e.port}`).join(" ");
        const internal = usableEndpoints(svc, "internal");
        const external = usableEndpoints(svc, "external");
        if (internal.length) for (const ip of svc.clusterIPs) lines.push(`listen ${ip}:${svc.port} ${svc.name} -> ${to(internal)}`);
        if (external.length && svc.nodePort) for (const ip of listenIPs) lines.push(`listen ${ip}:${svc.nodePort} ${svc.name} -> ${to(external)}`);
      }
      return lines.join("\n") + (lines.length ? "\n" : "");
    }
  }
}

/** A tool that is not installed owns nothing on this node. */
const NOT_INSTALLED = /exit 127\b/;

/** Removes every table and chain any kernel backend owns. */
export async function cleanupAll(): Promise<Result> {
  const errors: string[] = [];
  for (const r of [await cleanupNftables(), await cleanupIptables()]) if (!r.ok && !NOT_INSTALLED.test(r.error)) errors.push(r.error);
  return errors.length ? { ok: false, error: errors.join("; ") } : { ok: true };
}
