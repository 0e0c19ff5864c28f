// Part 3 of `npm run bench`: the node agent. Rule generation and full syncs at 100, 1,000
// and 10,000 Services x 10 endpoints with nftables and iptables, one endpoint change, each
// size and backend in a process and network namespace of its own (bench/agent/scale.ts); the
// peak RSS of a real agent process (bench/agent/agent-rss.ts); and the DNAT data path,
// client -> ClusterIP -> pod against client -> pod, in a lab of namespaces (bench/agent/dnat.ts).
// Needs root, nft, iptables and wrk; every load and wait is bounded.
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import type { BenchOptions, BenchPart, Line, PartResult, Target } from "./types";
import { agentBenchUnavailable } from "./agent/netns";
import type { KernelBackend, ScaleOptions, ScaleResult } from "./agent/scale";
import { runScaleChild, type ScaleRun } from "./agent/scale-runner";
import { measureAgentRss, SETTLE_MS, type AgentRssResult } from "./agent/agent-rss";
import { measureDnat, type DnatResult, type PathFigures } from "./agent/dnat";
import { measureRestoreCost, type RestoreCost } from "./agent/restore-cost";

interface Plan {
  sizes: number[];
  endpointsPerService: number;
  changes: number;
  /** Per backend: the bound on one sync, and on the timed changes together. */
  syncTimeoutMs: Record<KernelBackend, number>;
  changeBudgetMs: Record<KernelBackend, number>;
  rssServices: number;
  rssCreateTimeoutMs: number;
  rssFirstSyncTimeoutMs: number;
  dnat: { connections: number; durationS: number; pairs: number };
  /** The size at which iptables-restore's own cost is measured three ways; 0 for none. */
  restoreCostServices: number;
}

const FULL: Plan = {
  sizes: [100, 1_000, 10_000],
  endpointsPerService: 10,
  changes: 21,
  syncTimeoutMs: { nftables: 60_000, iptables: 90_000 },
  changeBudgetMs: { nftables: 30_000, iptables: 30_000 },
  rssServices: 10_000,
  rssCreateTimeoutMs: 480_000,
  rssFirstSyncTimeoutMs: 120_000,
  dnat: { connections: 32, durationS: 2, pairs: 15 },
  restoreCostServices: 1_000,
};

const QUICK: Plan = {
  ...FULL,
  sizes: [100],
  changeBudgetMs: { nftables: 10_000, iptables: 10_000 },
  rssServices: 1_000,
  rssCreateTimeoutMs: 90_000,
  rssFirstSyncTimeoutMs: 30_000,
  dnat: { connections: 32, durationS: 1, pairs: 2 },
  restoreCostServices: 0,
};

const BACKENDS: KernelBackend[] = ["nftables", "iptables"];
const FULL_SYNC_GOAL_MS = 1_000;
const CHANGE_GOAL_MS = 50;
const DNAT_GOAL = 0.9;
/** From the agent's issue. */
const RSS_GOAL_MB = 200;
/** A scale child's own bound, beyond its syncs' (start-up, state, render). */
const CHILD_MARGIN_MS = 60_000;

const count = (n: number): string => n.toLocaleString("en-US");
const r1 = (v: number): number => Number(v.toFixed(1));
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

