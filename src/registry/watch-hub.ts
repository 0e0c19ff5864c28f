// Watch: a window of recent change events, and the streams of live watchers.
// Semantics follow the apiserver's watch cache: resume from a resourceVersion in
// the window replays what came after it; older than the window is 410 Expired; no
// resourceVersion (or "0") starts with synthetic ADDED events for current objects.
// A filtered watch sees an object that stops matching as DELETED and one that
// starts matching as ADDED.
import type { KubeObject, WatchEvent, WatchEventType } from "../api/types";

/** Events kept for resuming watches. Older resumes get 410 Gone and must relist. */
export const WATCH_WINDOW_EVENTS = 10_000;
/** How often a watcher that asked for bookmarks gets one. */
export const BOOKMARK_INTERVAL_MS = 15_000;
/** Default and upper bound of a watch's lifetime, as the apiserver's --min-request-timeout (1800 s). */
export const MAX_WATCH_SECONDS = 1800;
/** Buffered bytes after which a slow watcher is dropped (it will reconnect and resume). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface ChangeEvent {
  rv: number;
  resource: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  old?: KubeObject;
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
  closed: boolean;
  timers: ReturnType<typeof setTimeout>[];
  bookmarkKind?: { apiVersion: string; kind: string };
}

const encoder = new TextEncoder();

export class WatchHub {
  private readonly events: ChangeEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  /** Resume points at or below this are gone from the window. */
  private compactedRv: number;

  constructor(private currentRv: () => number) {
    this.compactedRv = currentRv();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  publish(resource: string, type: ChangeEvent["type"], object: KubeObject, old?: KubeObject): void {
    const ev: ChangeEvent = { rv: Number(object.metadata.resourceVersion), resource, type, object };
    if (old) ev.old = old;
    this.events.push(ev);
    if (this.events.length > WATCH_WINDOW_EVENTS) {
      const dropped = this.events.splice(0, this.events.length - WATCH_WINDOW_EVENTS);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) this.deliver(w, ev);
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
    for (const obj of opts.initial ?? []) this.send(w, { type: "ADDED", object: obj });
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

  private send(w: Watcher, ev: WatchEvent): void {
    if (w.closed) return;
    const bytes = encoder.encode(JSON.stringify(ev) + "\n");
    w.buffered += bytes.byteLength;
    if (w.buffered > MAX_BUFFERED_BYTES) return this.close(w);
    w.writer.write(bytes).then(
      () => {
        w.buffered -= bytes.byteLength;
      },
      () => this.close(w),
    );
  }

  private close(w: Watcher): void {
    if (w.closed) return;
    w.closed = true;
    for (const t of w.timers) clearTimeout(t);
    this.watchers.delete(w);
    w.writer.close().catch(() => {});
  }
}
