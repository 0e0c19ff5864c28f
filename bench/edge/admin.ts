// The few admin API calls the edge benchmark makes against a local Worker: JSON writes,
// and the Prometheus counters of GET /metrics (the gateway's are per isolate; wrangler dev
// runs one).
import { readSamples } from "../registry/prometheus-samples";

export interface AdminApi {
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
  metrics(): Promise<EdgeCounters>;
}

export interface EdgeCounters {
  /** svcedge_gateway_requests_total */
  gatewayRequests: number;
  /** svcedge_gateway_kv_reads_total */
  gatewayKvReads: number;
  /** svcedge_registry_kv_pending: KV keys the registry has yet to flush. */
  kvPending: number;
  /** svcedge_registry_endpoints_queue_depth: Services whose EndpointSlices (and so routes) are yet to be synced. */
  endpointsQueued: number;
}

const COUNTERS: Readonly<Record<keyof EdgeCounters, string>> = {
  gatewayRequests: "svcedge_gateway_requests_total",
  gatewayKvReads: "svcedge_gateway_kv_reads_total",
  kvPending: "svcedge_registry_kv_pending",
  endpointsQueued: "svcedge_registry_endpoints_queue_depth",
};

export function adminApi(baseUrl: string, token: string): AdminApi {
  const request = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res;
  };
  return {
    json: async <T>(method: string, path: string, body?: unknown) => (await (await request(method, path, body)).json()) as T,
    metrics: async () => readSamples(await (await request("GET", "/metrics")).text(), COUNTERS),
  };
}
