// Loopback HTTP for the registry benchmark: node:http with keep-alive (lighter than fetch
// on a 2-core machine shared with workerd), an explicit Host header for gateway requests,
// and a timeout on every request so that no wait is unbounded.
import http from "node:http";

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpRequest {
  method?: string;
  /** Path and query. */
  path: string;
  /** Host header; defaults to the base URL's. */
  host?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const STREAM_IDLE_MS = 60_000;

export class HttpTarget {
  private readonly url: URL;
  private readonly agent: http.Agent;

  /** `sockets` bounds the connections kept open to the target (the in-flight bound of a load loop). */
  constructor(baseUrl: string, sockets: number) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  request(req: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers };
      if (req.host) headers.host = req.host;
      if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
      const r = http.request(
        {
          hostname: this.url.hostname,
          port: this.url.port,
          method: req.method ?? "GET",
          path: req.path,
          headers,
          agent: this.agent,
          timeout: req.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on("error", reject);
        },
      );
      r.on("timeout", () => r.destroy(new Error(`${req.method ?? "GET"} ${req.path}: no answer in ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)));
      r.on("error", reject);
      r.end(req.body);
    });
  }

  /**
   * A streaming GET on its own connection: `onData` gets each chunk with the time it
   * arrived. Resolves with the status once headers are in; `close()` ends it.
   */
  stream(
    path: string,
    headers: Record<string, string>,
    onData: (chunk: Buffer, at: number) => void,
  ): Promise<{ status: number; close(): void; ended: Promise<void> }> {
    return new Promise((resolve, reject) => {
      // Idle bound: a live watch carries events or a bookmark every 15 s.
      const r = http.request(
        { hostname: this.url.hostname, port: this.url.port, method: "GET", path, headers, agent: false, timeout: STREAM_IDLE_MS },
        (res) => {
          const ended = new Promise<void>((done) => {
            res.on("end", done);
            res.on("close", done);
            res.on("error", () => done());
          });
          res.on("data", (c: Buffer) => onData(c, performance.now()));
          resolve({ status: res.statusCode ?? 0, close: () => r.destroy(), ended });
        },
      );
      r.on("timeout", () => r.destroy(new Error(`GET ${path}: idle for ${STREAM_IDLE_MS} ms`)));
      r.on("error", reject);
      r.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
