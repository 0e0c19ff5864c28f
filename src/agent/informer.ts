// List then watch one resource, keeping a local copy (client-go's reflector + store).
// A broken watch resumes from the last resourceVersion seen (events or bookmarks);
// 410 Expired means the window has moved past it, so the informer lists again and
// reports the difference as changes. Every change reaches `onChange`.
import type { KubeObject, Status, WatchEvent } from "../api/types";
import { ApiError, type ApiClient } from "./api-client";
import { Backoff, sleep, type BackoffOptions } from "./backoff";
import { silentLogger, type Logger } from "./log";

/** The registry sends a bookmark every 15 s; four missed ones mean the stream is dead. */
export const WATCH_IDLE_TIMEOUT_MS = 60_000;
/** A watch that lived this long was healthy: the next failure starts the backoff over. */
const HEALTHY_WATCH_MS = 5_000;
/** client-go asks for watches of 5–10 minutes so that reconnects spread out. */
const MIN_WATCH_TIMEOUT_SECONDS = 300;
/**
 * Objects per list request (`limit`, then `continue`): one 10,000-object list is a body of
 * many MB parsed at once, and the heap V8 grows for it stays with the process.
 */
export const LIST_PAGE_SIZE = 500;

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface Change<T> {
  type: ChangeType;
  key: string;
  object: T;
  old?: T;
}

export interface InformerOptions<T> {
  client: ApiClient;
  /** Collection path, with selectors in its query if any. */
  path: string;
  /** Short name for logs and metrics ("services"). */
  resource: string;
  onChange?: (change: Change<T>) => void;
  /**
   * Keeps only what the consumers read, for every object before it is stored (listed or
   * watched): the store then holds no managedFields or other fields nobody uses.
   */
  trim?: (obj: T) => T;
  /** Objects per list page; LIST_PAGE_SIZE unless given. */
  pageSize?: number;
  onReconnect?: (resource: string, reason: string) => void;
  log?: Logger;
  backoff?: BackoffOptions;
  idleTimeoutMs?: number;
  random?: () => number;
}

export const objectKey = (obj: KubeObject): string => (obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata.name ?? ""));

