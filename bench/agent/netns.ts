// What the agent benchmarks need from the machine, and the names of their namespaces.
import { hasBinary } from "../processes";

/** Every namespace the agent benchmarks create starts with this (the tests' start with svcedge-lab-). */
export const BENCH_NETNS_PREFIX = "svcedge-bench-";

/** Why the agent benchmarks cannot run here, or undefined when they can. */
export function agentBenchUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, nft, iptables)";
  for (const tool of ["ip", "nft", "iptables", "iptables-save", "iptables-restore", "wrk", "setpriv"]) {
    if (!hasBinary(tool)) return `needs ${tool}, which is not installed`;
  }
  return undefined;
}
