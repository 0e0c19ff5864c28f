// The agent's side of the Kubernetes REST API: JSON requests with the node token, and
// watch streams read as newline-delimited events. Failures are typed so callers can
// tell "the API said no" (ApiError, with the Status code) from "no answer" (ApiUnreachable).
import type { KubeObject, List, Status, WatchEvent } from "../api/types";

/** Per-request limit for ordinary calls; watches have none (bookmarks keep them alive). */
const REQUEST_TIMEOUT_MS = 30_000;

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string | undefined;
  constructor(code: number, reason: string | undefined, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export class ApiUnreachable extends Error {}

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  userAgent?: string;
}

export type PatchType = "merge" | "json";
const PATCH_CONTENT_TYPES: Record<PatchType, string> = { merge: "application/merge-patch+json", json: "application/json-patch+json" };

/** "ECONNREFUSED", "ETIMEDOUT", ... from a failed fetch, for a one-line message. */
function networkCause(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError") return "timed out";
  if (err.name === "AbortError") return "aborted";
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly fetchFn: typeof fetch;
  private readonly userAgent: string;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.token = opts.token;
    this.fetchFn = opts.fetch ?? fetch;
    this.userAgent = opts.userAgent ?? "svcedge-agent";
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    init: { contentType?: string; signal?: AbortSignal; stream?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json", "user-agent": this.userAgent };
    // A compressed watch is buffered by the compressor until it fills a block: events would arrive late.
    if (init.stream) headers["accept-encoding"] = "identity";
    if (body !== undefined) headers["content-type"] = init.contentType ?? "application/json";
    const req: RequestInit = { method, headers, signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (body !== undefined) req.body = JSON.stringify(body);
    try {
      return await this.fetchFn(this.baseUrl + path, req);
    } catch (e) {
      throw new ApiUnreachable(`cannot reach the API at ${this.baseUrl}: ${networkCause(e)}`);
    }
  }

  private async json<T>(res: Response, what: string): Promise<T> {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok && parsed !== undefined) return parsed as T;
    const status = parsed as Partial<Status> | undefined;
    const message = status?.kind === "Status" && status.message ? status.message : `${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, status?.reason, `${what}: ${message}`);
  }

  async request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const init = contentType ? { contentType } : {};
    return this.json<T>(await this.send(method, path, body, init), `${method} ${path}`);
  }

  get<T extends KubeObject>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  list<T extends KubeObject>(path: string): Promise<List<T>> {
    return this.request<List<T>>("GET", path);
  }

  create<T extends KubeObject>(path: string, obj: T): Promise<T> {
    return this.request<T>("POST", path, obj);
  }

  update<T extends KubeObject>(path: string, obj: T): Promise<T> {
    return this.request<T>("PUT", path, obj);
  }

  patch<T extends KubeObject>(path: string, patch: unknown, type: PatchType = "merge"): Promise<T> {
    return this.request<T>("PATCH", path, patch, PATCH_CONTENT_TYPES[type]);
  }

  async delete(path: string): Promise<void> {
    await this.request<unknown>("DELETE", path);
  }

  /**
   * Opens a watch and yields its events until the server ends the stream. Throws
   * ApiError for a refused watch (410 Expired among them) and ApiUnreachable when the
   * connection fails or breaks.
   */
  async *watch<T extends KubeObject>(
    path: string,
    resourceVersion: string,
    signal: AbortSignal,
    timeoutSeconds?: number,
  ): AsyncGenerator<WatchEvent<T | Status>> {
    const url = new URL(path, "http://placeholder");
    url.searchParams.set("watch", "1");
    url.searchParams.set("resourceVersion", resourceVersion);
    url.searchParams.set("allowWatchBookmarks", "true");
    if (timeoutSeconds) url.searchParams.set("timeoutSeconds", String(timeoutSeconds));
    const res = await this.send("GET", url.pathname + url.search, undefined, { signal, stream: true });
    if (!res.ok) await this.json<never>(res, `watch ${path}`);
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal.aborted) return;
          throw new ApiUnreachable(`watch ${path} broke: ${networkCause(e)}`);
        }
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T | Status>;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.code === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiError && e.code === 409 && e.reason === "AlreadyExists";
