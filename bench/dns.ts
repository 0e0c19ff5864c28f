// Part 4 of `npm run bench`: the agent's cluster DNS. dnsperf against the agent's DNS
// server and, in the same run, against unbound serving the same N A records from a static
// local zone: queries per second of cached cluster names (each server pinned to CPU 0,
// dnsperf to CPU 1), in interleaved pairs; p50/p99 latency at a fixed offered load (half the
// slower server's rate); and the memory of a real agent process at N × 10 with DNS off and
// on. Needs dnsperf and unbound (skipped with the reason otherwise); the memory part needs
// what the agent part needs (root, nft, wrk, ...). Every load and wait is bounded.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchOptions, BenchPart, Line, PartResult, Target } from "./types";
import { measureAgentRss, type AgentRssResult } from "./agent/agent-rss";
import { median } from "./agent/median";
import { agentBenchUnavailable } from "./agent/netns";
import { errorsOf, p50, p99, runDnsperf, type DnsperfRun } from "./dns/dnsperf";
import { benchServiceFqdn, benchServiceIP, dnsperfQueries, unboundConf } from "./dns/zone";
import { count } from "./edge/summary";
import { NODE_BIN } from "./pods";
import { hasBinary, startProcess, waitUntil, type Proc } from "./processes";
import { query } from "../test/agent/dns/client";

interface Plan {
  /** Names served (one ClusterIP Service each): in-process records, so 10,000 costs little even in --quick. */
  services: number;
  /** The agent-process memory comparison's size (created through the Worker: the slow part). */
  rssServices: number;
  endpointsPerService: number;
  durationS: number;
  pairs: number;
  latencyDurationS: number;
  rssCreateTimeoutMs: number;
  rssFirstSyncTimeoutMs: number;
}

const FULL: Plan = {
  services: 10_000,
  rssServices: 10_000,
  endpointsPerService: 10,
  durationS: 10,
  pairs: 3,
  latencyDurationS: 5,
  rssCreateTimeoutMs: 480_000,
  rssFirstSyncTimeoutMs: 120_000,
};
const QUICK: Plan = {
  services: 10_000,
  rssServices: 1_000,
  endpointsPerService: 10,
  durationS: 2,
  pairs: 3,
  latencyDurationS: 1,
  rssCreateTimeoutMs: 90_000,
  rssFirstSyncTimeoutMs: 30_000,
};

const ROOT = join(import.meta.dirname, "..");
/** The target: at least half of unbound's rate, on one core, with no errors. */
const QPS_GOAL = 0.5;
/** dnsperf's default outstanding queries. */
const OUTSTANDING = 100;
/** The servers share one CPU, dnsperf has the other. */
const CPU = { server: "0", dnsperf: "1" };
const PORT = { agent: 15_353, unbound: 15_354 };
const START_TIMEOUT_MS = 60_000;

const r2 = (v: number): number => Number(v.toFixed(2));
const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split("\n")[0]!;

type Server = "agent" | "unbound";

