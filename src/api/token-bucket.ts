// A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. The
// gateway spends one per KV lookup of a credential it has not seen, and the admin
// API one per registry lookup of a node token it has not seen valid, so made-up
// credentials cannot turn a warm isolate into a KV reader or the Durable Object
// into a token checker.

export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly ratePerSecond: () => number,
    private readonly burst: () => number,
  ) {
    this.tokens = burst();
    this.refilledAt = Date.now();
  }

  /** Takes one token if there is one. */
  take(now = Date.now()): boolean {
    const elapsedSeconds = Math.max(0, now - this.refilledAt) / 1000;
    this.tokens = Math.min(this.burst(), this.tokens + elapsedSeconds * this.ratePerSecond());
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Full again (tests; a fresh isolate starts like this). */
  refill(): void {
    this.tokens = this.burst();
    this.refilledAt = Date.now();
  }
}