export const part: BenchPart = {
  name: "agent",
  async run(opts: BenchOptions): Promise<PartResult> {
    const result: PartResult = { part: "agent", lines: [], ratios: [], targets: [], notes: [] };
    const unavailable = agentBenchUnavailable();
    if (unavailable) return { ...result, skipped: unavailable };
    const plan = opts.quick ? QUICK : FULL;
    const loadAtStart = loadavg()[0]!;

    const scale = await scaleRuns(plan, opts);
    for (const run of scale) result.lines.push(scaleLine(run));
    scaleRatios(result, scale);

    let restore: RestoreCost | string | undefined;
    if (plan.restoreCostServices > 0) {
      opts.log(`agent: iptables-restore cost at ${count(plan.restoreCostServices)} × ${plan.endpointsPerService}`);
      restore = await measureRestoreCost(plan.restoreCostServices, plan.endpointsPerService, plan.syncTimeoutMs.iptables).catch(errorText);
      if (typeof restore !== "string") result.lines.push(restoreLine(plan, restore));
    }

    opts.log(`agent: peak RSS of an agent process at ${count(plan.rssServices)} × ${plan.endpointsPerService}`);
    const rss = await measureAgentRss({
      services: plan.rssServices,
      endpointsPerService: plan.endpointsPerService,
      createTimeoutMs: plan.rssCreateTimeoutMs,
      firstSyncTimeoutMs: plan.rssFirstSyncTimeoutMs,
      log: opts.log,
    }).catch(errorText);
    if (typeof rss !== "string") result.lines.push(rssLine(rss));

    opts.log(`agent: DNAT data path (${plan.dnat.pairs} pairs of ${plan.dnat.durationS} s loads per backend)`);
    const dnat = await measureDnat({ backends: BACKENDS, ...plan.dnat, log: opts.log }).catch(errorText);
    if (typeof dnat !== "string") {
      for (const d of dnat) {
        result.lines.push(dnatLine(d, "direct", plan), dnatLine(d, "clusterIP", plan));
        result.ratios.push(
          { name: `DNAT ÷ direct throughput, ${d.backend}`, value: d.rpsRatio.median, goal: { op: ">=", value: DNAT_GOAL } },
          { name: `DNAT ÷ direct p99, ${d.backend}`, value: d.p99Ratio.median },
        );
      }
    }

    result.targets.push(...scaleTargets(scale), rssTarget(plan, rss), ...dnatTargets(dnat));
    result.notes.push(...notes(plan, scale, restore, rss, dnat));
    result.notes.push(
      `machine load (1-minute average, ${cpus().length} cores): ${loadAtStart.toFixed(1)} when the part started, ${loadavg()[0]!.toFixed(1)} when it ended`,
    );
    return result;
  },
};

async function scaleRuns(plan: Plan, opts: BenchOptions): Promise<ScaleRun[]> {
  const runs: ScaleRun[] = [];
  for (const backend of BACKENDS) {
    for (const services of plan.sizes) {
      opts.log(`agent: ${backend} at ${count(services)} × ${plan.endpointsPerService}`);
      const scaleOpts: ScaleOptions = {
        backend,
        services,
        endpointsPerService: plan.endpointsPerService,
        changes: plan.changes,
        changeBudgetMs: plan.changeBudgetMs[backend],
        syncTimeoutMs: plan.syncTimeoutMs[backend],
      };
      // Two full syncs, the changes' budget and the change that may run past it.
      const bound = 3 * plan.syncTimeoutMs[backend] + plan.changeBudgetMs[backend] + CHILD_MARGIN_MS;
      const run = await runScaleChild(scaleOpts, bound);
      runs.push({ ...run, figures: { backend, services, endpointsPerService: plan.endpointsPerService, ...run.figures } });
      if (run.error) opts.log(`agent: ${backend} at ${count(services)}: ${run.error}`);
    }
  }
  return runs;
}

