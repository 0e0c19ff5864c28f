// Conntrack cleanup for UDP, as kube-proxy does: a UDP "connection" has no end, so after
// an endpoint goes away its conntrack entry would keep sending packets to a dead address.
import { commandRunner, failure, type CommandOptions, type Result } from "./command";
import { endpointKey } from "./categorize";
import type { ProxyState } from "./state";

export interface StaleUDPEndpoint {
  endpointIP: string;
  /** ClusterIPs, externalIPs and load-balancer IPs the endpoint was reached through. */
  serviceIPs: string[];
  nodePorts: number[];
}

/** UDP endpoints that `prev` could forward to and `next` no longer does. */
export function staleUDPEndpoints(prev: ProxyState, next: ProxyState): StaleUDPEndpoint[] {
  const nextByService = new Map(next.services.map((s) => [`${s.name}/${s.protocol}`, new Set(s.allReachableEndpoints.map(endpointKey))]));
  const stale: StaleUDPEndpoint[] = [];
  for (const svc of prev.services) {
    if (svc.protocol !== "UDP") continue;
    const still = nextByService.get(`${svc.name}/${svc.protocol}`);
    for (const ep of svc.allReachableEndpoints) {
      if (still?.has(endpointKey(ep))) continue;
      stale.push({
        endpointIP: ep.ip,
        serviceIPs: [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs],
        nodePorts: svc.nodePort ? [svc.nodePort] : [],
      });
    }
  }
  return stale;
}

/** conntrack exits 1 when no entry matched; that is success for a cleanup. */
const NOTHING_DELETED = /0 flow entries have been deleted/;

/** Deletes UDP conntrack entries DNATed to `endpointIP` through the given service IPs and NodePorts. */
export async function flushConntrackUDP(endpointIP: string, via: { serviceIPs?: string[]; nodePorts?: number[] }, opts: CommandOptions = {}): Promise<Result> {
  const run = commandRunner(opts);
  const commands = [
    ...(via.serviceIPs ?? []).map((ip) => ["conntrack", "-D", "-p", "udp", "--orig-dst", ip, "--dst-nat", endpointIP]),
    ...(via.nodePorts ?? []).map((port) => ["conntrack", "-D", "-p", "udp", "--dport", String(port), "--dst-nat", endpointIP]),
  ];
  for (const argv of commands) {
    const r = await run(argv);
    if (r.code !== 0 && !NOTHING_DELETED.test(r.stderr)) return failure(argv.join(" "), r);
  }
  return { ok: true };
}
