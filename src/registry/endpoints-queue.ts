// The endpoints controller's work queue, as kube-controller-manager's EndpointSlice
// controller keeps one: a Pod write only marks the Services it can concern, and the
// controller syncs each marked Service once, however many of its Pods changed meanwhile.
// A burst of Pod creates for one Service (kubectl scale, a Deployment's rollout) then
// rewrites its EndpointSlice once, not once per Pod. The marks are rows in SQLite, written
// with the Pod, so a Service marked before a restart is still synced after it.

/** Services synced per slice of queued work; the rest wait for the next turn, so no request waits long behind it. */
export const SERVICES_PER_SYNC = 200;

export class EndpointsQueue {
  /** Marked Services not yet synced (known once counted at start, then kept). */
  private queued: number;

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS endpoints_queue (namespace TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (namespace, service)) WITHOUT ROWID");
    this.queued = sql.exec<{ n: number }>("SELECT count(*) AS n FROM endpoints_queue").one().n;
  }

  get pending(): number {
    return this.queued;
  }

  /** Marks Services of one namespace for a sync. */
  add(namespace: string, services: readonly string[]): void {
    for (const service of services)
      this.queued += this.sql.exec("INSERT OR IGNORE INTO endpoints_queue (namespace, service) VALUES (?, ?)", namespace, service).rowsWritten;
  }

  /** Takes up to `max` marked Services off the queue, in key order. */
  take(max = SERVICES_PER_SYNC): [string, string][] {
    if (this.queued === 0) return [];
    const rows = this.sql
      .exec<{ namespace: string; service: string }>("SELECT namespace, service FROM endpoints_queue ORDER BY namespace, service LIMIT ?", max)
      .toArray();
    for (const r of rows) this.sql.exec("DELETE FROM endpoints_queue WHERE namespace = ? AND service = ?", r.namespace, r.service);
    this.queued = rows.length < max ? 0 : Math.max(0, this.queued - rows.length);
    return rows.map((r) => [r.namespace, r.service]);
  }
}
