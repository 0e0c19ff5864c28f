// Rate-limited sync runner, as kube-proxy's BoundedFrequencyRunner: changes only mark
// the loop dirty; a sync runs at most once per minimum interval, so a burst of events
// becomes one sync; a sync also runs every period without changes; a failed sync is
// retried whole, as a full one, after a backoff.
import { Backoff, type BackoffOptions } from "./backoff";
import { silentLogger, type Logger } from "./log";

/** Rate limit between syncs. Small, so a lone endpoint change is applied at once. */
export const DEFAULT_MIN_SYNC_INTERVAL_MS = 30;
/** kube-proxy's --sync-period default: a sync runs at least this often. */
export const DEFAULT_SYNC_PERIOD_MS = 30_000;

export interface SyncLoopOptions {
  /** Applies the current state; resolves true on success. `full` asks for a complete rewrite. */
  sync(full: boolean): Promise<boolean>;
  minIntervalMs?: number;
  periodMs?: number;
  retry?: BackoffOptions;
  log?: Logger;
}

export class SyncLoop {
  private dirty = false;
  private full = true;
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private due = Infinity;
  private lastStart = -Infinity;
  private stopped = true;
  private readonly backoff: Backoff;
  private readonly minIntervalMs: number;
  private readonly periodMs: number;
  private readonly log: Logger;
  private readonly opts: SyncLoopOptions;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: SyncLoopOptions) {
    this.opts = opts;
    this.backoff = new Backoff({ initialMs: 1000, maxMs: 30_000, ...opts.retry });
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_MIN_SYNC_INTERVAL_MS;
    this.periodMs = opts.periodMs ?? DEFAULT_SYNC_PERIOD_MS;
    this.log = (opts.log ?? silentLogger).with({ component: "sync-loop" });
  }

  /** Starts with a full sync. */
  start(): void {
    this.stopped = false;
    this.full = true;
    this.request();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Something changed: sync soon, within the rate limit. */
  request(full = false): void {
    this.dirty = true;
    if (full) this.full = true;
    if (!this.running) this.schedule(Math.max(0, this.lastStart + this.minIntervalMs - Date.now()));
  }

  /** Resolves once no sync is pending or running (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.dirty && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const due = Date.now() + delayMs;
    if (this.timer && this.due <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due = Infinity;
      this.running = this.run().finally(() => {
        this.running = undefined;
        // Changes that arrived during the sync (request() does not schedule while one runs).
        // A pending retry keeps its backoff.
        if (this.dirty) {
          if (!this.timer) this.schedule(Math.max(0, this.lastStart + this.minIntervalMs - Date.now()));
        } else this.wakeIdle();
      });
    }, delayMs);
  }

  private async run(): Promise<void> {
    const full = this.full;
    this.full = false;
    this.dirty = false;
    this.lastStart = Date.now();
    let ok = false;
    try {
      ok = await this.opts.sync(full);
    } catch (e) {
      this.log.error("sync threw", { error: e });
    }
    if (this.stopped) return;
    if (!ok) {
      // Whatever the kernel holds now is unknown: the retry rewrites everything.
      this.full = true;
      this.dirty = true;
      const delay = this.backoff.next();
      this.log.warn("sync failed; retrying with a full sync", { retryInMs: delay });
      return this.schedule(delay);
    }
    this.backoff.reset();
    if (!this.dirty) this.schedule(this.periodMs);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
