// Where an iptables full sync's time goes: the same restore text (the proxier's render of
// the synthetic cluster) applied three ways, each into a fresh namespace: as the agent does
// (`iptables-restore --noflush`, which keeps other chains), flushing the tables instead, and
// with the legacy (x_tables) restore when it is installed. Bounded by a timeout each.
import { buildProxyState } from "../../src/agent/proxy/state";
import { renderIptables } from "../../src/agent/proxy/iptables/render";
import { spawnCommand } from "../../src/agent/proxy/command";
import { NetnsLab } from "../../scripts/lab/netns";
import { hasBinary } from "../processes";
import { SCALE_CLUSTER_CIDRS, SCALE_NODE, SCALE_NODE_IP, syntheticCluster } from "./cluster";
import { BENCH_NETNS_PREFIX } from "./netns";

export interface RestoreCost {
  /** As the agent applies it. */
  noflushMs: number;
  /** `iptables-restore` without --noflush (would drop every other chain of the tables). */
  flushMs: number;
  /** `iptables-legacy-restore --noflush`, when installed. */
  legacyMs?: number;
  lines: number;
}

async function timedRestore(lab: NetnsLab, role: string, argv: string[], text: string, timeoutMs: number): Promise<number> {
  await lab.addNamespace(role);
  const t0 = performance.now();
  // `timeout` ends the restore if it runs past the bound (the namespace goes with the lab).
  const r = await spawnCommand(["timeout", String(timeoutMs / 1000), "ip", "netns", "exec", lab.ns(role), ...argv], text);
  if (r.code === 124) throw new Error(`${argv[0]} took over ${timeoutMs / 1000} s`);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${r.stderr.trim().split("\n")[0]}`);
  return performance.now() - t0;
}

export async function measureRestoreCost(services: number, endpointsPerService: number, timeoutMs: number): Promise<RestoreCost> {
  const state = buildProxyState({ ...syntheticCluster(services, endpointsPerService), nodeName: SCALE_NODE, nodeIPs: [SCALE_NODE_IP] });
  const text = renderIptables(state, { clusterCIDRs: SCALE_CLUSTER_CIDRS });
  const lab = NetnsLab.create(BENCH_NETNS_PREFIX);
  try {
    const noflushMs = await timedRestore(lab, "noflush", ["iptables-restore", "--noflush", "-w", "5"], text, timeoutMs);
    const flushMs = await timedRestore(lab, "flush", ["iptables-restore", "-w", "5"], text, timeoutMs);
    const legacyMs = hasBinary("iptables-legacy-restore")
      ? await timedRestore(lab, "legacy", ["iptables-legacy-restore", "--noflush", "-w", "5"], text, timeoutMs)
      : undefined;
    return { noflushMs, flushMs, ...(legacyMs === undefined ? {} : { legacyMs }), lines: text.split("\n").length - 1 };
  } finally {
    await lab.destroy();
  }
}
