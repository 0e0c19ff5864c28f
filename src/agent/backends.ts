// The proxier behind each --backend, what --dry-run prints for it, and what --cleanup
// removes. Kernel backends share nothing, so cleanup removes both whatever was chosen
// (a node that switched backends must not keep the old one's rules). A proxier serves one
// IP family, as each of kube-proxy's: a dual-stack node runs one per family.
import type { Backend } from "./cli-options";
import type { Outcome } from "./proxy/command";
import { IptablesProxier, cleanupIptables } from "./proxy/iptables/apply";
import { renderIptables } from "./proxy/iptables/render";
import { NftablesProxier, cleanupNftables } from "./proxy/nftables/apply";
import { renderNftables } from "./proxy/nftables/render";
import type { Proxier } from "./proxy/proxier";
import { isOfFamily, type IPFamily, type ProxyState } from "./proxy/state";
import { anyAddress, UserspaceProxier, unsupported, usableEndpoints } from "./proxy/userspace";
import { localAddresses, resolveNodePortAddresses } from "./proxy/nodeport-addresses";

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

/**
 * The IP families a node serves: those of its node IPs (kube-proxy runs the other family's
 * proxier only when the node has an address of it), IPv4 first. IPv4 alone when it has none.
 */
export function nodeFamilies(nodeIPs: string[]): IPFamily[] {
  const families = (["IPv4", "IPv6"] as const).filter((f) => nodeIPs.some((ip) => isOfFamily(ip, f)));
  return families.length ? families : ["IPv4"];
}

/** The addresses of `family` NodePorts answer on (resolved --nodeport-addresses); undefined: every local address. */
const nodePortIPs = (opts: NodePortAddressOptions, family: IPFamily): string[] | undefined =>
  resolveNodePortAddresses(opts.nodePortAddresses, { nodeIPs: opts.nodeIPs, localAddresses: localAddresses() }, family);

/**
 * Where a server for NodePort traffic of `family` listens: each resolved --nodeport-addresses
 * address, or 0.0.0.0 (::) for every local address (the userspace NodePorts, and the
 * healthCheckNodePort servers as kube-proxy's newServiceHealthServer).
 */
export const nodePortListenAddresses = (opts: NodePortAddressOptions, family: IPFamily = "IPv4"): string[] => nodePortIPs(opts, family) ?? [anyAddress(family)];

/** The ranges of one family in a list. */
const ofFamily = (cidrs: string[], family: IPFamily): string[] => cidrs.filter((c) => isOfFamily(c.slice(0, c.indexOf("/")), family));

interface RuleOptions {
  family?: IPFamily;
  clusterCIDRs?: string[];
  masqueradeAll?: boolean;
  nodePortIPs?: string[];
}

/** What the kernel backends' rule generators take from the options: `family`'s share of them. */
function ruleOptions(opts: BackendOptions, family: IPFamily): RuleOptions {
  // IPv4's options carry no family: the IPv4 rules are what they were before IPv6 was served.
  const out: RuleOptions = family === "IPv4" ? {} : { family };
  const clusterCIDRs = ofFamily(opts.clusterCIDRs, family);
  if (clusterCIDRs.length) out.clusterCIDRs = clusterCIDRs;
  if (opts.masqueradeAll) out.masqueradeAll = true;
  const ips = nodePortIPs(opts, family);
  if (ips) out.nodePortIPs = ips;
  return out;
}
const nftOptions = (opts: BackendOptions, family: IPFamily) => {
  const serviceCIDRs = ofFamily(opts.serviceCIDRs ?? [], family);
  return serviceCIDRs.length ? { ...ruleOptions(opts, family), serviceCIDRs } : ruleOptions(opts, family);
};

/** The proxier of `backend` for one IP family (default IPv4). */
export function createProxier(backend: Backend, opts: BackendOptions, family: IPFamily = "IPv4"): Proxier {
  switch (backend) {
    case "nftables":
      return new NftablesProxier({ ...nftOptions(opts, family), ...(opts.log ? { log: opts.log } : {}) });
    case "iptables":
      return new IptablesProxier(ruleOptions(opts, family));
    case "userspace": {
      const ips = nodePortIPs(opts, family);
      return new UserspaceProxier({ ...(family === "IPv6" ? { family } : {}), ...(ips ? { nodePortIPs: ips } : {}), ...(opts.log ? { log: opts.log } : {}) });
    }
  }
}

/**
 * The text the backend would apply for `state` (of `family`, default IPv4): the nft script,
 * the iptables-restore input, or the userspace listeners.
 */
export function renderDryRun(backend: Backend, state: ProxyState, opts: BackendOptions, family: IPFamily = "IPv4"): string {
  switch (backend) {
    case "nftables":
      return renderNftables(state, nftOptions(opts, family));
    case "iptables":
      return renderIptables(state, ruleOptions(opts, family));
    case "userspace": {
      const listenIPs = nodePortListenAddresses(opts, family);
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

/** Removes every table and chain any kernel backend owns, in both IP families. */
export async function cleanupAll(): Promise<Outcome> {
  const errors: string[] = [];
  for (const r of [await cleanupNftables(), await cleanupIptables(), await cleanupIptables({ family: "IPv6" })])
    if (!r.ok && !NOT_INSTALLED.test(r.error)) errors.push(r.error);
  return errors.length ? { ok: false, error: errors.join("; ") } : { ok: true };
}
