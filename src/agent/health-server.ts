// kube-proxy's two health endpoints (pkg/proxy/healthcheck, v1.32), with its bodies and headers:
// - the proxier's /healthz and /livez on --healthz-bind-address (default 0.0.0.0:10256):
//   503 once a queued change has waited longer than twice the sync period for a sync;
// - one server per LoadBalancer Service with externalTrafficPolicy Local on its
//   healthCheckNodePort: 200 while this node has a ready endpoint of the Service (and the
//   proxier is healthy), else 503, so that load balancers send traffic only to such nodes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Service } from "../api/types";
import { needsHealthCheck } from "../api/service-rules";
import type { HostPort } from "./dns/resolv-conf";
import { silentLogger, type Logger } from "./log";
import type { ProxyState } from "./proxy/state";

/** How often a health server that could not listen tries again (kube-proxy's wait.Until period). */
const LISTEN_RETRY_MS = 5000;

const JSON_HEADERS = { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff" };

/** Go's time.Time.String() without the monotonic reading: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTimeString(t: Date | undefined): string {
  if (!t) return "0001-01-01 00:00:00 +0000 UTC";
  const iso = t.toISOString();
  const ms = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms ? `.${ms}` : ""} +0000 UTC`;
}

/**
 * The proxier's health, as kube-proxy's proxierHealthServer: healthy while starting and while
 * every queued change is applied within `timeoutMs` (kube-proxy: 2 × --sync-period).
 */
export class ProxierHealth {
  private lastUpdated: Date | undefined;
  private oldestPendingQueued: number | undefined;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(opts: { timeoutMs: number; now?: () => number }) {
    this.timeoutMs = opts.timeoutMs;
    this.now = opts.now ?? Date.now;
  }

  /** A change waits for a sync (kept at its oldest). */
  queuedUpdate(): void {
    this.oldestPendingQueued ??= this.now();
  }

  /** A sync applied everything queued before it began. */
  updated(): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdated = new Date(this.now());
  }

  isHealthy(): boolean {
    return this.oldestPendingQueued === undefined || this.now() - this.oldestPendingQueued < this.timeoutMs;
  }

  /** GET /healthz (`withNode`) or /livez. svcedge has no node-deletion taint to watch: the node is always eligible. */
  answer(withNode: boolean): { status: number; body: string } {
    const healthy = this.isHealthy();
    const current = new Date(this.now());
    // As kube-proxy: a healthy answer reports lastUpdated as now, for older clients.
    const last = goTimeString(healthy ? current : this.lastUpdated);
    const body = withNode
      ? `{"lastUpdated": ${JSON.stringify(last)},"currentTime": ${JSON.stringify(goTimeString(current))}, "nodeEligible": true}`
      : `{"lastUpdated": ${JSON.stringify(last)},"currentTime": ${JSON.stringify(goTimeString(current))}}`;
    return { status: healthy ? 200 : 503, body };
  }
}

/** "namespace/name" of every Service that needs a health check, with its healthCheckNodePort (kube-proxy's HealthCheckNodePorts). */
export function healthCheckNodePorts(services: Iterable<Service>): Map<string, number> {
  const out = new Map<string, number>();
  for (const svc of services) {
    const port = svc.spec.healthCheckNodePort;
    if (port && needsHealthCheck(svc)) out.set(`${svc.metadata.namespace ?? "default"}/${svc.metadata.name}`, port);
  }
  return out;
}

/**
 * Ready endpoints on this node per "namespace/name", counted by address (a pod serving two
 * ports counts once), as kube-proxy's LocalReadyEndpoints: terminating endpoints do not
 * count, so a node whose pods are all terminating fails its health check. Only the Services
 * in `only` (those with a health check) are counted.
 */
export function localReadyEndpoints(state: ProxyState, only: ReadonlyMap<string, unknown>): Map<string, number> {
  const ips = new Map<string, Set<string>>();
  if (only.size === 0) return new Map();
  for (const svc of state.services) {
    const key = `${svc.namespace}/${svc.service}`;
    if (!only.has(key)) continue;
    for (const ep of svc.endpoints) {
      if (!ep.isLocal || !ep.ready) continue;
      let set = ips.get(key);
      if (!set) ips.set(key, (set = new Set()));
      set.add(ep.ip);
    }
  }
  return new Map([...ips].map(([k, v]) => [k, v.size]));
}

