// One request, several attempts: pick an endpoint, fetch it with the body streamed,
// feed the outcome to passive health, and retry elsewhere when that is safe. The
// upstream Response is returned as is (status, headers, body stream, and for a
// WebSocket upgrade the 101 with its socket), never rebuilt.
import type { RouteEndpoint } from "../api/route";
import { gatewayConfig } from "./config";
import { isEjected, recordFailure, recordSuccess } from "./outlier";
import { pickByRendezvous, pickRandom, type Available } from "./pick-endpoint";
import { stats } from "./stats";

/** RFC 9110 §9.2.2 idempotent methods (TRACE is never forwarded usefully; left out). */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
/** Gateway errors from a pod count as failures (Envoy's `gateway-error`). */
const GATEWAY_ERROR_STATUSES = new Set([502, 503, 504]);

export interface ForwardTarget {
  /** "namespace/name/port": the scope of passive-health state (and log lines). */
  healthScope: string;
  endpoints: readonly RouteEndpoint[];
  /** Set for ClientIP affinity: the key hashed against endpoint ids. */
  affinityKey?: string;
  /** Feed outcomes to passive health (not for ExternalName, which has one target). */
  trackHealth: boolean;
}

export interface ForwardRequest {
  method: string;
  /** Path and query, starting with "/". */
  pathAndQuery: string;
  headers: Headers;
  body: ReadableStream | null;
  timeoutMs: number;
}

export async function forward(target: ForwardTarget, req: ForwardRequest): Promise<Response> {
  // A streamed body cannot be replayed without buffering it, and workerd reports a
  // refused connection and a reset after sending alike ("Network connection lost"),
  // so only bodiless idempotent requests are ever sent twice.
  const attempts = IDEMPOTENT_METHODS.has(req.method) && req.body === null ? 1 + gatewayConfig().maxRetries : 1;
  const tried = new Set<string>();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), req.timeoutMs);
  let failed: Response | undefined;
  try {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const endpoint = chooseEndpoint(target, tried);
      if (!endpoint) break;
      tried.add(endpoint.id);
      if (attempt > 0) stats.retries += 1;
      // The previous attempt's 5xx is dropped only once there is somewhere else to go.
      await failed?.body?.cancel();
      failed = undefined;
      try {
        const response = await fetch(endpoint.url + req.pathAndQuery, {
          method: req.method,
          headers: req.headers,
          body: req.body,
          redirect: "manual",
          signal: deadline.signal,
        });
        if (!GATEWAY_ERROR_STATUSES.has(response.status)) {
          if (target.trackHealth) recordSuccess(target.healthScope, endpoint.id);
          return response;
        }
        noteFailure(target, endpoint);
        failed = response;
      } catch (err) {
        noteFailure(target, endpoint);
        if (deadline.signal.aborted) return textResponse(504, "upstream request timeout\n");
        console.warn(`gateway: ${target.healthScope}: endpoint ${endpoint.id}: ${String(err)}`);
      }
    }
  } finally {
    // Only the wait for response headers is bounded; bodies and WebSockets may last.
    clearTimeout(timer);
  }
  return failed ?? upstreamConnectError();
}

/** Every attempt refused, or an origin the gateway will not fetch: the prober cannot tell which. */
export function upstreamConnectError(): Response {
  return textResponse(502, "upstream connect error\n");
}

/** An untried, non-ejected endpoint; if every untried one is ejected, one of them anyway (Envoy's panic mode). */
function chooseEndpoint(target: ForwardTarget, tried: ReadonlySet<string>): RouteEndpoint | undefined {
  const now = Date.now();
  // The usual request: a first attempt without affinity, whose first random draw is healthy.
  // Answered without building the predicates below (closures, per request, on the hot path).
  if (tried.size === 0 && target.affinityKey === undefined && target.endpoints.length > 0) {
    const first = target.endpoints[Math.floor(Math.random() * target.endpoints.length)]!;
    if (!(target.trackHealth && isEjected(target.healthScope, first.id, now))) return first;
  }
  const untried: Available = (e) => !tried.has(e.id);
  const healthy: Available = (e) => untried(e) && !(target.trackHealth && isEjected(target.healthScope, e.id, now));
  const pick = (available: Available) =>
    target.affinityKey === undefined ? pickRandom(target.endpoints, available) : pickByRendezvous(target.endpoints, target.affinityKey, available);
  return pick(healthy) ?? pick(untried);
}

function noteFailure(target: ForwardTarget, endpoint: RouteEndpoint): void {
  if (target.trackHealth) recordFailure(target.healthScope, endpoint.id, target.endpoints.length);
}

export function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
}
