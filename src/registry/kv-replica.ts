// Replicates what the edge reads to Workers KV: route records, node-token hashes
// and the host filter (objects stay in the Durable Object). KV allows one write
// per key per second, so writes are coalesced: changes mark a key dirty (persisted in
// the Durable Object's SQLite, so an eviction loses nothing), and an alarm flushes
// the latest value of every dirty key at most once a second.

/** KV: at most one write per second to the same key. */
export const KV_MIN_WRITE_INTERVAL_MS = 1000;
/** Bounded work per alarm: KV allows 1,000 operations per Worker invocation; keep half for headroom. */
export const KV_WRITES_PER_FLUSH = 500;

export class KvReplica {
  private readonly dirty = new Map<string, string | null>();
  private lastFlush = 0;
  /** Writes and deletes issued to KV since this object was created (for benchmarks and tests). */
  writes = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS kv_pending (key TEXT PRIMARY KEY, value TEXT)");
    sql.exec("CREATE TABLE IF NOT EXISTS kv_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    // Persisted, so that a restart right after a flush cannot write a key twice within a second.
    this.lastFlush = sql.exec<{ value: number }>("SELECT value FROM kv_meta WHERE key = 'last_flush'").toArray()[0]?.value ?? 0;
    for (const row of sql.exec<{ key: string; value: string | null }>("SELECT key, value FROM kv_pending")) this.dirty.set(row.key, row.value);
  }

  /** Records the value a key must end up with; `null` deletes it. */
  set(key: string, value: string | null): void {
    this.dirty.set(key, value);
    this.sql.exec("INSERT OR REPLACE INTO kv_pending (key, value) VALUES (?, ?)", key, value);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** When the next flush may run, or undefined when nothing is dirty. */
  nextFlushAt(now: number): number | undefined {
    if (this.dirty.size === 0) return undefined;
    return Math.max(now, this.lastFlush + KV_MIN_WRITE_INTERVAL_MS);
  }

  /** The oldest dirty keys first (a Map keeps insertion order), at most KV_WRITES_PER_FLUSH. */
  private nextBatch(): [string, string | null][] {
    const batch: [string, string | null][] = [];
    for (const entry of this.dirty) {
      if (batch.length >= KV_WRITES_PER_FLUSH) break;
      batch.push(entry);
    }
    return batch;
  }

  async flush(kv: KVNamespace, now: number): Promise<void> {
    if (now < this.lastFlush + KV_MIN_WRITE_INTERVAL_MS) return;
    this.lastFlush = now;
    this.sql.exec("INSERT OR REPLACE INTO kv_meta (key, value) VALUES ('last_flush', ?)", now);
    const batch = this.nextBatch();
    await Promise.all(batch.map(([key, value]) => (value === null ? kv.delete(key) : kv.put(key, value))));
    this.writes += batch.length;
    for (const [key, value] of batch) {
      // A newer value may have arrived while the batch was in flight; keep it dirty then.
      if (this.dirty.get(key) === value) {
        this.dirty.delete(key);
        this.sql.exec("DELETE FROM kv_pending WHERE key = ?", key);
      }
    }
  }
}