function scaleLine({ figures: f, error }: ScaleRun): Line {
  const metrics: Record<string, number> = {};
  const put = (name: string, v: number | undefined) => v !== undefined && (metrics[name] = r1(v));
  put("render_ms", f.renderMs);
  put("full_sync_ms", f.firstSyncMs);
  put("resync_ms", f.repeatSyncMs);
  put("full_sync_cpu_ms", f.firstSyncCpuMs);
  put("resync_cpu_ms", f.repeatSyncCpuMs);
  put("nft_full_sync_ms", f.nftSyncMs);
  put("nft_full_sync_cpu_ms", f.nftSyncCpuMs);
  put("change_p50_ms", f.changeMedianMs);
  put("change_max_ms", f.changeWorstMs);
  const facts = [
    f.rulesetBytes !== undefined && `ruleset ${(f.rulesetBytes / 2 ** 20).toFixed(1)} MB of ${f.backend === "nftables" ? "nft" : "iptables-restore"} text`,
    f.buildMs !== undefined && `state from scratch ${r1(f.buildMs)} ms`,
    f.fullSyncPath !== undefined && `full syncs applied by ${f.fullSyncPath === "netlink" ? "the agent's netlink batch" : f.fullSyncPath}`,
    f.nftSyncMs !== undefined && `the same full sync through nft -f (the fallback): ${r1(f.nftSyncMs)} ms, ${r1(f.nftSyncCpuMs!)} ms CPU`,
    f.changesTimed !== undefined && `${f.changesTimed} endpoint changes timed, informer event -> applied`,
    f.changeJsMs !== undefined && `one change in JS alone ${r1(f.changeJsMs)} ms`,
    f.rssMb !== undefined && `measuring process RSS ${f.rssMb.toFixed(0)} MB (heap ${f.heapUsedMb!.toFixed(0)} MB after gc)`,
    error && `stopped: ${error}`,
  ].filter(Boolean);
  return { name: `${f.backend} ${count(f.services!)} × ${f.endpointsPerService}`, metrics, detail: facts.join("; ") };
}

/** How each backend's full sync grows with the size (10 when linear). */
function scaleRatios(result: PartResult, runs: ScaleRun[]): void {
  for (const backend of BACKENDS) {
    const done = runs.filter((r) => r.figures.backend === backend && r.figures.firstSyncMs !== undefined);
    for (let i = 1; i < done.length; i++) {
      const [a, b] = [done[i - 1]!.figures, done[i]!.figures];
      result.ratios.push({
        name: `${backend} full sync ${count(b.services!)} ÷ ${count(a.services!)} (linear: ${b.services! / a.services!})`,
        value: b.firstSyncMs! / a.firstSyncMs!,
      });
    }
  }
}

function largestNft(runs: ScaleRun[]): Partial<ScaleResult> | undefined {
  return runs.filter((r) => r.figures.backend === "nftables").at(-1)?.figures;
}

function scaleTargets(runs: ScaleRun[]): Target[] {
  const f = largestNft(runs);
  const size = f ? `${count(f.services!)} × ${f.endpointsPerService}` : "";
  const full: Target =
    f?.firstSyncMs === undefined
      ? { name: "nftables full sync", measured: "not measured", goal: "≤ 1 s", met: false, note: "the scale run stopped before it (see its line)" }
      : {
          name: `nftables full sync, ${size}`,
          measured: `${count(Math.round(f.firstSyncMs))} ms (repeated ${count(Math.round(f.repeatSyncMs ?? NaN))} ms; CPU ${count(Math.round(f.firstSyncCpuMs ?? NaN))} / ${count(Math.round(f.repeatSyncCpuMs ?? NaN))} ms)`,
          goal: "≤ 1 s",
          met: Math.max(f.firstSyncMs, f.repeatSyncMs ?? 0) <= FULL_SYNC_GOAL_MS,
          note:
            f.fullSyncPath === "netlink"
              ? `one netlink batch compiled by the agent (nftables/netlink/), one atomic transaction; nft -f of the same text took ${count(Math.round(f.nftSyncMs ?? NaN))} ms here (${count(Math.round(f.nftSyncCpuMs ?? NaN))} ms CPU). What is left: the kernel's side of the batch (about half), the render (${count(Math.round(f.renderMs ?? NaN))} ms cold and standalone here) and compiling its text into the batch (docs/agent.md, "nftables layout"). On a machine shared with other loads the CPU figure is the steadier one`
              : `through nft -f (${f.fullSyncPath ?? "path not reported"}): nft 1.0.6's text parser and evaluation cost about 7 µs per element and a full sync at 10,000 × 10 holds about 150,000 (docs/agent.md, "nftables layout")`,
        };
  const change: Target =
    f?.changeMedianMs === undefined
      ? { name: "nftables one endpoint change", measured: "not measured", goal: "≤ 50 ms", met: false, note: "the scale run stopped before it (see its line)" }
      : {
          name: `nftables one endpoint change, ${size}`,
          measured: `median ${r1(f.changeMedianMs)} ms (worst ${r1(f.changeWorstMs!)} ms of ${f.changesTimed})`,
          goal: "≤ 50 ms",
          met: f.changeMedianMs <= CHANGE_GOAL_MS,
          note: "nft dumps the table's chains into its cache before any add or delete element, then evaluates and commits; our JS is the 'one change in JS alone' of its line",
        };
  return [full, change];
}

