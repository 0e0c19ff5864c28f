// The admin API as the benchmark drives it: JSON bodies, the admin bearer token, and the
// registry's figures from GET /metrics (Prometheus text).
import { HttpTarget, type HttpAnswer } from "./http";
import { readSamples } from "./prometheus-samples";

export interface RegistryFigures {
  resourceVersion: number;
  kvWrites: number;
  kvPending: number;
  watchers: number;
}

export class AdminApi {
  readonly http: HttpTarget;

  constructor(
    readonly url: string,
    private readonly token: string,
    sockets: number,
  ) {
    this.http = new HttpTarget(url, sockets);
  }

  send(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<HttpAnswer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = contentType;
    return this.http.request({ method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  /** Sends and insists on `expected`; a failure names the request and the server's message in one line. */
  async must<T = unknown>(method: string, path: string, body: unknown, expected: number, contentType?: string): Promise<T> {
    const res = await this.send(method, path, body, contentType);
    if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${statusMessage(res.body)}`);
    return JSON.parse(res.body) as T;
  }

  async figures(): Promise<RegistryFigures> {
    const res = await this.send("GET", "/metrics");
    if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${statusMessage(res.body)}`);
    return readSamples(res.body, {
      resourceVersion: "svcedge_registry_resource_version",
      kvWrites: "svcedge_registry_kv_writes_total",
      kvPending: "svcedge_registry_kv_pending",
      watchers: "svcedge_registry_watchers",
    });
  }

  authHeader(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  close(): void {
    this.http.close();
  }
}

/** A Kubernetes Status's message, or the body's first line. */
export function statusMessage(body: string): string {
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) return s.message;
  } catch {
    // Not JSON.
  }
  return body.split("\n")[0]!.slice(0, 200);
}