export class Informer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  private rv = "";
  private lists = 0;
  private readonly stopper = new AbortController();
  private watchAbort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly opts: InformerOptions<T>;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff);
    this.log = (opts.log ?? silentLogger).with({ component: "informer", resource: opts.resource });
  }

  get resourceVersion(): string {
    return this.rv;
  }

  /** How many times the informer has listed (1 after start; more after 410s). */
  get listCount(): number {
    return this.lists;
  }

  /** Lists once (rejecting if that fails), then watches in the background. */
  async start(): Promise<void> {
    await this.relist();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.watchAbort?.abort();
    await this.loop;
  }

  /** The list path with `limit` (and the `continue` token of the previous page). */
  private pagePath(continueToken: string | undefined): string {
    const { path } = this.opts;
    let query = `limit=${this.opts.pageSize ?? LIST_PAGE_SIZE}`;
    if (continueToken) query += `&continue=${encodeURIComponent(continueToken)}`;
    return `${path}${path.includes("?") ? "&" : "?"}${query}`;
  }

  /**
   * Lists page by page, storing each page as it comes; objects no page held are deleted at
   * the end. A failed page fails the relist (the store then holds older versions of the
   * remaining objects, never a deletion that did not happen).
   */
  private async relist(): Promise<void> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let rv: string | undefined;
    do {
      const list = await this.opts.client.list<T>(this.pagePath(continueToken));
      // Every page of one list reports the resourceVersion of its first.
      rv ??= list.metadata.resourceVersion;
      const next = list.metadata.continue || undefined;
      // A server handing back the same token would page forever.
      if (next !== undefined && next === continueToken) throw new Error(`${this.opts.resource}: list paging did not advance`);
      continueToken = next;
      for (const item of list.items) {
        const obj = this.trimmed(item);
        const key = objectKey(obj);
        seen.add(key);
        const old = this.store.get(key);
        this.store.set(key, obj);
        if (!old) this.emit({ type: "ADDED", key, object: obj });
        else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit({ type: "MODIFIED", key, object: obj, old });
      }
    } while (continueToken);
    this.lists++;
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.emit({ type: "DELETED", key, object: old });
    }
    this.rv = rv ?? "0";
  }

  private trimmed(obj: T): T {
    return this.opts.trim ? this.opts.trim(obj) : obj;
  }

  private emit(change: Change<T>): void {
    try {
      this.opts.onChange?.(change);
    } catch (e) {
      this.log.error("change handler failed", { key: change.key, error: e });
    }
  }

  private apply(ev: WatchEvent<T | Status>): void {
    const obj = ev.type === "BOOKMARK" ? (ev.object as T) : this.trimmed(ev.object as T);
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === "BOOKMARK") {
      if (rv) this.rv = rv;
      return;
    }
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (ev.type === "DELETED") {
      this.store.delete(key);
      if (old) this.emit({ type: "DELETED", key, object: obj });
    } else {
      this.store.set(key, obj);
      this.emit(old ? { type: "MODIFIED", key, object: obj, old } : { type: "ADDED", key, object: obj });
    }
    if (rv) this.rv = rv;
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    let needList = false;
    const random = this.opts.random ?? Math.random;
    while (!signal.aborted) {
      if (needList) {
        try {
          await this.relist();
          needList = false;
          this.log.info("relisted", { resourceVersion: this.rv });
        } catch (e) {
          if (signal.aborted) return;
          this.log.warn("list failed", { error: e });
          await sleep(this.backoff.next(), signal);
          continue;
        }
      }
      const started = Date.now();
      const reason = await this.watchOnce(Math.round(MIN_WATCH_TIMEOUT_SECONDS * (1 + random())));
      if (signal.aborted) return;
      if (reason === "expired") needList = true;
      this.opts.onReconnect?.(this.opts.resource, reason);
      this.log.info("watch ended; reconnecting", { reason, resourceVersion: this.rv });
      if (Date.now() - started >= HEALTHY_WATCH_MS) this.backoff.reset();
      // A 410 relists at once: waiting would only widen the gap.
      if (reason !== "expired" && reason !== "closed") await sleep(this.backoff.next(), signal);
      else if (reason === "closed" && Date.now() - started < HEALTHY_WATCH_MS) await sleep(this.backoff.next(), signal);
    }
  }

  /** One watch from the current resourceVersion; says why it ended. */
  private async watchOnce(timeoutSeconds: number): Promise<"closed" | "expired" | "idle" | "error"> {
    const abort = new AbortController();
    this.watchAbort = abort;
    const onStop = () => abort.abort();
    this.stopper.signal.addEventListener("abort", onStop, { once: true });
    let idle = false;
    const idleMs = this.opts.idleTimeoutMs ?? WATCH_IDLE_TIMEOUT_MS;
    let timer = setTimeout(() => ((idle = true), abort.abort()), idleMs);
    try {
      for await (const ev of this.opts.client.watch<T>(this.opts.path, this.rv, abort.signal, timeoutSeconds)) {
        clearTimeout(timer);
        timer = setTimeout(() => ((idle = true), abort.abort()), idleMs);
        if (ev.type === "ERROR") {
          const status = ev.object as Status;
          if (status.code === 410) return "expired";
          this.log.warn("watch error event", { code: status.code, message: status.message });
          return "error";
        }
        this.apply(ev);
      }
      return idle ? "idle" : "closed";
    } catch (e) {
      if (idle) return "idle";
      if (e instanceof ApiError && e.code === 410) return "expired";
      if (!this.stopper.signal.aborted) this.log.warn("watch failed", { error: e });
      return "error";
    } finally {
      clearTimeout(timer);
      this.stopper.signal.removeEventListener("abort", onStop);
    }
  }
}