function rssTarget(plan: Plan, rss: AgentRssResult | string): Target {
  const name = `agent peak RSS (VmHWM), nftables, ${count(plan.rssServices)} × ${plan.endpointsPerService}`;
  if (typeof rss === "string") return { name, measured: "not measured", goal: `< ${RSS_GOAL_MB} MB`, met: false, note: rss };
  const peak = rss.later.vmHwmMb;
  return {
    name,
    measured: `${peak.toFixed(0)} MB`,
    goal: `< ${RSS_GOAL_MB} MB`,
    met: peak < RSS_GOAL_MB,
    note: peakDuringSync(rss)
      ? "reached during the first full sync, whose transaction goes to nft in pieces made as the pipe drains (renderNftablesPieces in nftables/render.ts); the stores, ProxyState and the render's garbage make the rest (docs/agent.md)"
      : "reached before the first full sync: start-up and the informers' lists",
  };
}

function dnatTargets(dnat: DnatResult[] | string): Target[] {
  if (typeof dnat === "string") return [{ name: "DNAT throughput", measured: "not measured", goal: `≥ ${DNAT_GOAL} × direct`, met: false, note: dnat }];
  return dnat.map((d) => {
    const { median, min, max } = d.rpsRatio;
    return {
      name: `DNAT throughput, ${d.backend}`,
      measured: `${median.toFixed(2)} × direct (pairs ${min.toFixed(2)}–${max.toFixed(2)})`,
      goal: `≥ ${DNAT_GOAL} × direct`,
      met: median >= DNAT_GOAL,
      note: "the median of back-to-back pairs on a machine shared with other loads; the pairs' range says how far to trust it",
    };
  });
}

function restoreLine(plan: Plan, c: RestoreCost): Line {
  const metrics: Record<string, number> = { noflush_ms: Math.round(c.noflushMs), flush_ms: Math.round(c.flushMs) };
  if (c.legacyMs !== undefined) metrics.legacy_ms = Math.round(c.legacyMs);
  return {
    name: `iptables-restore alone, ${count(plan.restoreCostServices)} × ${plan.endpointsPerService}`,
    metrics,
    detail: `the proxier's ${count(c.lines)}-line restore into an empty namespace: --noflush (as the agent), without --noflush (would drop other chains), iptables-legacy-restore --noflush`,
  };
}

function rssLine(r: AgentRssResult): Line {
  return {
    name: `agent process, nftables, ${count(r.services)} × ${r.endpointsPerService}`,
    metrics: { peak_rss_mb: r1(r.later.vmHwmMb), rss_mb: r1(r.afterSync.vmRssMb) },
    detail: `/proc VmHWM ${SETTLE_MS / 1000} s after the first full sync, VmRSS at it (${r1(r.afterSync.vmHwmMb)} MB peak then, ${r1(r.later.vmRssMb)} MB RSS later); objects created through the admin API in ${r1(r.createS)} s; agent start -> first full sync logged ${r1(r.startToSyncS)} s; ${peakPlace(r)}`,
  };
}

