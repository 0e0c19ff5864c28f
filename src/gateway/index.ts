// The data plane, top to bottom: Host → route record → access → port → endpoints →
// forward. Every refusal that could tell a prober something (unknown host, hostile
// Host, missing credential, no such port) is the same 404.
import type { RouteEndpoint } from "../api/route";
import type { Env } from "../env";
import { mayAccess, presentsClusterCredential } from "./access";
import { applyGatewayVars, gatewayConfig } from "./config";
import { clientIpOf, connectingIpOf, downstreamResponse, hasLooped, upstreamHeaders } from "./forward-headers";
import { forward, textResponse, upstreamConnectError, type ForwardTarget } from "./forward";
import { parseRequestHost, requestUrl, type RequestHost } from "./host";
import { usableEndpoints } from "./pick-endpoint";
import { choosePort } from "./port";
import { resolveRoute } from "./route-cache";
import type { LoadedRoute } from "./route-record";
import { isAllowedSource } from "./source-ranges";
import { stats } from "./stats";
import { logNotRouted } from "./unrouted-log";
import { isWebSocketUpgrade } from "./websocket";

/** Seconds a client should wait before retrying a Service with no healthy endpoints. */
const NO_ENDPOINTS_RETRY_AFTER_SECONDS = 5;

/** The data plane: every request whose Host is not an admin host lands here. */
export async function handleGateway(request: Request, env: Env, _ctx: ExecutionContext): Promise<Response> {
  stats.requests += 1;
  applyGatewayVars(env);
  try {
    return await route(request, env);
  } catch (err) {
    console.error("gateway: unexpected error", err);
    return textResponse(500, "internal error\n");
  }
}

async function route(request: Request, env: Env): Promise<Response> {
  const url = requestUrl(request);
  const host = parseRequestHost(request, url);
  if (!host || !url) return notRouted(request.headers.get("host") ?? "", "not a host name the gateway accepts");
  const record = await resolveRoute(env.KV, host.hostname);
  if (!record) return notRouted(host.hostname, "no route record");
  const hasCredential = record.access === "cluster" && (await presentsClusterCredential(request, env));
  if (!mayAccess(record.access, hasCredential)) return notRouted(host.hostname, "cluster name without a valid credential");
  if (record.access === "public" && record.allowedSources && !isAllowedSource(record.allowedSources, connectingIpOf(request.headers))) {
    return textResponse(403, "403 Forbidden: source address not allowed\n");
  }
  if (hasLooped(request.headers)) return textResponse(508, "loop detected\n");

  const target = chooseTarget(record, host, request);
  if (target === "no-port") return notRouted(host.hostname, "no TCP port of the Service matches the request");
  if (target === "refused-origin") return upstreamConnectError();
  if (target.endpoints.length === 0) {
    return textResponse(503, "this Service has no healthy endpoints\n", { "retry-after": String(NO_ENDPOINTS_RETRY_AFTER_SECONDS) });
  }
  const websocket = isWebSocketUpgrade(request);
  const response = await forward(target, {
    method: request.method,
    pathAndQuery: url.pathname + url.search,
    headers: upstreamHeaders(request.headers, {
      clientIp: clientIpOf(request.headers),
      proto: host.scheme,
      host: request.headers.get("host") ?? url.host,
      websocket,
    }),
    body: websocket ? null : request.body,
    timeoutMs: record.timeoutMs ?? gatewayConfig().defaultTimeoutMs,
  });
  return downstreamResponse(response);
}

function chooseTarget(record: LoadedRoute, host: RequestHost, request: Request): ForwardTarget | "no-port" | "refused-origin" {
  const service = `${record.namespace}/${record.service}`;
  if (record.externalNameRefused) return "refused-origin";
  if (record.externalName !== undefined) {
    const endpoint: RouteEndpoint = { id: record.externalName, url: externalNameUrl(record.externalName, host) };
    return { healthScope: service, endpoints: [endpoint], trackHealth: false };
  }
  const port = choosePort(record.ports, host.port, host.scheme);
  if (!port) return "no-port";
  // Health is per port: a pod may fail on one port and serve on another.
  const target: ForwardTarget = { healthScope: `${service}/${port.name}`, endpoints: usableEndpoints(port), trackHealth: true };
  if (record.sessionAffinity === "ClientIP") {
    const ip = clientIpOf(request.headers);
    if (ip) target.affinityKey = ip;
  }
  return target;
}

/**
 * ExternalName is a CNAME in Kubernetes: the caller keeps its scheme and the port it
 * dialled, only the name changes. So the Host port (if any) is carried over, unless
 * the record's external name already names a port.
 */
function externalNameUrl(externalName: string, host: RequestHost): string {
  const authority = externalName.includes(":") || host.port === undefined ? externalName : `${externalName}:${host.port}`;
  // URL drops the scheme's default port, so "http://name:80" is fetched as "http://name".
  return new URL(`${host.scheme}://${authority}`).origin;
}

/** The same opaque 404 for every refusal; the reason goes to the Worker's log only (unrouted-log.ts). */
function notRouted(host: string, reason: string): Response {
  logNotRouted(host, reason);
  return textResponse(404, "404 page not found\n");
}
