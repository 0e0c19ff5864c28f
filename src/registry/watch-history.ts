// The watch history: every committed change, kept in the Durable Object's SQLite
// for a compaction window, as etcd keeps revisions until the apiserver compacts
// them. A watch resumes from any resourceVersion inside the window, also after the
// object restarted; older resumes get 410 Expired. Nothing of it is held in memory
// but three counters, so the window costs no heap whatever the objects' size.
import type { KubeObject } from "../api/types";

/** Events kept at most (the apiserver's watch cache holds fewer per resource). */
export const WATCH_WINDOW_EVENTS = 10_000;
/** Bytes of JSON kept at most (each event counts its object and, for a change, the object before it). */
export const WATCH_WINDOW_BYTES = 32 * 1024 * 1024;
/** Age after which events are compacted: kube-apiserver compacts etcd every 5 minutes (--etcd-compaction-interval). */
export const WATCH_WINDOW_MAX_AGE_MS = 5 * 60_000;
/** A replay reads at most this many rows, and this many bytes (or one row), per page: its memory is bounded. */
/**
 * A compaction cuts this much further than the bound it crossed (a tenth of the events, the bytes
 * and the age), so that it runs once per a thousand or so writes, not on every write past the bound.
 */
const COMPACTION_SLACK = 0.1;
const REPLAY_PAGE_ROWS = 200;
const REPLAY_PAGE_BYTES = 4 * 1024 * 1024;

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** An object's place in list order. */
export interface ObjectKey {
  namespace: string;
  name: string;
}

export interface ChangeEvent {
  rv: number;
  resource: string;
  type: ChangeType;
  object: KubeObject;
  old?: KubeObject;
}

interface Row {
  rv: number;
  resource: string;
  type: string;
  object: string;
  old: string | null;
  [key: string]: SqlStorageValue;
}

export class WatchHistory {
  private events = 0;
  private bytes = 0;
  /** Resume points below this are gone from the window. */
  private compacted: number;
  /** When the oldest event was written (Infinity when there is none). */
  private firstAt: number;

