// One measured window of the edge table: a warm-up load, then the window at the same
// concurrency, with the CPU the proxy and each pod used during the window and, for the
// gateway, its request and KV-read counters over the window. A line may be several
// windows (alternated with other lines'), combined into one.
import { runLoad, type LoadResult } from "../load";
import type { Pod } from "../pods";
import type { EdgeCounters } from "./admin";
import { groupCpuSeconds, processCpuSeconds } from "./proc-cpu";

/** The request bound is a safety net only: far above what loopback allows in the window. */
const MAX_REQUESTS_PER_SECOND_BOUND = 200_000;

export interface WindowSpec {
  url: string;
  /** Host headers rotated one per request (a single one for one-host lines). */
  hosts: string[];
  connections: number;
  warmupS: number;
  durationS: number;
  /** Process group of the proxy under test, for its CPU; none for the direct line. */
  proxyGroup?: number;
  /** The process that runs the Worker's own code, when the proxy is a Worker. */
  workerPid?: number;
  pods: Pod[];
  /** The gateway's counters, read before and after the window. */
  counters?: () => Promise<EdgeCounters>;
}

export interface Window {
  load: LoadResult;
  /** Windows combined into this one (1 for a single window). */
  windows: number;
  /** Distinct Host headers the load rotated over. */
  hostsRotated: number;
  /** CPU seconds the proxy's processes used in the window. */
  proxyCpuS?: number;
  /** CPU seconds of the workerd running the Worker's code. */
  workerCpuS?: number;
  /** CPU seconds each pod used in the window (in `pods` order). */
  podCpuS: (number | undefined)[];
  /** Gateway counter deltas over the window. */
  gateway?: { requests: number; kvReads: number };
}

const delta = (after: number | undefined, before: number | undefined): number | undefined =>
  after === undefined || before === undefined ? undefined : after - before;

export async function measureWindow(spec: WindowSpec): Promise<Window> {
  const load = (durationS: number) =>
    runLoad({ url: spec.url, hosts: spec.hosts, connections: spec.connections, durationS, maxRequests: durationS * MAX_REQUESTS_PER_SECOND_BOUND });
  if (spec.warmupS > 0) await load(spec.warmupS);
  const proxyCpu = () => (spec.proxyGroup === undefined ? undefined : groupCpuSeconds(spec.proxyGroup));
  const workerCpu = () => (spec.workerPid === undefined ? undefined : processCpuSeconds(spec.workerPid));
  const podCpu = () => spec.pods.map((p) => processCpuSeconds(p.proc.child.pid!));
  const countersBefore = await spec.counters?.();
  const proxyBefore = proxyCpu();
  const workerBefore = workerCpu();
  const podsBefore = podCpu();
  const result = await load(spec.durationS);
  const proxyAfter = proxyCpu();
  const workerAfter = workerCpu();
  const podsAfter = podCpu();
  const countersAfter = await spec.counters?.();
  const window: Window = {
    load: result,
    windows: 1,
    hostsRotated: spec.hosts.length,
    proxyCpuS: delta(proxyAfter, proxyBefore),
    workerCpuS: delta(workerAfter, workerBefore),
    podCpuS: podsAfter.map((a, i) => delta(a, podsBefore[i])),
  };
  if (countersBefore && countersAfter) {
    window.gateway = {
      requests: countersAfter.gatewayRequests - countersBefore.gatewayRequests,
      kvReads: countersAfter.gatewayKvReads - countersBefore.gatewayKvReads,
    };
  }
  return window;
}

const sum = (xs: (number | undefined)[]): number | undefined => (xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + x!, 0));
const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;

/**
 * Several windows of one line as one: counts, durations and CPU add up, rps is their
 * total over their total time, and p50/p99 are the mean of the windows' (percentiles
 * of separate runs cannot be merged exactly).
 */
export function combineWindows(ws: Window[]): Window {
  if (ws.length === 1) return ws[0]!;
  const loads = ws.map((w) => w.load);
  const requests = loads.reduce((a, l) => a + l.requests, 0);
  const durationS = loads.reduce((a, l) => a + l.durationS, 0);
  const load: LoadResult = {
    tool: loads[0]!.tool,
    requests,
    durationS,
    rps: requests / durationS,
    p50Ms: mean(loads.map((l) => l.p50Ms)),
    p99Ms: mean(loads.map((l) => l.p99Ms)),
    errors: loads.reduce((a, l) => a + l.errors, 0),
    non2xx: loads.reduce((a, l) => a + l.non2xx, 0),
    capped: loads.some((l) => l.capped),
  };
  const combined: Window = {
    load,
    windows: ws.reduce((a, w) => a + w.windows, 0),
    hostsRotated: ws[0]!.hostsRotated,
    proxyCpuS: sum(ws.map((w) => w.proxyCpuS)),
    workerCpuS: sum(ws.map((w) => w.workerCpuS)),
    podCpuS: ws[0]!.podCpuS.map((_, i) => sum(ws.map((w) => w.podCpuS[i]))),
  };
  if (ws.every((w) => w.gateway))
    combined.gateway = { requests: ws.reduce((a, w) => a + w.gateway!.requests, 0), kvReads: ws.reduce((a, w) => a + w.gateway!.kvReads, 0) };
  return combined;
}
