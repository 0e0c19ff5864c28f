// What the agent benchmarks need from the machine, and the names of their namespaces.
import { execFileSync } from "node:child_process";
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

/**
 * Deletes the namespaces a benchmark child process created (NetnsLab names them
 * `<prefix><pid>-...`), for a child that was killed before its own exit hook could.
 * Synchronous, so it also works from an exit hook.
 */
export function deleteNamespacesOf(pid: number): void {
  let list = "";
  try {
    list = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  } catch {
    return;
  }
  for (const line of list.split("\n")) {
    const ns = line.split(" ")[0] ?? "";
    if (!ns.startsWith(`${BENCH_NETNS_PREFIX}${pid}-`)) continue;
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // Gone meanwhile.
    }
  }
}
