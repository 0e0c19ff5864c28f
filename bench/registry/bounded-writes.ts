// Runs `count` requests with at most `inFlight` outstanding, in index order, stopping at a
// deadline: the load loop of the creation phase, bounded in count and in time. Records each
// request's latency and when the last one answered.
export interface BoundedRun {
  /** Requests that completed (answered, successfully or not). */
  done: number;
  failed: number;
  firstError?: string;
  /** True when the deadline stopped the loop before `count` requests were sent. */
  timedOut: boolean;
  startedAt: number;
  /** performance.now() when the last request answered. */
  lastAnswerAt: number;
  /** In the order the answers came. */
  latenciesMs: number[];
}

export async function runBounded(count: number, inFlight: number, deadlineAt: number, send: (i: number) => Promise<void>): Promise<BoundedRun> {
  const run: BoundedRun = { done: 0, failed: 0, timedOut: false, startedAt: performance.now(), lastAnswerAt: performance.now(), latenciesMs: [] };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      if (performance.now() > deadlineAt) {
        run.timedOut = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      try {
        await send(i);
      } catch (e) {
        run.failed++;
        run.firstError ??= e instanceof Error ? e.message : String(e);
      }
      run.lastAnswerAt = performance.now();
      run.latenciesMs.push(run.lastAnswerAt - t0);
      run.done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
  return run;
}

/** The q-quantile (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