/** Whether the peak came during the first full sync (which ended just before it was logged) or before it. */
const syncStartS = (r: AgentRssResult): number => r.startToSyncS - r.firstSyncMs / 1000;
const peakDuringSync = (r: AgentRssResult): boolean => r.peakAtS >= syncStartS(r);

function peakPlace(r: AgentRssResult): string {
  const when = peakDuringSync(r) ? "during the first full sync" : "before the first full sync (start-up, lists)";
  return `the peak was reached ${r1(r.peakAtS)} s after the start, ${when}, which ran from about ${r1(syncStartS(r))} s for ${count(r.firstSyncMs)} ms`;
}

function dnatLine(d: DnatResult, path: "direct" | "clusterIP", plan: Plan): Line {
  const f: PathFigures = d[path];
  const flaws = [f.errors && `${f.errors} errors`, f.non2xx && `${f.non2xx} non-2xx`, f.capped && "request cap reached (rps a lower bound)"].filter(Boolean);
  return {
    name: `DNAT ${d.backend}: ${path === "direct" ? "client -> pod direct" : "client -> ClusterIP -> pod"}`,
    metrics: { rps: Math.round(f.rps), p50_ms: Number(f.p50Ms.toFixed(2)), p99_ms: Number(f.p99Ms.toFixed(2)) },
    detail: `wrk in the client namespace, ${plan.dnat.connections} connections, median of ${plan.dnat.pairs} loads of ${plan.dnat.durationS} s, each paired with one of the other path${flaws.length ? `; ${flaws.join(", ")}` : ""}`,
  };
}

function notes(plan: Plan, scale: ScaleRun[], restore: RestoreCost | string | undefined, rss: AgentRssResult | string, dnat: DnatResult[] | string): string[] {
  const out = [
    `scale: synthetic ClusterIP Services (every 10th a NodePort, every 100th with ClientIP affinity) × ${plan.endpointsPerService} endpoints, a third on this node; each backend and size in its own process and namespace; full sync = listing + render + apply through the real ServiceProxy, SyncLoop and proxier; a change = one endpoint turning unready or ready, spaced past the sync loop's 30 ms rate limit; an iptables change restores only the chains whose rules changed (as kube-proxy's MinimizeIPTablesRestore), an nftables change is one incremental transaction`,
  ];
  const stopped = scale.filter((r) => r.error);
  for (const r of stopped) out.push(`${r.figures.backend} at ${count(r.figures.services!)} × ${r.figures.endpointsPerService} stopped: ${r.error}`);
  if (typeof restore === "string") out.push(`iptables-restore cost not measured: ${restore}`);
  else if (restore) {
    out.push(
      `iptables is the runtime's: ${iptablesVersion()} spends its time in iptables-restore --noflush itself, ${count(Math.round(restore.noflushMs))} ms for the ${count(plan.restoreCostServices)}-Service ruleset against ${count(Math.round(restore.flushMs))} ms without --noflush${restore.legacyMs === undefined ? "" : ` and ${count(Math.round(restore.legacyMs))} ms with iptables-legacy-restore`}; perf puts most of it in strcmp over its own lists, and it grows faster than the rules (the full sync ratios: 10 when linear). kube-proxy's layout needs --noflush (other chains live in the same tables); a single change restores only the chains it changed, so only full syncs pay this`,
    );
  }
  if (typeof rss === "string") out.push(`agent RSS not measured: ${rss}`);
  if (typeof dnat === "string") out.push(`DNAT data path not measured: ${dnat}`);
  else
    out.push(
      `DNAT lab: namespaces client -- node (router, the proxier's rules) -- pod (one Node server), 198.18.201.0/24 and 198.18.202.0/24, ClusterIP 198.18.210.10; both subnets are cluster CIDRs, so the ClusterIP path is DNAT without masquerade; both paths are checked with one GET before the load`,
    );
  return out;
}

function iptablesVersion(): string {
  try {
    return execFileSync("iptables", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "iptables";
  }
}
