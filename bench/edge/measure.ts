// One line of the edge table: a warm-up load, then a measured window at the same
// concurrency, with the CPU the proxy and each pod used during the window and, for the
// gateway, its request and KV-read counters over the window.
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

const delta = (after: number | undefined, before: number | undefined): number | undefined => (after === undefined || before === undefined ? undefined : after - before);

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
  const window: Window = { load: result, hostsRotated: spec.hosts.length, proxyCpuS: delta(proxyAfter, proxyBefore), workerCpuS: delta(workerAfter, workerBefore), podCpuS: podsAfter.map((a, i) => delta(a, podsBefore[i])) };
  if (countersBefore && countersAfter) {
    window.gateway = { requests: countersAfter.gatewayRequests - countersBefore.gatewayRequests, kvReads: countersAfter.gatewayKvReads - countersBefore.gatewayKvReads };
  }
  return window;
}
