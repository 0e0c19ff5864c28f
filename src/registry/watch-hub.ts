// Watch: a window of recent change events, and the streams of live watchers.
// Semantics follow the apiserver's watch cache: resume from a resourceVersion in
// the window replays what came after it; older than the window is 410 Expired; no
// resourceVersion (or "0") starts with synthetic ADDED events for current objects.
// A filtered watch sees an object that stops matching as DELETED and one that
// starts matching as ADDED.
import type { KubeObject, WatchEvent, WatchEventType } from "../api/types";

/** Events kept for resuming watches. Older resumes get 410 Gone and must relist. */
export const WATCH_WINDOW_EVENTS = 10_000;
/**
 * The window's bound in bytes of stored JSON (each event counts its object and, for
 * a change, the object before it), so that large objects cannot fill the isolate's
 * 128 MB: whichever bound is reached first compacts the window.
 */
export const WATCH_WINDOW_BYTES = 8 * 1024 * 1024;
/** How often a watcher that asked for bookmarks gets one. */
export const BOOKMARK_INTERVAL_MS = 15_000;
/** Default and upper bound of a watch's lifetime, as the apiserver's --min-request-timeout (1800 s). */
export const MAX_WATCH_SECONDS = 1800;
/** Buffered bytes after which a slow watcher is dropped with an ERROR event (it relists or resumes). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface ChangeEvent {
  rv: number;
  resource: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  old?: KubeObject;
  /** What the event holds, in bytes of JSON, for WATCH_WINDOW_BYTES. */
  bytes: number;
}

export interface WatchFilter {
  resource: string;
  namespace?: string;
  matches(obj: KubeObject): boolean;
}

interface Watcher {
  filter: WatchFilter;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  buffered: number;
  /** Live events held back while the initial ADDED events are still being written. */
  backlog?: WatchEvent[];
  closed: boolean;
  timers: ReturnType<typeof setTimeout>[];
  bookmarkKind?: { apiVersion: string; kind: string };
}

const encoder = new TextEncoder();

/** What a watcher that fell too far behind gets last: client-go relists on a 410 ERROR event. */
const TOO_SLOW: WatchEvent = {
  type: "ERROR",
  object: {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "the watch fell too far behind and was closed; resume from the last resourceVersion or relist",
    reason: "Expired",
    code: 410,
  } as unknown as KubeObject,
};

export class WatchHub {
  private readonly events: ChangeEvent[] = [];
  private windowBytes = 0;
  private readonly watchers = new Set<Watcher>();
  /** Resume points at or below this are gone from the window. */
  private compactedRv: number;

  constructor(private currentRv: () => number) {
    this.compactedRv = currentRv();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** `bytes`: the object's stored size (an estimate is fine; the change's old object counts the same again). */
  publish(resource: string, type: ChangeEvent["type"], object: KubeObject, old?: KubeObject, bytes = JSON.stringify(object).length): void {
    const ev: ChangeEvent = { rv: Number(object.metadata.resourceVersion), resource, type, object, bytes: old ? 2 * bytes : bytes };
    if (old) ev.old = old;
    this.events.push(ev);
    this.windowBytes += ev.bytes;
    let drop = 0;
    for (let held = this.windowBytes; this.events.length - drop > WATCH_WINDOW_EVENTS || (held > WATCH_WINDOW_BYTES && drop < this.events.length - 1); drop++) held -= this.events[drop]!.bytes;
    if (drop > 0) {
      const dropped = this.events.splice(0, drop);
      for (const d of dropped) this.windowBytes -= d.bytes;
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) this.deliver(w, ev);
  }

  /** Events and bytes the window holds (for metrics and tests). */
  get window(): { events: number; bytes: number } {
    return { events: this.events.length, bytes: this.windowBytes };
  }

  /** True when a watch can resume after `rv`. */
  canResume(rv: number): boolean {
    return rv >= this.compactedRv;
  }