/** An HTTP server that keeps trying to listen until it does or is closed. */
class RetryingListener {
  /** Resolves once listening, or once the first attempt failed (it keeps trying). */
  readonly ready: Promise<void>;
  private readonly server: Server;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  /** `ipv6Only`: an IPv6 address takes IPv6 only ("::" beside another server's "0.0.0.0" on the same port). */
  constructor(handler: (req: IncomingMessage, res: ServerResponse) => void, where: HostPort, log: Logger, what: Record<string, unknown>, ipv6Only = false) {
    const server = (this.server = createServer(handler));
    this.ready = new Promise((resolve) => {
      server.once("listening", () => resolve());
      server.once("error", () => resolve());
    });
    const listen = () => {
      if (!this.closed)
        server.listen(ipv6Only ? { port: where.port, host: where.host, ipv6Only: where.host.includes(":") } : { port: where.port, host: where.host });
    };
    let failures = 0;
    server.on("error", (e: NodeJS.ErrnoException) => {
      // The first failure is an error; the retries every 5 s say the same, quietly.
      const fields = { ...what, address: where.host, port: where.port, error: e.code ?? e.message, retryInMs: LISTEN_RETRY_MS };
      if (failures++ === 0) log.error("health server cannot listen", fields);
      else log.debug("health server still cannot listen", fields);
      if (!this.closed) this.timer = setTimeout(listen, LISTEN_RETRY_MS);
    });
    server.on("listening", () => {
      if (failures) log.info("health server listening", { ...what, address: where.host, port: where.port });
    });
    listen();
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.server.closeAllConnections();
    return new Promise((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }
}

/** /healthz and /livez on the --healthz-bind-address. */
export function serveProxierHealth(health: ProxierHealth, where: HostPort, log: Logger = silentLogger): { ready: Promise<void>; close(): Promise<void> } {
  return new RetryingListener(
    (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path !== "/healthz" && path !== "/livez") {
        res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" });
        res.end("404 page not found\n");
        return;
      }
      const { status, body } = health.answer(path === "/healthz");
      res.writeHead(status, JSON_HEADERS);
      res.end(body);
    },
    where,
    log.with({ component: "healthz" }),
    {},
  );
}

interface ServiceHealthInstance {
  port: number;
  listeners: RetryingListener[];
  endpoints: number;
}

/**
 * The healthCheckNodePort servers, opened and closed as Services come and go (kube-proxy's
 * ServiceHealthServer). A dual-stack node has one per IP family, as each of kube-proxy's
 * per-family proxiers: the IPv6 one listens on IPv6 sockets only.
 */
export class ServiceHealthServer {
  private readonly services = new Map<string, ServiceHealthInstance>();
  private readonly log: Logger;

  constructor(
    private readonly opts: {
      /** Addresses to listen on: where NodePorts are open (the resolved --nodeport-addresses, or 0.0.0.0). */
      addresses: () => string[];
      proxierHealthy: () => boolean;
      log?: Logger;
    },
  ) {
    this.log = (opts.log ?? silentLogger).with({ component: "service-health" });
  }

  /** Opens servers for new Services, closes those of Services gone or moved to another port. */
  async syncServices(ports: Map<string, number>): Promise<void> {
    for (const [name, inst] of this.services) {
      if (ports.get(name) === inst.port) continue;
      this.services.delete(name);
      await Promise.all(inst.listeners.map((l) => l.close()));
    }
    const opened: Promise<void>[] = [];
    for (const [name, port] of ports) {
      if (this.services.has(name)) continue;
      const slash = name.indexOf("/");
      const id = { namespace: name.slice(0, slash), name: name.slice(slash + 1) };
      const listeners = this.opts
        .addresses()
        .map((host) => new RetryingListener((_req, res) => this.answer(name, id, res), { host, port }, this.log, { service: name }, true));
      this.services.set(name, { port, listeners, endpoints: 0 });
      opened.push(...listeners.map((l) => l.ready));
    }
    await Promise.all(opened);
  }

  /** Local ready endpoint counts; Services not in the map have none. */
  syncEndpoints(counts: Map<string, number>): void {
    for (const [name, inst] of this.services) inst.endpoints = counts.get(name) ?? 0;
  }

  /** After a successful sync: the Services that need a health check, and their local ready endpoints. */
  async sync(services: Iterable<Service>, state: ProxyState): Promise<void> {
    const ports = healthCheckNodePorts(services);
    await this.syncServices(ports);
    this.syncEndpoints(localReadyEndpoints(state, ports));
  }

  private answer(key: string, id: { namespace: string; name: string }, res: ServerResponse): void {
    const count = this.services.get(key)?.endpoints ?? 0;
    const healthy = this.opts.proxierHealthy();
    res.writeHead(count !== 0 && healthy ? 200 : 503, JSON_HEADERS);
    // kube-proxy's body, byte for byte (a dedented template: tab-indented, no final newline).
    res.end(
      `{\n\t"service": {\n\t\t"namespace": ${JSON.stringify(id.namespace)},\n\t\t"name": ${JSON.stringify(id.name)}\n\t},\n\t"localEndpoints": ${count},\n\t"serviceProxyHealthy": ${healthy}\n}`,
    );
  }

  async close(): Promise<void> {
    await this.syncServices(new Map());
  }
}
