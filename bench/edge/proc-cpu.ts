// CPU time (and resident memory) of processes, read from /proc, so that a line can say where its time went:
// the proxy under test (a whole process group: wrangler, its workerd processes) and
// each pod (the edge part), or the server side against the client (the registry part).
// Linux only; elsewhere every reading is undefined and the lines carry no CPU.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** /proc/net/tcp state code of a listening socket. */
const TCP_LISTEN = "0A";

interface ProcStat {
  comm: string;
  pgrp: number;
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after the last ")".
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
    return {
      comm: text.slice(text.indexOf("(") + 1, close),
      pgrp: Number(fields[2]),
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

const allPids = (): number[] =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** User + system CPU seconds one process has used so far. */
export function processCpuSeconds(pid: number): number | undefined {
  return readStat(pid)?.cpuSeconds;
}

/** User + system CPU seconds of every live process in a process group. */
export function groupCpuSeconds(pgrp: number): number | undefined {
  let total = 0;
  let found = false;
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat?.pgrp !== pgrp) continue;
    found = true;
    total += stat.cpuSeconds;
  }
  return found ? total : undefined;
}

/** CPU seconds used so far by each command name in a process group (processes alive now). */
export function groupCpuByCommand(pgrp: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat?.pgrp === pgrp) out.set(stat.comm, (out.get(stat.comm) ?? 0) + stat.cpuSeconds);
  }
  return out;
}

/** This process's user + system CPU seconds so far. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Resident memory of a process, in MiB. */
export function processRssMb(pid: number): number | undefined {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

export function processGroupOf(pid: number): number | undefined {
  return readStat(pid)?.pgrp;
}

/** Live processes of a group, with their command names. */
export function groupProcesses(pgrp: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat?.pgrp === pgrp) out.push({ pid, comm: stat.comm });
  }
  return out;
}

/** The process listening on a loopback TCP port (IPv4), found through its socket inode. */
export function listenerPid(port: number): number | undefined {
  let inode: string | undefined;
  try {
    const portHex = port.toString(16).toUpperCase().padStart(4, "0");
    for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${portHex}`) && f[3] === TCP_LISTEN) inode = f[9];
    }
  } catch {
    return undefined;
  }
  if (!inode) return undefined;
  const socket = `socket:[${inode}]`;
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === socket) return pid;
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return undefined;
}
