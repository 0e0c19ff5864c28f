// The registry's scale figures as the bench reports them: a line per tenth of the creates
// (rate, heap, database), the heap growth per 1,000 Services × 10 Pods, the database bytes
// per Service and per Pod, the unpaged list of every Pod, and the restart; each checked
// against issue 10's target.
import type { Line, PartResult } from "../types";
import { quantile } from "./bounded-writes";
import type { MixedRun, FirstWrite } from "./after-restart";
import { MIB } from "./isolate-heap";
import type { TenthsRun } from "./tenths";
import { RPC_LIMIT_BYTES, type UnpagedList } from "./unpaged-list";
import type { DbSize } from "./registry-db";
import type { PlainRate } from "./baseline-rate";
import { WATCH_WINDOW_BYTES } from "../../src/registry/watch-history";

/** Issue 10's targets. MB read as MiB, as Cloudflare's "128 MB" isolate limit is. */
export const HEAP_AT_FULL_SIZE_MAX_MIB = 48;
export const HEAP_GROWTH_PER_1000_MAX_MIB = 4;
export const FIRST_WRITE_AFTER_RESTART_MAX_MS = 1000;
export const WORST_LATENCY_AFTER_RESTART_MAX_MS = 1000;
export const LAST_TENTH_RATE_MIN_RATIO = 0.9;
/** The Pod create rate of the run before issue 10 (docs/benchmarks.md, 2026-11-27: 1,000 × 10, no 1 KB annotation, DevTools relay on). */
export const EARLIER_POD_CREATES_PER_S = 470;

const round = (v: number, digits = 1) => Number(v.toFixed(digits));
const count = (n: number) => n.toLocaleString("en-US");
const mib = (bytes: number) => round(bytes / MIB, 1);
const perS = (run: { done: number; failed: number; startedAt: number; lastAnswerAt: number }) =>
  (run.done - run.failed) / ((run.lastAnswerAt - run.startedAt) / 1000);

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((t, [x]) => t + x, 0) / n;
  const my = points.reduce((t, [, y]) => t + y, 0) / n;
  const sxy = points.reduce((t, [x, y]) => t + (x - mx) * (y - my), 0);
  const sxx = points.reduce((t, [x]) => t + (x - mx) ** 2, 0);
  return sxy / sxx;
}

export function tenthLines(result: PartResult, run: TenthsRun): void {
  for (const [k, t] of run.tenths.entries()) {
    const metrics: Record<string, number> = {
      per_s: round(perS(t.podRun)),
      p50_ms: round(quantile(t.podRun.latenciesMs, 0.5), 2),
      p99_ms: round(quantile(t.podRun.latenciesMs, 0.99), 2),
    };
    if (t.heap) metrics.heap_mib = mib(t.heap.used);
    if (t.dbAfterPods !== undefined) metrics.db_mib = mib(t.dbAfterPods.fileBytes);
    result.lines.push({ name: `tenth ${k + 1}: its Pod creates; then ${count(t.services)} Services, ${count(t.pods)} Pods`, metrics });
  }
  result.notes.push(
    `tenth lines: per_s, p50_ms and p99_ms are that tenth's Pod creates; heap_mib is the isolate's V8 heap in use (Runtime.getHeapUsage usedSize) after HeapProfiler.collectGarbage at the end of the tenth; db_mib the registry's SQLite database file then (page_count × page_size)`,
  );
}

/** Pod creates/s in the last tenth ÷ the first, and the absolute rates against the earlier run's. */
export function rateFigures(result: PartResult, run: TenthsRun): void {
  const first = run.tenths[0];
  const last = run.tenths.at(-1);
  if (!first || !last || run.tenths.length < 2) return;
  const ratio = perS(last.podRun) / perS(first.podRun);
  result.ratios.push({ name: "Pod creates/s, last tenth ÷ first tenth", value: ratio, goal: { op: ">=", value: LAST_TENTH_RATE_MIN_RATIO } });
  const met = ratio >= LAST_TENTH_RATE_MIN_RATIO;
  result.targets.push({
    name: "Pod creates/s, last tenth ÷ first",
    measured: `${ratio.toFixed(2)} (${perS(last.podRun).toFixed(0)} ÷ ${perS(first.podRun).toFixed(0)}/s)`,
    goal: `≥ ${LAST_TENTH_RATE_MIN_RATIO}`,
    met,
    note: met ? undefined : "a create gets dearer as objects pile up: see the tenth lines' heap and p50",
  });
  result.notes.push(
    `Pod creates: ${perS(first.podRun).toFixed(0)}/s in the first tenth, ${perS(last.podRun).toFixed(0)}/s in the last (the run of 2026-11-27: ~${EARLIER_POD_CREATES_PER_S}/s at 1,000 × 10, Pods without the 1 KB annotation, DevTools relay on; the machine is shared, so absolute rates drift; --baseline <checkout> measures an earlier revision in the same run)`,
  );
}

