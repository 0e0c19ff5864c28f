// Node liveness from Lease renewals, as kube-controller-manager's node lifecycle
// controller: a node whose Lease has not been renewed within the grace period is
// marked Ready=Unknown. Deadlines live in memory; renewals never touch KV.

export class NodeLiveness {
  private readonly deadlines = new Map<string, number>();

  constructor(private readonly graceMs: number) {}

  renew(lease: { metadata: { name?: string }; spec?: { leaseDurationSeconds?: number } }, now = Date.now()): void {
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    this.deadlines.set(lease.metadata.name!, now + Math.max(this.graceMs, duration));
  }

  forget(node: string): void {
    this.deadlines.delete(node);
  }

  /**
   * Nodes whose deadline passed, at most `max` (the rest stay due for the next call);
   * each is reported once until its lease is renewed again.
   */
  expired(now: number, max = Infinity): string[] {
    const out: string[] = [];
    for (const [node, deadline] of this.deadlines) {
      if (out.length >= max) break;
      if (deadline <= now) {
        out.push(node);
        this.deadlines.delete(node);
      }
    }
    return out;
  }

  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const d of this.deadlines.values()) next = Math.min(next ?? Infinity, d);
    return next;
  }
}
