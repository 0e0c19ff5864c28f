// Keeps the gateway's host filter (`routes/filter`, src/api/host-filter.ts) in step with
// the set of routable hosts. A rebuild is O(hosts), so a change only marks the filter
// dirty; it is rebuilt right before the KV replica flushes (at most once a second) and
// queued there like any other key. Only a filter that differs from the last one queued
// is written: the hash of that one is kept in SQLite, so the rebuild that every start
// does (a mark may have been lost to an eviction) costs no KV write when nothing changed.
import { contentHash } from "../api/content-hash";
import { buildHostFilter, encodeHostFilter, HOST_FILTER_KEY } from "../api/host-filter";
import type { KvReplica } from "./kv-replica";
import type { RouteHashes } from "./route-hashes";

export class HostFilterReplica {
  /** Dirty from the start: a change marked before an eviction was not queued. */
  private dirty = true;
  private queuedHash: number | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly kv: KvReplica,
    /** The registry's routable hosts. */
    private readonly hosts: RouteHashes,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS host_filter (id INTEGER PRIMARY KEY CHECK (id = 0), hash INTEGER NOT NULL)");
    this.queuedHash = sql.exec<{ hash: number }>("SELECT hash FROM host_filter").toArray()[0]?.hash;
  }

  /** A host was added or removed. */
  hostsChanged(): void {
    this.dirty = true;
  }

  /** Before a flush: queues the filter if the host set changed since the last one was queued. */
  queue(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const count = this.hosts.count;
    const value = encodeHostFilter(buildHostFilter(this.hosts.hosts(), count), count);
    const hash = contentHash(value);
    if (hash === this.queuedHash) return;
    this.queuedHash = hash;
    this.kv.set(HOST_FILTER_KEY, value);
    this.sql.exec("INSERT OR REPLACE INTO host_filter (id, hash) VALUES (0, ?)", hash);
  }
}
