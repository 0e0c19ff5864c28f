// UDP conntrack cleanup, as kube-proxy's CleanStaleEntries (v1.32 pkg/proxy/conntrack/cleanup.go):
// a UDP "connection" has no end, so a flow DNATed to an endpoint that no longer serves would
// keep going there. After each sync the table itself is listed and every UDP flow to a
// service frontend (IP:port or NodePort) whose reply comes from an address that is not a
// serving endpoint of that service is deleted. Reconciling against the table, not against
// the previous sync, also catches endpoints removed while the agent was down; and
// terminating endpoints that still serve keep their flows, as they keep TCP connections.
import { commandRunner, failure, type CommandOptions, type RunCommand } from "./command";
import type { IPFamily, ProxyState } from "./state";

/** The parts of a conntrack entry the cleanup reads. */
export interface UDPFlow {
  /** Original direction: where the client sent it (a service IP or a node address). */
  origDst: string;
  origDstPort: number;
  /** Reply direction: who answers (the endpoint, after DNAT). */
  replySrc: string;
}

/** One `conntrack -D` selection: flows to origDst:origDstPort (any address when origDst is absent) answered by replySrc. */
export interface UDPFlowFilter {
  origDst?: string;
  origDstPort: number;
  replySrc: string;
}

/** Serving endpoint addresses of each UDP frontend, as kube-proxy builds them before it lists the table. */
export interface UDPFrontends {
  /** "ip:port" of ClusterIPs, external IPs and load-balancer IPs. */
  byServiceIP: Map<string, Set<string>>;
  byNodePort: Map<number, Set<string>>;
}

/**
 * The serving endpoints of every UDP service port. Traffic policies, topology and the
 * terminating state do not count (changing them must not cut existing flows, as for TCP);
 * a service port without serving endpoints is left alone.
 */
export function udpFrontends(state: ProxyState): UDPFrontends {
  const byServiceIP = new Map<string, Set<string>>();
  const byNodePort = new Map<number, Set<string>>();
  for (const svc of state.services) {
    if (svc.protocol !== "UDP") continue;
    const serving = new Set(svc.endpoints.filter((ep) => ep.serving).map((ep) => ep.ip));
    if (serving.size === 0) continue;
    for (const ip of [...svc.clusterIPs, ...svc.loadBalancerIPs, ...svc.externalIPs]) byServiceIP.set(`${ip}:${svc.port}`, serving);
    if (svc.nodePort) byNodePort.set(svc.nodePort, serving);
  }
  return { byServiceIP, byNodePort };
}

const filterKey = (f: UDPFlowFilter): string => `${f.origDst ?? "*"}:${f.origDstPort}>${f.replySrc}`;

/** The deletions that leave only flows answered by serving endpoints; one filter per distinct selection. */
export function staleUDPFlowFilters(frontends: UDPFrontends, flows: Iterable<UDPFlow>): UDPFlowFilter[] {
  const filters = new Map<string, UDPFlowFilter>();
  const add = (f: UDPFlowFilter) => filters.set(filterKey(f), f);
  for (const flow of flows) {
    const viaIP = frontends.byServiceIP.get(`${flow.origDst}:${flow.origDstPort}`);
    if (viaIP && !viaIP.has(flow.replySrc)) add({ origDst: flow.origDst, origDstPort: flow.origDstPort, replySrc: flow.replySrc });
    const viaNodePort = frontends.byNodePort.get(flow.origDstPort);
    if (viaNodePort && !viaNodePort.has(flow.replySrc)) add({ origDstPort: flow.origDstPort, replySrc: flow.replySrc });
  }
  return [...filters.values()];
}

/**
 * Flows in `conntrack -L` text: "udp 17 29 src=A dst=B sport=1 dport=2 [UNREPLIED] src=C dst=D
 * sport=3 dport=4 ...": the first src/dst/dport are the original direction, the second src the reply's.
 */
export function parseConntrackList(text: string): UDPFlow[] {
  const flows: UDPFlow[] = [];
  for (const line of text.split("\n")) {
    const srcs = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1]!);
    const dsts = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1]!);
    const dport = /\bdport=(\d+)/.exec(line);
    if (srcs.length < 2 || dsts.length < 1 || !dport) continue;
    flows.push({ origDst: dsts[0]!, origDstPort: Number(dport[1]), replySrc: srcs[1]! });
  }
  return flows;
}

/** conntrack's summary on stderr; it exits 1 when no entry matched, which is success for a cleanup. */
const DELETED = /(\d+) flow entries have been deleted/;

export interface ConntrackCleanup {
  ok: boolean;
  /** `conntrack -D` runs that succeeded (one per stale frontend and answering address). */
  filters: number;
  /** Entries they deleted. */
  entries: number;
  error?: string;
}

/** The conntrack table of this node (or of `opts.netns`) for one IP family (default IPv4), through the conntrack tool. */
export class ConntrackTable {
  private readonly run: RunCommand;
  /** conntrack's -f: ipv4 or ipv6. */
  private readonly family: "ipv4" | "ipv6";
  constructor(opts: CommandOptions & { family?: IPFamily } = {}) {
    this.run = commandRunner(opts);
    this.family = opts.family === "IPv6" ? "ipv6" : "ipv4";
  }

  /** Deletes the UDP flows of `state`'s UDP service frontends that no serving endpoint answers. */
  async cleanStaleUDP(state: ProxyState): Promise<ConntrackCleanup> {
    const frontends = udpFrontends(state);
    // Nothing to reconcile: listing the table would be wasted.
    if (frontends.byServiceIP.size === 0 && frontends.byNodePort.size === 0) return { ok: true, filters: 0, entries: 0 };
    const listArgv = ["conntrack", "-L", "-f", this.family, "-p", "udp"];
    const listed = await this.run(listArgv);
    if (listed.code !== 0) return { ok: false, filters: 0, entries: 0, error: failure(listArgv.join(" "), listed).error };
    let filters = 0;
    let entries = 0;
    const errors: string[] = [];
    for (const f of staleUDPFlowFilters(frontends, parseConntrackList(listed.stdout))) {
      const argv = [
        "conntrack",
        "-D",
        "-f",
        this.family,
        "-p",
        "udp",
        ...(f.origDst ? ["--orig-dst", f.origDst] : []),
        "--orig-port-dst",
        String(f.origDstPort),
        "--reply-src",
        f.replySrc,
      ];
      const r = await this.run(argv);
      const summary = DELETED.exec(r.stderr);
      if (r.code === 0 || summary?.[1] === "0") {
        filters++;
        entries += Number(summary?.[1] ?? 0);
      } else errors.push(failure(argv.join(" "), r).error);
    }
    return errors.length ? { ok: false, filters, entries, error: errors.join("; ") } : { ok: true, filters, entries };
  }
}