/** Issue 10: the Pod create rate "no lower than today's": this tree ÷ the baseline revision's, in the same run. */
export const BASELINE_RATE_MIN_RATIO = 1;

/** The plain create loop on this tree and on the baseline revision (baseline-rate.ts): two lines, the ratio and its target. */
export function baselineRateFigures(result: PartResult, ours: PlainRate, theirs: PlainRate, baseline: string, size: string): void {
  const line = (who: string, r: PlainRate): Line => {
    const metrics: Record<string, number> = { per_s: round(r.podsPerS), pods: r.pods, failed: r.failed };
    if (r.workerCpuUsPerPod !== undefined) metrics.worker_cpu_us_per_pod = Math.round(r.workerCpuUsPerPod);
    const trouble = r.timedOut ? "; stopped at its time bound" : r.firstError ? `; first error: ${r.firstError}` : "";
    return { name: `plain Pod creates, ${who}`, metrics, detail: `${size}, nothing else in flight (bench/registry/baseline-rate.ts)${trouble}` };
  };
  result.lines.push(line("this tree", ours), line(`baseline ${baseline}`, theirs));
  const complete = !ours.timedOut && !theirs.timedOut && ours.failed === 0 && theirs.failed === 0;
  const ratio = ours.podsPerS / theirs.podsPerS;
  result.ratios.push({ name: `Pod creates/s, this tree ÷ ${baseline}`, value: ratio, goal: { op: ">=", value: BASELINE_RATE_MIN_RATIO } });
  const met = complete && ratio >= BASELINE_RATE_MIN_RATIO;
  result.targets.push({
    name: `Pod creates/s against ${baseline}, same run`,
    measured: `${ratio.toFixed(2)} × (${ours.podsPerS.toFixed(0)} ÷ ${theirs.podsPerS.toFixed(0)}/s)`,
    goal: `≥ ${BASELINE_RATE_MIN_RATIO} ×`,
    met,
    note: met ? undefined : complete ? "creates are dearer than the baseline's: compare worker_cpu_us_per_pod" : "a loop failed or timed out: see the lines",
  });
}

/** Heap growth per 1,000 Services × 10 Pods: the slope over the samples after each tenth (and before the first). */
export function heapGrowthTarget(result: PartResult, run: TenthsRun, podsPerService: number): void {
  const points: [number, number][] = run.tenths.filter((t) => t.heap).map((t) => [t.services, t.heap!.used]);
  if (run.heap0) points.unshift([0, run.heap0.used]);
  const name = `heap growth per 1,000 Services × ${podsPerService} Pods`;
  if (points.length < 3) {
    result.targets.push({
      name,
      measured: "not measured",
      goal: `≤ ${HEAP_GROWTH_PER_1000_MAX_MIB} MB`,
      met: false,
      note: "fewer than 3 heap samples (no inspector?)",
    });
    return;
  }
  const growth = slope(points) * 1000;
  const met = growth / MIB <= HEAP_GROWTH_PER_1000_MAX_MIB;
  result.targets.push({
    name,
    measured: `${(growth / MIB).toFixed(2)} MiB`,
    goal: `≤ ${HEAP_GROWTH_PER_1000_MAX_MIB} MB`,
    met,
    note: met
      ? undefined
      : `the registry keeps its objects in the isolate's heap: ${count(Math.round(growth / (1000 * (1 + podsPerService))))} bytes of heap per object`,
  });
  result.notes.push(
    `heap growth: least-squares slope of the ${points.length} samples (after a forced GC, before the first tenth and after each), per 1,000 Services with their Pods`,
  );
}

