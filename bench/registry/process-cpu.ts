// CPU time of processes, from /proc (Linux): to tell whether the client or the server side
// (wrangler's workerd processes, which run the Worker, the Durable Object and local KV) was
// the busy one during a phase.
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  pid: number;
  comm: string;
  pgrp: number;
  cpuS: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    // Fields after the command name (which may hold spaces) start after its closing ')'.
    const f = stat.slice(close + 2).split(" ");
    return { pid, comm: stat.slice(stat.indexOf("(") + 1, close), pgrp: Number(f[2]), cpuS: (Number(f[11]) + Number(f[12])) / clockTicks() };
  } catch {
    return undefined;
  }
}

const pids = (): number[] => readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number);

/** The process group of the first process whose command line contains `needle`. */
export function processGroupOf(needle: string): number | undefined {
  for (const pid of pids()) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").includes(needle)) continue;
    } catch {
      continue;
    }
    return readStat(pid)?.pgrp;
  }
  return undefined;
}

/** CPU seconds used so far by each command name in a process group (processes alive now). */
export function groupCpu(pgrp: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids()) {
    const s = readStat(pid);
    if (s && s.pgrp === pgrp) out.set(s.comm, (out.get(s.comm) ?? 0) + s.cpuS);
  }
  return out;
}

/** This process's CPU seconds so far. */
export const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
