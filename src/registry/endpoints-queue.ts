// The endpoints controller's work queue, as kube-controller-manager's EndpointSlice
// controller keeps one: a Pod write only marks the Services it can concern, and the
// controller syncs each marked Service once, however many of its Pods changed meanwhile.
// A burst of Pod creates for one Service (kubectl scale, a Deployment's rollout) then
// rewrites its EndpointSlice once, not once per Pod. The marks are rows in SQLite, written
// with the Pod, so a Service marked before a restart is still synced after it.

/** Services synced per slice of queued work; the rest wait for the next turn, so no request waits long behind it. */
export const SERVICES_PER_SYNC = 200;

/** Bound on the marks remembered in memory (a `namespace/service` key each); past it a mark is only written. */
const MAX_REMEMBERED_MARKS = 10_000;

export class EndpointsQueue {
  /** Marked Services not yet synced (known once counted at start, then kept). */
  private queued: number;
  /**
   * Marks this object wrote and has not taken since (a subset of the table's rows): the Pods of
   * a burst mark the same Service one after the other, and only the first needs a statement.
   */
  private readonly marked = new Set<string>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS endpoints_queue (namespace TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (namespace, service)) WITHOUT ROWID");
    this.queued = sql.exec<{ n: number }>("SELECT count(*) AS n FROM endpoints_queue").one().n;
  }

  get pending(): number {
    return this.queued;
  }

  /** Marks Services of one namespace for a sync. */
  add(namespace: string, services: readonly string[]): void {
    for (const service of services) {
      const key = markKey(namespace, service);
      if (this.marked.has(key)) continue;
      this.queued += this.sql.exec("INSERT OR IGNORE INTO endpoints_queue (namespace, service) VALUES (?, ?)", namespace, service).rowsWritten;
      if (this.marked.size < MAX_REMEMBERED_MARKS) this.marked.add(key);
    }
  }

  /** Takes up to `max` marked Services off the queue, in key order. */
  take(max = SERVICES_PER_SYNC): [string, string][] {
    if (this.queued === 0) return [];
    const rows = this.sql
      .exec<{ namespace: string; service: string }>(
        "DELETE FROM endpoints_queue WHERE (namespace, service) IN (SELECT namespace, service FROM endpoints_queue ORDER BY namespace, service LIMIT ?) RETURNING namespace, service",
        max,
      )
      .toArray()
      .map((r): [string, string] => [r.namespace, r.service])
      // RETURNING gives no order.
      .sort((a, b) => (a[0] === b[0] ? compare(a[1], b[1]) : compare(a[0], b[0])));
    for (const [ns, svc] of rows) this.marked.delete(markKey(ns, svc));
    this.queued = rows.length < max ? 0 : Math.max(0, this.queued - rows.length);
    return rows;
  }
}

const markKey = (namespace: string, service: string): string => `${namespace}/${service}`;

/** The queue's key order (SQLite's BINARY collation) for names that are DNS labels (ASCII). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