async function startServer(which: Server, plan: Plan, dir: string): Promise<Proc> {
  const port = PORT[which];
  let argv: string[];
  if (which === "agent") {
    // The agent's own Node flags (scripts/agent.mjs): 2 MB young-generation semi-spaces.
    argv = [
      NODE_BIN,
      "--max-semi-space-size=2",
      "--experimental-transform-types",
      "--disable-warning=ExperimentalWarning",
      "--import",
      "./src/agent/ts-resolve.mjs",
      "bench/dns/serve.ts",
      String(plan.services),
      String(port),
    ];
  } else {
    const conf = join(dir, "unbound.conf");
    writeFileSync(conf, unboundConf(plan.services, port));
    argv = ["unbound", "-d", "-c", conf];
  }
  const proc = startProcess(["taskset", "-c", CPU.server, ...argv], { cwd: ROOT });
  // Both must answer the same record before any load.
  const last = plan.services - 1;
  await waitUntil(
    `${which} to answer`,
    START_TIMEOUT_MS,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${which} exited: ${proc.output().slice(-300)}`);
      const r = await query({ host: "127.0.0.1", port }, benchServiceFqdn(last), "A");
      return (r.answers?.[0] as { data?: string } | undefined)?.data === benchServiceIP(last) ? true : undefined;
    },
    200,
  );
  return proc;
}

async function measureServer(which: Server, plan: Plan, dir: string, queryFile: string, latencyAtQps?: number): Promise<DnsperfRun> {
  const proc = await startServer(which, plan, dir);
  try {
    // One pass over every name first, so the agent's answer cache holds them all (cached cluster names).
    await runDnsperf({ port: PORT[which], queryFile, durationS: 1, outstanding: OUTSTANDING, cpus: CPU.dnsperf });
    return await runDnsperf({
      port: PORT[which],
      queryFile,
      durationS: latencyAtQps === undefined ? plan.durationS : plan.latencyDurationS,
      outstanding: OUTSTANDING,
      cpus: CPU.dnsperf,
      ...(latencyAtQps === undefined ? {} : { latencyAtQps }),
    });
  } finally {
    await proc.stop();
  }
}

export const part: BenchPart = {
  name: "dns",
  async run(opts: BenchOptions): Promise<PartResult> {
    const result: PartResult = { part: "dns", lines: [], ratios: [], targets: [], notes: [] };
    for (const tool of ["dnsperf", "unbound", "taskset"])
      if (!hasBinary(tool)) return { ...result, skipped: `needs ${tool}, which is not installed (apt: dnsperf, unbound, util-linux)` };
    if (cpus().length < 2) return { ...result, skipped: "needs two CPUs (the server on one, dnsperf on the other)" };
    const plan = opts.quick ? QUICK : FULL;
    const loadAtStart = loadavg()[0]!;
    const dir = mkdtempSync(join(tmpdir(), "svcedge-bench-dns-"));
    try {
      const queryFile = join(dir, "queries.txt");
      writeFileSync(queryFile, dnsperfQueries(plan.services));
      const runs: Record<Server, DnsperfRun[]> = { agent: [], unbound: [] };
      for (let i = 0; i < plan.pairs; i++) {
        // Interleaved, the order alternating, so that drift in the machine's load hits both.
        const order: Server[] = i % 2 === 0 ? ["agent", "unbound"] : ["unbound", "agent"];
        for (const s of order) {
          opts.log(`dns: ${s}, ${count(plan.services)} names, ${plan.durationS} s (pair ${i + 1} of ${plan.pairs})`);
          runs[s].push(await measureServer(s, plan, dir, queryFile));
        }
      }
      const qps = { agent: median(runs.agent.map((r) => r.qps)), unbound: median(runs.unbound.map((r) => r.qps)) };
      const offered = Math.min(qps.agent, qps.unbound) / 2;
      const latency: Partial<Record<Server, DnsperfRun>> = {};
      for (const s of ["agent", "unbound"] as Server[]) {
        opts.log(`dns: ${s} latency at ${count(Math.round(offered))} queries/s`);
        latency[s] = await measureServer(s, plan, dir, queryFile, offered);
      }
      for (const s of ["agent", "unbound"] as Server[]) result.lines.push(qpsLine(s, plan, runs[s], latency[s]!, offered));
      const ratio = qps.agent / qps.unbound;
      result.ratios.push({ name: "agent DNS ÷ unbound, queries per second", value: ratio, goal: { op: ">=", value: QPS_GOAL } });
      const agentErrors = runs.agent.reduce((n, r) => n + errorsOf(r), 0) + errorsOf(latency.agent!);
      result.targets.push({
        name: `agent DNS queries per second, ${count(plan.services)} cached cluster names, one core`,
        measured: `${ratio.toFixed(2)} × unbound (${count(Math.round(qps.agent))} against ${count(Math.round(qps.unbound))}), ${agentErrors} errors`,
        goal: `≥ ${QPS_GOAL} × unbound, no errors`,
        met: ratio >= QPS_GOAL && agentErrors === 0,
        ...(agentErrors ? { note: "errors are lost queries or rcodes other than NOERROR, counted by dnsperf" } : {}),
      });

      const unavailable = agentBenchUnavailable();
      if (unavailable) result.notes.push(`agent memory with DNS on and off not measured: ${unavailable}`);
      else {
        const rss: Partial<Record<"off" | "on", AgentRssResult | string>> = {};
        for (const mode of ["off", "on"] as const) {
          opts.log(`dns: agent process memory, DNS ${mode}, ${count(plan.rssServices)} × ${plan.endpointsPerService}`);
          rss[mode] = await measureAgentRss({
            services: plan.rssServices,
            endpointsPerService: plan.endpointsPerService,
            createTimeoutMs: plan.rssCreateTimeoutMs,
            firstSyncTimeoutMs: plan.rssFirstSyncTimeoutMs,
            // Upstream: the root side of the veth, where nothing answers (the loop probe times out).
            ...(mode === "on" ? { agentArgs: ["--dns-addr", "{agentIP}:53", "--dns-upstream", "198.18.200.1:53"] } : {}),
            log: opts.log,
          }).catch(firstLine);
        }
        memoryFigures(result, plan, rss.off!, rss.on!);
      }
      result.notes.push(
        `names: svc-<i>.default.svc.cluster.local A, ${count(plan.services)} of them, every run going through the whole list in order; the agent's server is bench/dns/serve.ts (the agent's ClusterRecords, QueryHandler and DnsServer, fed as the informers would, under the agent's Node flags), ${unboundVersion()} a static local-zone with the same records, num-threads 1; each started fresh per run and warmed with one second of the same load; dnsperf ${OUTSTANDING} queries outstanding, UDP, no EDNS`,
        `machine load (1-minute average, ${cpus().length} cores): ${loadAtStart.toFixed(1)} when the part started, ${loadavg()[0]!.toFixed(1)} when it ended; a profile of the agent's server under dnsperf at 10,000 names (73,000 queries/s) spent 29% of its time in the sendmsg of each reply, 3% in the query handler and 39% idle`,
        `both servers are pinned to CPU ${CPU.server} and dnsperf to CPU ${CPU.dnsperf} (taskset); when both reach about the same rate, that rate may be dnsperf's own ceiling on its core: the figure then shows that the agent keeps up with it, not how far unbound could go beyond`,
      );
      return result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function qpsLine(s: Server, plan: Plan, runs: DnsperfRun[], latency: DnsperfRun, offered: number): Line {
  const errors = runs.reduce((n, r) => n + errorsOf(r), 0);
  return {
    name: `${s === "agent" ? "agent DNS" : "unbound"}, ${count(plan.services)} names`,
    metrics: { qps: Math.round(median(runs.map((r) => r.qps))), p50_ms: r2(p50(latency)), p99_ms: r2(p99(latency)) },
    detail: `median of ${runs.length} runs of ${plan.durationS} s (${runs.map((r) => count(Math.round(r.qps))).join(", ")}); ${errors} lost or non-NOERROR in them; p50/p99 of ${count(latency.latenciesMs.length)} queries at ${count(Math.round(offered))} queries/s offered (${errorsOf(latency)} errors)`,
  };
}

function memoryFigures(result: PartResult, plan: Plan, off: AgentRssResult | string, on: AgentRssResult | string): void {
  const size = `${count(plan.rssServices)} × ${plan.endpointsPerService}`;
  for (const [mode, r] of [
    ["off", off],
    ["on", on],
  ] as const) {
    if (typeof r === "string") result.notes.push(`agent memory with DNS ${mode} not measured: ${r}`);
    else
      result.lines.push({
        name: `agent process, DNS ${mode}, ${size}`,
        metrics: { peak_rss_mb: r2(r.later.vmHwmMb), rss_mb: r2(r.later.vmRssMb) },
        detail: `/proc VmHWM and VmRSS 5 s after the first full sync (nftables backend); objects created through the admin API in ${r2(r.createS)} s`,
      });
  }
  if (typeof off === "string" || typeof on === "string") return;
  const extra = on.later.vmRssMb - off.later.vmRssMb;
  result.ratios.push({ name: "agent RSS, DNS on ÷ off", value: on.later.vmRssMb / off.later.vmRssMb });
  const target: Target = {
    name: `agent memory, DNS on against off, ${size}`,
    measured: `RSS ${r2(on.later.vmRssMb)} MB against ${r2(off.later.vmRssMb)} MB (${extra >= 0 ? "+" : ""}${r2(extra)} MB); peak ${r2(on.later.vmHwmMb)} against ${r2(off.later.vmHwmMb)} MB`,
    goal: "reported",
    met: true,
  };
  result.targets.push(target);
}

function unboundVersion(): string {
  try {
    return /Version (\S+)/.exec(execFileSync("unbound", ["-V"], { encoding: "utf8" }))?.[0]?.replace("Version", "unbound") ?? "unbound";
  } catch {
    return "unbound";
  }
}
