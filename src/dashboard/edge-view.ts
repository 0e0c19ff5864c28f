// GET /dashboard/api/edge/namespaces/{ns}/services/{name} (admin token): what the
// gateway knows of a Service that the API does not hold: the route record of its
// cluster host as KV stores it and as the gateway parses it (endpoint URLs, ready or
// fallback set; endpoints the origin guard refuses are left out, as the gateway leaves
// them) and the passive-health ejections of the isolate that answers. For a host's
// step-by-step explanation there is GET /debug/routes/<host> (src/admin/route-explain.ts). Ejections are per isolate (outlier.ts):
// locally there is one isolate, in production this is a sample. The record is read
// straight from KV, not through the gateway's route cache, so that looking never
// changes what the gateway caches (a miss cached before a Service exists would 404).
import { routeKey } from "../api/route";
import { isDNS1035Label, isDNS1123Label } from "../api/apimachinery-validation";
import type { Service } from "../api/types";
import type { Env } from "../env";
import { isEjected } from "../gateway/outlier";
import { parseRouteRecord } from "../gateway/route-record";
import { clusterHostname } from "../registry/route-compiler";
import { configOf } from "../config";

export interface EdgeEndpoint {
  /** The gateway's endpoint identity: the Pod's uid, or the address when there is no Pod. */
  id: string;
  url: string;
  nodeName?: string;
  /** "ready": in rotation; "fallback": serving and terminating, used only when no endpoint is ready. */
  set: "ready" | "fallback";
  /** Ejected by passive health in this isolate, now. */
  ejected: boolean;
}

export interface EdgeView {
  host: string;
  /** False when KV holds no record for the host (yet): a headless Service, or one not flushed. */
  found: boolean;
  resourceVersion?: string;
  ports: { name: string; port: number; endpoints: EdgeEndpoint[] }[];
}

/** undefined when the names cannot name a Service (the caller answers 404). */
export async function edgeView(env: Env, namespace: string, name: string, now = Date.now()): Promise<EdgeView | undefined> {
  if (isDNS1123Label(namespace).length > 0 || isDNS1035Label(name).length > 0) return undefined;
  const svc = { metadata: { name, namespace } } as Service;
  const host = clusterHostname(svc, configOf(env));
  const value = await env.KV.get<unknown>(routeKey(host), "json");
  const record = value === null ? null : parseRouteRecord(value, host);
  if (!record) return { host, found: false, ports: [] };
  const ports = record.ports.map((p) => {
    // The gateway keys health by port: "ns/name/port" (gateway/index.ts, chooseTarget).
    const scope = `${record.namespace}/${record.service}/${p.name}`;
    const entry =
      (set: EdgeEndpoint["set"]) =>
      (e: { id: string; url: string; nodeName?: string }): EdgeEndpoint => ({
        id: e.id,
        url: e.url,
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
        set,
        ejected: isEjected(scope, e.id, now),
      });
    return { name: p.name, port: p.port, endpoints: [...p.ready.map(entry("ready")), ...p.terminating.map(entry("fallback"))] };
  });
  return { host, found: true, resourceVersion: record.resourceVersion, ports };
}
