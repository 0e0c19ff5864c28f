// Exponential backoff with jitter, as client-go's reflector: 0.8 s doubling to 30 s, so a
// fleet of agents does not hammer a recovering API in lockstep.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF_INITIAL_MS = 800;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.maxMs = opts.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.random = opts.random ?? Math.random;
  }

  /** The next delay: doubles each time up to the cap, then jittered into [50 %, 100 %]. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base * (0.5 + this.random() / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