  get oldestResumableRv(): number {
    return this.compactedRv;
  }

  /**
   * Opens a watch stream. `initial` are the objects to announce as ADDED first
   * (a watch without a resourceVersion); otherwise events after `fromRv` replay.
   */
  open(filter: WatchFilter, opts: { fromRv?: number; initial?: KubeObject[]; timeoutSeconds?: number; bookmarks?: { apiVersion: string; kind: string } }): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const w: Watcher = { filter, writer: writable.getWriter(), buffered: 0, closed: false, timers: [] };
    if (opts.bookmarks) w.bookmarkKind = opts.bookmarks;
    if (opts.initial?.length) void this.sendInitial(w, opts.initial);
    if (opts.fromRv !== undefined) for (const ev of this.events) if (ev.rv > opts.fromRv) this.deliver(w, ev);
    this.watchers.add(w);
    const seconds = Math.min(opts.timeoutSeconds && opts.timeoutSeconds > 0 ? opts.timeoutSeconds : MAX_WATCH_SECONDS, MAX_WATCH_SECONDS);
    w.timers.push(setTimeout(() => this.close(w), seconds * 1000));
    if (w.bookmarkKind) {
      const tick = (): void => {
        this.bookmark(w);
        if (!w.closed) w.timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
      };
      w.timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
    }
    return readable;
  }

  /** Sends a bookmark to every watcher that asked for them (also used on demand in tests). */
  bookmarkAll(): void {
    for (const w of this.watchers) if (w.bookmarkKind) this.bookmark(w);
  }

  closeAll(): void {
    for (const w of this.watchers) this.close(w);
  }

  private bookmark(w: Watcher): void {
    const kind = w.bookmarkKind!;
    this.send(w, { type: "BOOKMARK", object: { ...kind, metadata: { resourceVersion: String(this.currentRv()) } } });
  }

  private deliver(w: Watcher, ev: ChangeEvent): void {
    const f = w.filter;
    if (ev.resource !== f.resource) return;
    if (f.namespace !== undefined && (ev.object.metadata.namespace ?? "") !== f.namespace) return;
    const now = ev.type !== "DELETED" && f.matches(ev.object);
    const before = ev.type === "DELETED" ? f.matches(ev.object) : ev.old !== undefined && f.matches(ev.old);
    let type: WatchEventType | undefined;
    if (ev.type === "ADDED") type = now ? "ADDED" : undefined;
    else if (ev.type === "DELETED") type = before ? "DELETED" : undefined;
    else type = now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : undefined;
    if (type) this.send(w, { type, object: ev.object });
  }

  /**
   * The initial ADDED events, written as the client reads them (however large the
   * list), while live events wait in the backlog behind them, in order.
   */
  private async sendInitial(w: Watcher, objects: KubeObject[]): Promise<void> {
    w.backlog = [];
    try {
      for (const object of objects) {
        await w.writer.ready;
        if (w.closed) return;
        w.writer.write(encoder.encode(JSON.stringify({ type: "ADDED", object }) + "\n")).catch(() => this.close(w));
      }
    } catch {
      return this.close(w);
    }
    const backlog = w.backlog;
    w.backlog = undefined;
    w.buffered = 0;
    for (const ev of backlog) this.send(w, ev);
  }

  private send(w: Watcher, ev: WatchEvent): void {
    if (w.closed) return;
    const bytes = encoder.encode(JSON.stringify(ev) + "\n");
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

  /** Ends a watch; `error` is sent last, so that the client knows to resume or relist instead of seeing a silent end. */
  private close(w: Watcher, error?: WatchEvent): void {
    if (w.closed) return;
    w.closed = true;
    for (const t of w.timers) clearTimeout(t);
    this.watchers.delete(w);
    if (error) w.writer.write(encoder.encode(JSON.stringify(error) + "\n")).catch(() => {});
    w.writer.close().catch(() => {});
  }
}
