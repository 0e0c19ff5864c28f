// Watch: the streams of live watchers, fed from the watch history (SQLite) and
// from each commit. Semantics follow the apiserver's watch cache: resume from a
// resourceVersion in the window replays what came after it; older than the window
// is 410 Expired; no resourceVersion (or "0") starts with synthetic ADDED events for
// current objects. A filtered watch sees an object that stops matching as DELETED
// and one that starts matching as ADDED. What a watch catches up on (the initial
// list, or the replay) is written as the client reads it, with live events queued
// behind it in order, so neither a large list nor a long replay is held in memory.
import type { KubeObject, Status, WatchEvent, WatchEventType } from "../api/types";
import { SnapshotExpired } from "./snapshot";
import type { ChangeEvent, WatchHistory } from "./watch-history";

/** How often a watcher that asked for bookmarks gets one. */
export const BOOKMARK_INTERVAL_MS = 15_000;
/** Default and upper bound of a watch's lifetime, as the apiserver's --min-request-timeout (1800 s). */
export const MAX_WATCH_SECONDS = 1800;
/**
 * How often an idle watch checks that its client is still there. A stream learns that
 * its reader went away (across the RPC to the Worker, and any proxy in front of it) only
 * when bytes are written, so the probe is a blank line: watch clients skip it (client-go's
 * JSON decoder skips whitespace, the Python client empty lines, client-node unparsable
 * lines). An empty chunk is not enough: it puts nothing on the wire, and wrangler dev's
 * proxy never notices the client is gone.
 */
export const GONE_CLIENT_PROBE_MS = 2_000;
/** Buffered bytes after which a slow watcher is dropped with an ERROR event (it relists or resumes). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface WatchFilter {
  resource: string;
  namespace?: string;
  matches(obj: KubeObject): boolean;
}

interface Watcher {
  filter: WatchFilter;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes handed to the stream and not yet taken by the client, plus the backlog's. */
  buffered: number;
  /** Live events held back while the watch is still catching up. */
  backlog?: WatchEvent[];
  closed: boolean;
  timers: (ReturnType<typeof setTimeout> | ReturnType<typeof setInterval>)[];
  bookmarkKind?: { apiVersion: string; kind: string };
}

const encoder = new TextEncoder();
const PROBE = encoder.encode("\n");
const encode = (ev: WatchEvent): Uint8Array => encoder.encode(`${JSON.stringify(ev)}\n`);

/** What a watch that cannot go on gets last: client-go resumes or relists on a 410 ERROR event. */
const expired = (message: string): WatchEvent => ({
  type: "ERROR",
  object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: "Expired", code: 410 } satisfies Status,
});
const TOO_SLOW = expired("the watch fell too far behind and was closed; resume from the last resourceVersion or relist");
const COMPACTED = expired("the watch history was compacted while this watch caught up; relist");