/** The unpaged list of every Pod: a line, and the target that it completes (with the heap while it ran). */
export function fullListFigures(result: PartResult, list: UnpagedList, pods: number, services: number, podsPerService: number): void {
  const metrics: Record<string, number> = { wall_s: round(list.ms / 1000, 2) };
  if (list.heapMax !== undefined) metrics.heap_mib = mib(list.heapMax);
  const ok = list.status === 200 && list.items === pods;
  result.lines.push({
    name: `unpaged GET /api/v1/pods, ${count(pods)} Pods`,
    metrics,
    detail: `${ok ? `200 with every Pod, ${mib(list.bytes)} MiB of JSON` : `failed: ${list.status || "no answer"} ${list.failure ?? `${list.items} items`}`}; heap_mib = max of ${list.heapSamples} heap samples while in flight`,
  });
  result.targets.push({
    name: `unpaged GET /api/v1/pods of ${count(pods)} Pods`,
    measured: ok ? `200 in ${(list.ms / 1000).toFixed(1)} s, ${mib(list.bytes)} MiB` : `${list.status || "no answer"} after ${(list.ms / 1000).toFixed(1)} s`,
    goal: "200 with every Pod",
    met: ok,
    note: ok
      ? undefined
      : `${list.failure ?? `${count(list.items ?? 0)} items`}${list.status === 500 ? ` (a Workers RPC result is at most ${RPC_LIMIT_BYTES / MIB} MiB: the admin API gets the whole list from the Durable Object in one RPC)` : ""}`,
  });
  const size = `${count(services)} × ${podsPerService}`;
  if (list.heapMax === undefined) {
    result.targets.push({
      name: `registry heap at ${size}`,
      measured: "not measured",
      goal: `≤ ${HEAP_AT_FULL_SIZE_MAX_MIB} MB`,
      met: false,
      note: "no heap sample while the list was in flight (no inspector?)",
    });
    return;
  }
  const met = list.heapMax / MIB <= HEAP_AT_FULL_SIZE_MAX_MIB;
  result.targets.push({
    name: `registry heap at ${size}, during the unpaged list`,
    measured: `${mib(list.heapMax)} MiB (max of ${list.heapSamples} samples)`,
    goal: `≤ ${HEAP_AT_FULL_SIZE_MAX_MIB} MB`,
    met,
    note: met ? undefined : "every object is held in the isolate's heap, and the list is built whole in it before the RPC",
  });
}

/** The unpaged lists taken between tenths, in one note: where the single-RPC list stops working. */
export function listProbeNote(result: PartResult, run: TenthsRun): void {
  const probes = run.tenths.flatMap((t) =>
    t.list
      ? [
          `${count(t.pods)} Pods: ${t.list.status === 200 ? `200 in ${(t.list.ms / 1000).toFixed(1)} s, ${mib(t.list.bytes)} MiB` : `${t.list.status || "no answer"} after ${(t.list.ms / 1000).toFixed(1)} s (${t.list.failure})`}`,
        ]
      : [],
  );
  if (probes.length)
    result.notes.push(`unpaged GET /api/v1/pods after each tenth, until one fails or a body passes ${RPC_LIMIT_BYTES / MIB} MiB: ${probes.join("; ")}`);
}

/** Database bytes per Service and per Pod: the growth of the object tables (the watch history apart) over each tenth's Service creates and over its Pod creates. */
export function storageLine(result: PartResult, run: TenthsRun): void {
  let svcBytes = 0;
  let svcs = 0;
  let podBytes = 0;
  let pods = 0;
  let before: DbSize | undefined = run.db0;
  let prev = { services: 0, pods: 0 };
  for (const t of run.tenths) {
    if (before === undefined || t.dbAfterServices === undefined || t.dbAfterPods === undefined) return;
    svcBytes += t.dbAfterServices.objectBytes - before.objectBytes;
    svcs += t.services - prev.services;
    podBytes += t.dbAfterPods.objectBytes - t.dbAfterServices.objectBytes;
    pods += t.pods - prev.pods;
    before = t.dbAfterPods;
    prev = t;
  }
  if (!before || svcs === 0 || pods === 0) return;
  result.lines.push({
    name: "registry SQLite database after the creates",
    metrics: { db_mib: mib(before.fileBytes), bytes_per_service: Math.round(svcBytes / svcs), bytes_per_pod: Math.round(podBytes / pods) },
    detail: `the Durable Object's database under wrangler's state folder (node:sqlite, read-only): db_mib = the file; per Service and per Pod: the growth of the pages in use by every table and index but the watch history's (dbstat) over each tenth's Service creates and over its Pod creates (a Pod's share holds its EndpointSlice's growth and its index rows); the watch history is a window (≤ ${WATCH_WINDOW_BYTES / MIB} MiB of JSON) and held ${mib(before.watchBytes)} MiB`,
  });
  result.notes.push(
    `largest tables and indexes of the registry's database: ${before.tables
      .slice(0, 6)
      .map((t) => `${t.name} ${mib(t.bytes)} MiB`)
      .join(", ")}`,
  );
}