  constructor(
    private readonly sql: SqlStorage,
    currentRv: number,
    private readonly now: () => number = Date.now,
  ) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS watch_history (rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, object TEXT NOT NULL, old TEXT, bytes INTEGER NOT NULL, at INTEGER NOT NULL)",
    );
    sql.exec("CREATE TABLE IF NOT EXISTS watch_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS watch_history_key ON watch_history (resource, namespace, name, rv)");
    // The sizes and times alone: a row's `bytes` and `at` come after its JSON, which spills into overflow pages,
    // so reading them from the table would read every event whole. Compaction and the totals read this index.
    sql.exec("CREATE INDEX IF NOT EXISTS watch_history_sizes ON watch_history (rv, bytes, at)");
    const totals = sql.exec<{ n: number; b: number | null }>("SELECT count(*) AS n, sum(bytes) AS b FROM watch_history INDEXED BY watch_history_sizes").one();
    this.events = totals.n;
    this.bytes = totals.b ?? 0;
    const saved = sql.exec<{ value: number }>("SELECT value FROM watch_meta WHERE key = 'compacted'").toArray()[0]?.value;
    // A store written before the history existed has no events to replay: resumes start at the current version.
    this.compacted = saved ?? (this.events === 0 ? currentRv : 0);
    this.firstAt = this.oldestAt();
  }

  /** Records a committed change; `json` is the object's stored form when the caller has it. */
  append(ev: ChangeEvent, json = JSON.stringify(ev.object)): void {
    const old = ev.old ? JSON.stringify(ev.old) : null;
    const bytes = json.length + (old?.length ?? 0);
    const meta = ev.object.metadata;
    this.sql.exec(
      "INSERT INTO watch_history (rv, resource, namespace, name, type, object, old, bytes, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ev.rv,
      ev.resource,
      meta.namespace ?? "",
      meta.name ?? "",
      ev.type,
      json,
      old,
      bytes,
      this.now(),
    );
    if (this.events === 0) this.firstAt = this.now();
    this.events += 1;
    this.bytes += bytes;
    this.compact();
  }

  /** True when a watch can resume after `rv`: every event after it is still here. */
  canResume(rv: number): boolean {
    return rv >= this.compacted;
  }

  get oldestResumableRv(): number {
    return this.compacted;
  }

  get window(): { events: number; bytes: number } {
    return { events: this.events, bytes: this.bytes };
  }

  /** Events with after < rv <= upTo, oldest first, read a page at a time. */
  *replay(after: number, upTo: number): IterableIterator<ChangeEvent> {
    let from = after;
    for (;;) {
      const sizes = this.sql
        .exec<{ rv: number; bytes: number }>(
          "SELECT rv, bytes FROM watch_history INDEXED BY watch_history_sizes WHERE rv > ? AND rv <= ? ORDER BY rv LIMIT ?",
          from,
          upTo,
          REPLAY_PAGE_ROWS,
        )
        .toArray();
      if (sizes.length === 0) return;
      let last = sizes[0]!.rv;
      for (let i = 1, total = sizes[0]!.bytes; i < sizes.length && (total += sizes[i]!.bytes) <= REPLAY_PAGE_BYTES; i++) last = sizes[i]!.rv;
      const rows = this.sql.exec<Row>("SELECT rv, resource, type, object, old FROM watch_history WHERE rv > ? AND rv <= ? ORDER BY rv", from, last).toArray();
      for (const row of rows) {
        const ev: ChangeEvent = { rv: row.rv, resource: row.resource, type: row.type as ChangeType, object: JSON.parse(row.object) as KubeObject };
        if (row.old !== null) ev.old = JSON.parse(row.old) as KubeObject;
        yield ev;
      }
      if (last === sizes[sizes.length - 1]!.rv && sizes.length < REPLAY_PAGE_ROWS) return;
      from = last;
    }
  }

  /**
   * What the keys of `resource` with after < key <= upTo (namespace, then name; upTo
   * undefined: no bound) that changed after `rv` looked like at `rv`, in key order: the
   * state before the first change after it (null: the key did not exist then).
   * Meaningful only while canResume(rv).
   */
  statesAt(resource: string, rv: number, namespace: string | undefined, after: ObjectKey, upTo?: ObjectKey): { key: ObjectKey; state: KubeObject | null }[] {
    const rows = this.sql
      .exec<{ namespace: string; name: string; type: string; object: string; old: string | null }>(
        `SELECT namespace, name, type, object, old, min(rv) AS first FROM watch_history
         WHERE resource = ?1 AND rv > ?2 AND (namespace > ?3 OR (namespace = ?3 AND name > ?4))
           AND (?5 IS NULL OR namespace < ?5 OR (namespace = ?5 AND name <= ?6)) AND (?7 IS NULL OR namespace = ?7)
         GROUP BY namespace, name ORDER BY namespace, name`,
        resource,
        rv,
        after.namespace,
        after.name,
        upTo?.namespace ?? null,
        upTo?.name ?? null,
        namespace ?? null,
      )
      .toArray();
    return rows.map((row) => {
      const state = row.type === "ADDED" ? null : row.type === "DELETED" ? row.object : row.old;
      return { key: { namespace: row.namespace, name: row.name }, state: state === null ? null : (JSON.parse(state) as KubeObject) };
    });
  }

  /** Once the window is over a bound (count, bytes or age), drops the oldest events until it is a slack below all three. */
  private compact(): void {
    const now = this.now();
    if (!(this.events > 1 && (this.events > WATCH_WINDOW_EVENTS || this.bytes > WATCH_WINDOW_BYTES || this.firstAt < now - WATCH_WINDOW_MAX_AGE_MS))) return;
    const keep = 1 - COMPACTION_SLACK;
    const oldestKept = now - keep * WATCH_WINDOW_MAX_AGE_MS;
    const over = (events: number, bytes: number, at: number) =>
      events > 1 && (events > keep * WATCH_WINDOW_EVENTS || bytes > keep * WATCH_WINDOW_BYTES || at < oldestKept);
    let cut: number | undefined;
    let events = this.events;
    let bytes = this.bytes;
    scan: for (;;) {
      const rows = this.sql
        .exec<{ rv: number; bytes: number; at: number }>(
          "SELECT rv, bytes, at FROM watch_history INDEXED BY watch_history_sizes WHERE rv > ? ORDER BY rv LIMIT 100",
          cut ?? -1,
        )
        .toArray();
      for (const row of rows) {
        if (!over(events, bytes, row.at)) break scan;
        cut = row.rv;
        events -= 1;
        bytes -= row.bytes;
      }
      if (rows.length < 100) break;
    }
    if (cut === undefined) return;
    this.sql.exec("DELETE FROM watch_history WHERE rv <= ?", cut);
    this.sql.exec("INSERT OR REPLACE INTO watch_meta (key, value) VALUES ('compacted', ?)", cut);
    this.events = events;
    this.bytes = bytes;
    this.compacted = cut;
    this.firstAt = this.oldestAt();
  }

  private oldestAt(): number {
    return this.sql.exec<{ at: number }>("SELECT at FROM watch_history INDEXED BY watch_history_sizes ORDER BY rv LIMIT 1").toArray()[0]?.at ?? Infinity;
  }
}
