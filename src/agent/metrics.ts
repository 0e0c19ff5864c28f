// Prometheus text exposition (format 0.0.4) for the agent's own figures, without a
// client library: counters, gauges and histograms with labels, and a tiny HTTP server.
import { createServer, type Server } from "node:http";
import { familyHeader, formatSampleValue, labelText, type Labels } from "../api/prometheus";

abstract class Metric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: "counter" | "gauge" | "histogram";
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  abstract samples(): string[];
  render(): string {
    return [...familyHeader(this.name, this.type, this.help), ...this.samples()].join("\n");
  }
}

class Scalar extends Metric {
  readonly type: "counter" | "gauge";
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string, type: "counter" | "gauge") {
    super(name, help);
    this.type = type;
  }
  protected entry(labels: Labels) {
    const key = labelText(labels);
    let e = this.values.get(key);
    if (!e) this.values.set(key, (e = { labels, value: 0 }));
    return e;
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  /** Drops every labelled series (gauges recomputed from scratch). */
  clear(): void {
    this.values.clear();
  }
  samples(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${formatSampleValue(e.value)}`);
  }
}

export class Counter extends Scalar {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }
  /** One labelled series to increment on a hot path (the labels are formatted once, here). */
  series(labels: Labels = {}): { inc(by?: number): void } {
    const e = this.entry(labels);
    return { inc: (by = 1) => void (e.value += by) };
  }
}

export class Gauge extends Scalar {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }
}

export class Histogram extends Metric {
  readonly type = "histogram";
  private readonly buckets: number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(name: string, help: string, buckets: number[]) {
    super(name, help);
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.counts = this.buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (value <= b) this.counts[i]!++;
    });
  }
  get observations(): number {
    return this.count;
  }
  samples(): string[] {
    const lines = this.buckets.map((b, i) => `${this.name}_bucket{le="${formatSampleValue(b)}"} ${this.counts[i]}`);
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines;
  }
}

/** kube-proxy's sync duration buckets: exponential from 1 ms, doubling, 15 buckets. */
const SYNC_DURATION_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** CoreDNS forward's request duration buckets: 0.25 ms doubling, 16 buckets (up to ~8 s). */
const DNS_FORWARD_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

/** Every figure the agent exposes. */
export class AgentMetrics {
  readonly syncs = new Counter("svcedge_agent_sync_proxy_rules_total", "Proxy rule syncs by result (success, failure) and mode (full, partial, unchanged).");
  readonly syncDuration = new Histogram("svcedge_agent_sync_proxy_rules_duration_seconds", "Time to build and apply the proxy rules.", SYNC_DURATION_BUCKETS);
  readonly lastSync = new Gauge("svcedge_agent_sync_proxy_rules_last_timestamp_seconds", "When the last successful sync finished (Unix time).");
  readonly rejectedServices = new Gauge(
    "svcedge_agent_sync_proxy_rules_rejected_services",
    "Services whose rules the kernel rejected, by service (1 each): the last sync programmed every other Service and kept these at the rules they had.",
  );
  readonly rejectedServiceSyncs = new Counter(
    "svcedge_agent_sync_proxy_rules_service_rejections_total",
    "Times a sync found a Service whose rules the kernel rejects (the Service is retried when it changes and on every full sync).",
  );
  readonly programmedServicePorts = new Gauge(
    "svcedge_agent_programmed_service_ports",
    "Service ports programmed into the proxier by the last successful sync.",
  );
  readonly programmedEndpoints = new Gauge(
    "svcedge_agent_programmed_endpoints",
    "Endpoints programmed into the proxier by the last successful sync (each once per service port).",
  );
  readonly endpoints = new Gauge("svcedge_agent_endpoints", "Endpoints known from EndpointSlices, by state (ready, serving_terminating, not_ready).");
  readonly probes = new Counter("svcedge_agent_prober_probe_total", "Readiness probe results, by result (successful, failed) and pod.");
  readonly podStatusUpdates = new Counter("svcedge_agent_pod_status_updates_total", "Pod Ready condition updates sent to the API, by result.");
  readonly watchReconnects = new Counter("svcedge_agent_watch_reconnects_total", "Watch streams re-established, by resource and reason.");
  readonly leaseRenewals = new Counter("svcedge_agent_lease_renewals_total", "Node lease renewals, by result.");
  readonly conntrackFlushes = new Counter(
    "svcedge_agent_conntrack_flushes_total",
    "UDP conntrack deletions (one per stale frontend and answering address; a failed cleanup counts once), by result.",
  );
  readonly dnsRequests = new Counter("svcedge_agent_dns_requests_total", "DNS queries received, by proto (udp, tcp).");
  readonly dnsResponses = new Counter("svcedge_agent_dns_responses_total", "DNS responses sent, by rcode.");
  readonly dnsCacheHits = new Counter("svcedge_agent_dns_cache_hits_total", "DNS answers served from a cache, by cache (cluster, forward).");
  readonly dnsCacheMisses = new Counter("svcedge_agent_dns_cache_misses_total", "DNS answers not in a cache, by cache (cluster, forward).");
  readonly dnsForwardDuration = new Histogram(
    "svcedge_agent_dns_forward_duration_seconds",
    "Time one upstream exchange took (answered or timed out).",
    DNS_FORWARD_BUCKETS,
  );
  readonly dnsDropped = new Counter(
    "svcedge_agent_dns_dropped_total",
    "DNS messages answered without an answer or dropped, by reason (malformed, overload, loop).",
  );

  private all(): Metric[] {
    return [
      this.syncs,
      this.syncDuration,
      this.lastSync,
      this.rejectedServices,
      this.rejectedServiceSyncs,
      this.programmedServicePorts,
      this.programmedEndpoints,
      this.endpoints,
      this.probes,
      this.podStatusUpdates,
      this.watchReconnects,
      this.leaseRenewals,
      this.conntrackFlushes,
      this.dnsRequests,
      this.dnsResponses,
      this.dnsCacheHits,
      this.dnsCacheMisses,
      this.dnsForwardDuration,
      this.dnsDropped,
    ];
  }

  render(): string {
    return `${this.all()
      .map((m) => m.render())
      .join("\n")}\n`;
  }
}

/** Serves GET /metrics (and /healthz) until closed. */
export async function serveMetrics(metrics: AgentMetrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(metrics.render());
    } else if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
