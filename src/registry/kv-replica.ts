// Replicates what the edge reads to Workers KV: route records, node-token hashes
// and the host filter (objects stay in the Durable Object). KV allows one write
// per key per second, so writes are coalesced: changes mark a key dirty (persisted in
// the Durable Object's SQLite, so an eviction loses nothing), and an alarm flushes
// the latest value of every dirty key at most once a second.

/** KV: at most one write per second to the same key. The default flush interval; only tests shorten it (KV_WRITE_INTERVAL_MS). */
export const KV_MIN_WRITE_INTERVAL_MS = 1000;
/** Bounded work per alarm: KV allows 1,000 operations per Worker invocation; keep half for headroom. */
export const KV_WRITES_PER_FLUSH = 500;

/**
 * The keys waiting for KV live only in SQLite (kv_pending): a burst that changes the
 * route records of thousands of hosts holds none of their values in memory.
 */
export class KvReplica {
  private pendingKeys: number;
  /** Order of first change, so that the flush takes the oldest dirty keys first. */
  private seq: number;
  private lastFlush = 0;
  /** Writes and deletes issued to KV since this object was created (for benchmarks and tests). */
  writes = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** The time between flushes; never under KV_MIN_WRITE_INTERVAL_MS in production. */
    private readonly intervalMs = KV_MIN_WRITE_INTERVAL_MS,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS kv_pending (key TEXT PRIMARY KEY, value TEXT)");
    if (
      !sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('kv_pending')")
        .toArray()
        .some((c) => c.name === "seq")
    )
      sql.exec("ALTER TABLE kv_pending ADD COLUMN seq INTEGER NOT NULL DEFAULT 0");
    sql.exec("CREATE INDEX IF NOT EXISTS kv_pending_seq ON kv_pending (seq)");
    sql.exec("CREATE TABLE IF NOT EXISTS kv_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    // Persisted, so that a restart right after a flush cannot write a key twice within a second.
    this.lastFlush = sql.exec<{ value: number }>("SELECT value FROM kv_meta WHERE key = 'last_flush'").toArray()[0]?.value ?? 0;
    const totals = sql.exec<{ n: number; top: number | null }>("SELECT count(*) AS n, max(seq) AS top FROM kv_pending").one();
    this.pendingKeys = totals.n;
    this.seq = totals.top ?? 0;
  }

  /** Records the value a key must end up with; `null` deletes it. */
  set(key: string, value: string | null): void {
    // One statement: a key already pending keeps its place (seq) and takes the new value.
    const seq = this.seq + 1;
    const kept = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO kv_pending (key, value, seq) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value RETURNING seq",
        key,
        value,
        seq,
      )
      .one().seq;
    if (kept !== seq) return;
    this.seq = seq;
    this.pendingKeys += 1;
  }

  get pending(): number {
    return this.pendingKeys;
  }

  /** When the next flush may run, or undefined when nothing is dirty. */
  nextFlushAt(now: number): number | undefined {
    if (this.pendingKeys === 0) return undefined;
    return Math.max(now, this.lastFlush + this.intervalMs);
  }

  async flush(kv: KVNamespace, now: number): Promise<void> {
    if (now < this.lastFlush + this.intervalMs) return;
    this.lastFlush = now;
    this.sql.exec("INSERT OR REPLACE INTO kv_meta (key, value) VALUES ('last_flush', ?)", now);
    const batch = this.sql.exec<{ key: string; value: string | null }>("SELECT key, value FROM kv_pending ORDER BY seq LIMIT ?", KV_WRITES_PER_FLUSH).toArray();
    await Promise.all(batch.map(({ key, value }) => (value === null ? kv.delete(key) : kv.put(key, value))));
    this.writes += batch.length;
    for (const { key, value } of batch) {
      // A newer value may have arrived while the batch was in flight; keep it dirty then.
      const done = this.sql.exec("DELETE FROM kv_pending WHERE key = ? AND value IS ?", key, value).rowsWritten;
      this.pendingKeys -= done > 0 ? 1 : 0;
    }
  }
}
