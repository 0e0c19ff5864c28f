// "Why does host X not route?": what the gateway would find for a host, step by step,
// read straight from KV (no isolate cache). The public answer to an unknown host stays an
// opaque 404; this is the admin's view of the same decision (src/admin/route-explain.ts
// serves it). Pure reads: it changes no cache, counter or health state.
import { decodeHostFilter, HOST_FILTER_KEY, mayContainHost } from "../api/host-filter";
import { routeKey, type RouteRecord } from "../api/route";
import { gatewayConfig } from "./config";
import { isHostname } from "./host";
import { parseRouteRecord } from "./route-record";

export interface RoutePortSummary {
  name: string;
  port: number;
  protocol: string;
  /** Endpoints the gateway would use, after the origin guard. */
  ready: number;
  terminating: number;
  /** Endpoints in the record that the origin guard drops (loopback, link-local, admin hosts). */
  refused: number;
}

export interface RouteExplanation {
  host: string;
  /** True when the gateway would forward a request for this host (given a credential, for cluster names). */
  routable: boolean;
  /** One line per check, in the order the gateway makes them; the last one says where it stops. */
  steps: string[];
  record?: {
    namespace: string;
    service: string;
    access: RouteRecord["access"];
    resourceVersion: string;
    externalName?: string;
    sourceRanges?: string[];
    ports: RoutePortSummary[];
  };
}

/** `adminHosts`: ADMIN_HOSTS as the Worker splits them (those hosts never reach the gateway). */
export async function explainRoute(kv: KVNamespace, rawHost: string, adminHosts: readonly string[]): Promise<RouteExplanation> {
  const host = rawHost.toLowerCase().replace(/:\d+$/, "");
  const steps: string[] = [];
  const stop = (line: string): RouteExplanation => ({ host, routable: false, steps: [...steps, line] });
  if (!isHostname(host))
    return stop("not a DNS name the gateway accepts (LDH labels of at most 63 characters, 253 in all; no IP literals): 404 before any lookup");
  if (adminHosts.includes(host)) return stop("an admin host (ADMIN_HOSTS): the admin API answers it, never the gateway");
  steps.push("a well-formed host name, not an admin host");

  const filterText = await kv.get(HOST_FILTER_KEY);
  const filter = filterText === null ? null : decodeHostFilter(filterText);
  if (filter && !mayContainHost(filter, host)) {
    return stop(`the host filter (${HOST_FILTER_KEY}) rules it out: no Service claims this host, or the registry has not flushed it to KV yet`);
  }
  steps.push(filter ? "the host filter may contain it" : `no readable host filter in KV (${HOST_FILTER_KEY}): every host is looked up`);

  const raw = await kv.get<unknown>(routeKey(host), { type: "json" });
  if (raw === null) {
    return stop(
      `no route record (${routeKey(host)}): no LoadBalancer Service has this hostname (<name>-<namespace>.<LB_DOMAIN>, or svcedge.io/hostnames), no Service has it as its cluster name (<svc>.<ns>.svc.<CLUSTER_DOMAIN>), the Service is headless, or the registry has not flushed it yet`,
    );
  }
  const record = parseRouteRecord(raw, host);
  if (!record) return stop(`the route record (${routeKey(host)}) is malformed: the gateway ignores it`);
  const rawPorts = Array.isArray((raw as { ports?: unknown }).ports) ? ((raw as { ports: unknown[] }).ports as Partial<RouteRecord["ports"][number]>[]) : [];
  const ports: RoutePortSummary[] = record.ports.map((p) => {
    const recorded = rawPorts.find((r) => r?.name === p.name && r?.port === p.port);
    const count = (list: unknown) => (Array.isArray(list) ? list.length : 0);
    return {
      name: p.name,
      port: p.port,
      protocol: p.protocol,
      ready: p.ready.length,
      terminating: p.terminating.length,
      refused: count(recorded?.ready) + count(recorded?.terminating) - p.ready.length - p.terminating.length,
    };
  });
  const summary: NonNullable<RouteExplanation["record"]> = {
    namespace: record.namespace,
    service: record.service,
    access: record.access,
    resourceVersion: record.resourceVersion,
    ports,
  };
  if (record.externalName !== undefined) summary.externalName = record.externalName;
  if (Array.isArray((raw as { sourceRanges?: unknown }).sourceRanges)) summary.sourceRanges = (raw as { sourceRanges: string[] }).sourceRanges;
  steps.push(`route record of Service ${record.namespace}/${record.service} (resourceVersion ${record.resourceVersion})`);
  const done = (routable: boolean, line: string): RouteExplanation => ({ host, routable, steps: [...steps, line], record: summary });

  steps.push(
    record.access === "cluster"
      ? "a cluster name: only callers with a credential (svcedge-credential: CLUSTER_TOKEN or a node token) get past the 404"
      : "public: anyone may call it",
  );
  if (summary.sourceRanges) steps.push(`restricted to loadBalancerSourceRanges ${summary.sourceRanges.join(", ")}; other callers get 403`);
  if (record.externalNameRefused) return done(false, `ExternalName ${record.externalName} is an origin the gateway refuses (origin guard): 502`);
  if (record.externalName !== undefined) return done(true, `ExternalName: proxied to ${record.externalName}`);
  const tcp = ports.filter((p) => p.protocol === "TCP");
  if (tcp.length === 0) return done(false, "no TCP port: the edge serves HTTP only (UDP and SCTP are the agent's): 404");
  const usable = tcp.filter((p) => p.ready + p.terminating > 0);
  const refused = tcp.reduce((n, p) => n + p.refused, 0);
  if (refused > 0 && !gatewayConfig().allowLocalOrigins)
    steps.push(`${refused} endpoint(s) dropped by the origin guard (loopback, link-local, localhost or admin-host URLs; give Pods a svcedge.io/url)`);
  if (usable.length === 0) return done(false, "no ready or serving endpoint on any TCP port: 503 with Retry-After");
  const cacheSeconds = gatewayConfig().routeCacheTtlMs / 1000;
  return done(
    true,
    `routable on ${usable.map((p) => `${p.name || p.port}/${p.protocol} (${p.ready} ready, ${p.terminating} terminating)`).join(", ")}; isolates that cached an older answer see this within ${cacheSeconds} s`,
  );
}