export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly history: WatchHistory,
    private readonly currentRv: () => number,
    private readonly bookmarkIntervalMs = BOOKMARK_INTERVAL_MS,
  ) {}

  /** Open watch streams: a stream leaves this set as soon as its client goes away. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Records a committed change and sends it to the watchers it concerns; `json`: the object's stored form. */
  publish(resource: string, type: ChangeEvent["type"], object: KubeObject, old?: KubeObject, json?: string): void {
    const ev: ChangeEvent = { rv: Number(object.metadata.resourceVersion), resource, type, object };
    if (old) ev.old = old;
    this.history.append(ev, json);
    for (const w of this.watchers) {
      const out = eventFor(w.filter, ev);
      if (out) this.send(w, out);
    }
  }

  canResume(rv: number): boolean {
    return this.history.canResume(rv);
  }

  get oldestResumableRv(): number {
    return this.history.oldestResumableRv;
  }

  get window(): { events: number; bytes: number } {
    return this.history.window;
  }

  /**
   * Opens a watch stream. `initial` are the objects to announce as ADDED first
   * (a watch without a resourceVersion); otherwise events after `fromRv` replay.
   */
  open(
    filter: WatchFilter,
    opts: { fromRv?: number; initial?: Iterable<KubeObject>; timeoutSeconds?: number; bookmarks?: { apiVersion: string; kind: string } },
  ): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const w: Watcher = { filter, writer: writable.getWriter(), buffered: 0, closed: false, timers: [], backlog: [] };
    if (opts.bookmarks) w.bookmarkKind = opts.bookmarks;
    // A client that goes away cancels the stream: release the watch at once.
    w.writer.closed.catch(() => this.close(w));
    this.watchers.add(w);
    const catchUp = opts.initial ? added(opts.initial) : this.replay(filter, opts.fromRv ?? this.currentRv(), this.currentRv());
    void this.catchUp(w, catchUp);
    const seconds = Math.min(opts.timeoutSeconds && opts.timeoutSeconds > 0 ? opts.timeoutSeconds : MAX_WATCH_SECONDS, MAX_WATCH_SECONDS);
    w.timers.push(setTimeout(() => this.close(w), seconds * 1000));
    w.timers.push(setInterval(() => this.probe(w), GONE_CLIENT_PROBE_MS));
    if (w.bookmarkKind) w.timers.push(setInterval(() => this.bookmark(w), this.bookmarkIntervalMs));
    return readable;
  }

  private bookmark(w: Watcher): void {
    const kind = w.bookmarkKind!;
    this.send(w, { type: "BOOKMARK", object: { ...kind, metadata: { resourceVersion: String(this.currentRv()) } } });
  }

  /** The history after `fromRv` as this filter sees it; stops with SnapshotExpired if the window moves past it meanwhile. */
  private *replay(filter: WatchFilter, fromRv: number, upTo: number): IterableIterator<WatchEvent> {
    for (const ev of this.history.replay(fromRv, upTo)) {
      const out = eventFor(filter, ev);
      if (out) yield out;
      if (!this.history.canResume(ev.rv)) throw new SnapshotExpired();
    }
  }

  /** Writes what the watch catches up on as fast as the client reads it, then the live events that waited. */
  private async catchUp(w: Watcher, events: Iterable<WatchEvent>): Promise<void> {
    try {
      for (const ev of events) {
        await w.writer.ready;
        if (w.closed) return;
        w.writer.write(encode(ev)).catch(() => this.close(w));
      }
    } catch (e) {
      return this.close(w, e instanceof SnapshotExpired ? COMPACTED : undefined);
    }
    const backlog = w.backlog ?? [];
    w.backlog = undefined;
    w.buffered = 0;
    for (const ev of backlog) this.send(w, ev);
  }

  private send(w: Watcher, ev: WatchEvent): void {
    if (w.closed) return;
    const bytes = encode(ev);
    w.buffered += bytes.byteLength;
    if (w.buffered > MAX_BUFFERED_BYTES) return this.close(w, TOO_SLOW);
    if (w.backlog) {
      w.backlog.push(ev);
      return;
    }
    w.writer.write(bytes).then(
      () => {
        w.buffered -= bytes.byteLength;
      },
      () => this.close(w),
    );
  }

  private probe(w: Watcher): void {
    if (w.closed || w.backlog || w.buffered > 0) return;
    w.writer.write(PROBE).catch(() => this.close(w));
  }

  /** Ends a watch; `error` is sent last, so that the client knows to resume or relist instead of seeing a silent end. */
  private close(w: Watcher, error?: WatchEvent): void {
    if (w.closed) return;
    w.closed = true;
    for (const t of w.timers) {
      clearTimeout(t as ReturnType<typeof setTimeout>);
      clearInterval(t as ReturnType<typeof setInterval>);
    }
    this.watchers.delete(w);
    if (error) w.writer.write(encode(error)).catch(() => {});
    w.writer.close().catch(() => {});
  }
}

function* added(objects: Iterable<KubeObject>): IterableIterator<WatchEvent> {
  for (const object of objects) yield { type: "ADDED", object };
}

/** The event a watch with this filter sees for a change, if any (selector enter/leave as ADDED/DELETED). */
function eventFor(f: WatchFilter, ev: ChangeEvent): WatchEvent | undefined {
  if (ev.resource !== f.resource) return undefined;
  if (f.namespace !== undefined && (ev.object.metadata.namespace ?? "") !== f.namespace) return undefined;
  const now = ev.type !== "DELETED" && f.matches(ev.object);
  const before = ev.type === "DELETED" ? f.matches(ev.object) : ev.old !== undefined && f.matches(ev.old);
  let type: WatchEventType | undefined;
  if (ev.type === "ADDED") type = now ? "ADDED" : undefined;
  else if (ev.type === "DELETED") type = before ? "DELETED" : undefined;
  else type = now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : undefined;
  return type ? { type, object: ev.object } : undefined;
}
