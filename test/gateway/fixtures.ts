// Shared by the gateway suites: seed route records straight into KV (the registry's
// side of the contract), address the loopback pods, and call the Worker's real fetch.
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { randomToken, sha256Hex } from "../../src/api/credentials";
import { NODE_TOKEN_KEY_PREFIX, routeKey, type RouteEndpoint, type RoutePort, type RouteRecord } from "../../src/api/route";

export type PodName = keyof ReturnType<typeof inject<"pods">>;

export const pods = inject("pods");

export function podEndpoint(name: PodName): RouteEndpoint {
  return { id: `uid-${name}`, url: `http://127.0.0.1:${pods[name]}` };
}

export function httpPort(ready: PodName[], extra: Partial<RoutePort> = {}): RoutePort {
  return { name: "http", port: 80, protocol: "TCP", ready: ready.map(podEndpoint), terminating: [], ...extra };
}

/** Writes a route record for `host`, defaulting to a public Service "web" in "default". */
export async function seedRoute(host: string, record: Partial<RouteRecord>): Promise<RouteRecord> {
  const full: RouteRecord = {
    v: 1,
    namespace: "default",
    service: host.split(".")[0]!,
    access: "public",
    sessionAffinity: "None",
    ports: [],
    resourceVersion: "1",
    ...record,
  };
  await env.KV.put(routeKey(host), JSON.stringify(full));
  return full;
}

/** A request through the Worker's fetch handler, as the edge would deliver it. */
export function gateway(url: string | Request, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(typeof url === "string" ? new Request(url, init) : url);
}

/** Which pod answered (pods tag every response with x-pod). */
export async function podOf(response: Response): Promise<string | null> {
  await response.body?.cancel();
  return response.headers.get("x-pod");
}

export interface Echo {
  pod: string;
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  /** Names and values as they came on the wire, alternating (Node's rawHeaders). */
  rawHeaders: string[];
  body: string;
}

/** Really closes (stop) or reopens (start) a pod's server. */
export async function podControl(verb: "stop" | "start", name: PodName): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${inject("podControlPort")}/${verb}/${name}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`pod control ${verb} ${name}: ${res.status} ${await res.text()}`);
}

/** Registers a node token in KV as the registry does (only its SHA-256 is stored); returns the token. */
export async function seedNodeToken(node: string, token = randomToken()): Promise<string> {
  await env.KV.put(NODE_TOKEN_KEY_PREFIX + (await sha256Hex(token)), node);
  return token;
}

/** Requests a pod has counted so far (each call of this counts itself too). */
export async function podRequests(name: PodName): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${pods[name]}/count`);
  return (await res.json<{ requests: number }>()).requests;
}