export interface RestartFigures {
  /** wrangler dev's start → GET /version answers (the Worker; the Durable Object has not started). */
  startMs: number;
  first: FirstWrite;
  heapAfterMib?: number;
  mixed?: MixedRun;
  mixedInFlight: number;
  mixedS: number;
}

export function restartFigures(result: PartResult, r: RestartFigures, size: string): void {
  const lines: Line[] = [
    {
      name: "restart: wrangler dev answers GET /version",
      metrics: { wall_s: round(r.startMs / 1000, 2) },
      detail: "the same --persist-to state; /version is the Worker's, without the Durable Object",
    },
  ];
  const firstMet = r.first.ms !== undefined && r.first.ms <= FIRST_WRITE_AFTER_RESTART_MAX_MS;
  if (r.first.ms !== undefined) {
    const metrics: Record<string, number> = { max_ms: round(r.first.ms, 1) };
    if (r.heapAfterMib !== undefined) metrics.heap_mib = r.heapAfterMib;
    lines.push({
      name: "restart: first write answered",
      metrics,
      detail: `PATCH of a Service right after; the Durable Object starts on it; ${r.first.attempts} attempt(s); heap_mib after it and a forced GC`,
    });
  }
  result.targets.push({
    name: `first write after a restart, ${size}`,
    measured: r.first.ms === undefined ? `none within the bound (${r.first.attempts} attempts; last: ${r.first.lastFailure})` : `${Math.round(r.first.ms)} ms`,
    goal: `≤ ${FIRST_WRITE_AFTER_RESTART_MAX_MS / 1000} s`,
    met: firstMet,
    note: firstMet ? undefined : "the Durable Object loads every object into memory before it answers",
  });
  if (r.mixed) {
    const m = r.mixed;
    const worst = Math.max(...m.latenciesMs);
    const slowest = [...m.byOp].sort((a, b) => b[1].maxMs - a[1].maxMs)[0];
    const failed = m.failed ? `; ${m.failed} failed (first: ${m.firstError})` : "";
    lines.push({
      name: `restart: ${r.mixedS} s of mixed reads and writes, ${r.mixedInFlight} in flight`,
      metrics: {
        count: m.latenciesMs.length,
        per_s: round(m.latenciesMs.length / m.wallS),
        p50_ms: round(quantile(m.latenciesMs, 0.5), 2),
        p99_ms: round(quantile(m.latenciesMs, 0.99), 2),
        max_ms: round(worst, 1),
      },
      detail: `right after the first write; in turn: ${[...m.byOp].map(([op, s]) => `${op} (${s.count}, worst ${Math.round(s.maxMs)} ms)`).join(", ")}${failed}`,
    });
    const met = worst <= WORST_LATENCY_AFTER_RESTART_MAX_MS && m.failed === 0;
    result.targets.push({
      name: `worst latency in the ${r.mixedS} s after a restart`,
      measured: `${Math.round(worst)} ms (${slowest?.[0]}) of ${count(m.latenciesMs.length)}${m.failed ? `, ${m.failed} failed` : ""}`,
      goal: `≤ ${WORST_LATENCY_AFTER_RESTART_MAX_MS / 1000} s`,
      met,
      note: met ? undefined : m.failed ? `requests failed: ${m.firstError}` : `the slowest kind: ${slowest?.[0]}`,
    });
  }
  result.lines.push(...lines);
}
