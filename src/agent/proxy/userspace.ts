// Userspace proxier for hosts without root: a TCP listener per ClusterIP:port (where the
// address can be bound, e.g. on loopback), per externalIP/LB IP:port and per NodePort on
// the addresses --nodeport-addresses chose (0.0.0.0 when it chose every local address). Each connection goes to a random usable endpoint; bytes are piped both
// ways, and either side closing or failing closes the other. One proxier serves one IP
// family; the IPv6 one listens on IPv6 sockets only (every local address is "::").
import net from "node:net";
import type { Outcome } from "./command";
import type { EndpointInfo, IPFamily, ProxyState, ServicePortState } from "./state";
import type { Proxier, SyncResult } from "./proxier";
import { servicePortKey } from "./same-service-port";

/** How long to wait for an endpoint to accept before trying another. */
const ENDPOINT_CONNECT_TIMEOUT_MS = 3000;
/** Endpoints tried per client connection before giving up (kube-proxy's userspace mode retried too). */
const MAX_ENDPOINT_ATTEMPTS = 3;
/** Above this many remembered clients per service, expired affinity entries are pruned. */
const AFFINITY_PRUNE_THRESHOLD = 10_000;

/** Where NodePorts listen when every local address takes them. */
export const ANY_IPV4_ADDRESS = "0.0.0.0";
export const ANY_IPV6_ADDRESS = "::";
/** The address that means every local address of `family`. */
export const anyAddress = (family: IPFamily | undefined): string => (family === "IPv6" ? ANY_IPV6_ADDRESS : ANY_IPV4_ADDRESS);

export interface UserspaceOptions {
  /** The family this proxier serves (default IPv4): where NodePorts listen when every local address takes them. */
  family?: IPFamily;
  /** Addresses NodePorts listen on (resolved --nodeport-addresses); every local address when omitted. */
  nodePortIPs?: string[];
  /** Random index in [0, n); injectable for tests. */
  pick?: (n: number) => number;
  log?: (message: string) => void;
}

type Path = "internal" | "external";

interface Listener {
  server: net.Server;
  serviceKey: string;
  path: Path;
}

interface Affinity {
  endpoint: string;
  expiresAt: number;
}

const endpointAddress = (ep: EndpointInfo): string => (ep.ip.includes(":") ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`);

/** The endpoints a connection on `path` may use, by the service's traffic policy. */
export function usableEndpoints(svc: ServicePortState, path: Path): EndpointInfo[] {
  const local = path === "internal" ? svc.internalPolicyLocal : svc.externalPolicyLocal;
  return local ? svc.localEndpoints : svc.clusterEndpoints;
}

/**
 * Why this proxy cannot serve a service port, if it cannot: it relays TCP only. Upstream's
 * userspace proxy refused SCTP with the same words; UDP needs a kernel backend here.
 */
export function unsupported(svc: ServicePortState): string | undefined {
  if (svc.protocol === "SCTP") return "SCTP is not supported for user space proxy";
  if (svc.protocol === "UDP") return "UDP is not supported by this user space proxy (TCP only; use the nftables or iptables backend)";
  return undefined;
}

export class UserspaceProxier implements Proxier {
  readonly backend = "userspace";
  private services = new Map<string, ServicePortState>();
  private readonly listeners = new Map<string, Listener>();
  private readonly sockets = new Set<net.Socket>();
  private readonly affinity = new Map<string, Map<string, Affinity>>();
  private readonly pick: (n: number) => number;
  private readonly log: (message: string) => void;
  /** Service ports already reported as not served (so each is logged once, not every sync). */
  private refused = new Set<string>();

  constructor(private readonly opts: UserspaceOptions = {}) {
    this.pick = opts.pick ?? ((n) => Math.floor(Math.random() * n));
    this.log = opts.log ?? (() => {});
  }

  /** "ip:port" of every listening socket. */
  listening(): string[] {
    return [...this.listeners.keys()].sort();
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    this.services = new Map(state.services.map((svc) => [servicePortKey(svc), svc]));
    const wanted = new Map<string, { serviceKey: string; path: Path }>();
    const nodePortIPs = this.opts.nodePortIPs ?? [anyAddress(this.opts.family)];
    const refused = new Set<string>();
    for (const svc of state.services) {
      const serviceKey = servicePortKey(svc);
      const why = unsupported(svc);
      if (why) {
        refused.add(serviceKey);
        if (!this.refused.has(serviceKey)) this.log(`userspace: ${svc.name}: not served: ${why}`);
        continue;
      }
      // No listener without endpoints: the client gets a refusal, like the kernel backends' reject.
      if (usableEndpoints(svc, "internal").length) for (const ip of svc.clusterIPs) wanted.set(`${ip}:${svc.port}`, { serviceKey, path: "internal" });
      if (usableEndpoints(svc, "external").length) {
        for (const ip of [...svc.externalIPs, ...svc.loadBalancerIPs]) wanted.set(`${ip}:${svc.port}`, { serviceKey, path: "external" });
        if (svc.nodePort) for (const ip of nodePortIPs) wanted.set(`${ip}:${svc.nodePort}`, { serviceKey, path: "external" });
      }
    }
    for (const [addr, l] of this.listeners) {
      const want = wanted.get(addr);
      if (want) Object.assign(l, want);
      else {
        this.listeners.delete(addr);
        l.server.close();
      }
    }
    this.refused = refused;
    await Promise.all([...wanted].filter(([addr]) => !this.listeners.has(addr)).map(([addr, want]) => this.listen(addr, want)));
    return { ok: true, mode: "full" };
  }

  private listen(addr: string, want: { serviceKey: string; path: Path }): Promise<void> {
    const sep = addr.lastIndexOf(":");
    const [host, port] = [addr.slice(0, sep), Number(addr.slice(sep + 1))];
    const listener: Listener = { server: net.createServer((client) => this.accept(listener, client)), ...want };
    return new Promise((resolve) => {
      listener.server.once("error", (err: NodeJS.ErrnoException) => {
        // Addresses this host does not hold (a ClusterIP off loopback) cannot be served in userspace.
        this.log(`userspace: cannot listen on ${addr}: ${err.code ?? err.message}`);
        resolve();
      });
      // An IPv6 socket only: "::" would otherwise take IPv4 too, and clash with the IPv4 proxier's 0.0.0.0.
      listener.server.listen({ port, host, ipv6Only: host.includes(":") }, () => {
        this.listeners.set(addr, listener);
        resolve();
      });
    });
  }

  private accept(listener: Listener, client: net.Socket): void {
    this.sockets.add(client);
    client.once("close", () => this.sockets.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    const svc = this.services.get(listener.serviceKey);
    const candidates = svc ? usableEndpoints(svc, listener.path) : [];
    if (!svc || candidates.length === 0) {
      client.destroy();
      return;
    }
    this.connect(svc, candidates, client, 0);
  }

  private choose(svc: ServicePortState, candidates: EndpointInfo[], clientIP: string, tried: Set<string>): EndpointInfo | undefined {
    const open = candidates.filter((ep) => !tried.has(endpointAddress(ep)));
    if (open.length === 0) return undefined;
    if (svc.affinityTimeoutSeconds > 0) {
      const sticky = this.affinity.get(servicePortKey(svc))?.get(clientIP);
      const ep = sticky && sticky.expiresAt > Date.now() ? open.find((e) => endpointAddress(e) === sticky.endpoint) : undefined;
      if (ep) return ep;
    }
    return open[this.pick(open.length)];
  }

  private connect(svc: ServicePortState, candidates: EndpointInfo[], client: net.Socket, attempt: number, tried = new Set<string>()): void {
    const clientIP = client.remoteAddress ?? "";
    const ep = attempt < MAX_ENDPOINT_ATTEMPTS ? this.choose(svc, candidates, clientIP, tried) : undefined;
    if (!ep || client.destroyed) {
      client.destroy();
      return;
    }
    tried.add(endpointAddress(ep));
    const upstream = net.connect({ host: ep.ip, port: ep.port, timeout: ENDPOINT_CONNECT_TIMEOUT_MS });
    this.sockets.add(upstream);
    upstream.once("close", () => this.sockets.delete(upstream));
    let connected = false;
    const retry = (why: string) => {
      this.log(`userspace: ${svc.name}: endpoint ${endpointAddress(ep)} ${why}`);
      upstream.destroy();
      this.connect(svc, candidates, client, attempt + 1, tried);
    };
    upstream.once("timeout", () => (connected ? upstream.destroy() : retry("timed out")));
    upstream.once("connect", () => {
      connected = true;
      upstream.setTimeout(0);
      if (svc.affinityTimeoutSeconds > 0) this.remember(svc, clientIP, endpointAddress(ep));
      // Half-closes pass through; an error or close on either side ends the other.
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => (connected ? upstream.destroy() : retry(err.code ?? err.message)));
  }

  private remember(svc: ServicePortState, clientIP: string, endpoint: string): void {
    const key = servicePortKey(svc);
    let clients = this.affinity.get(key);
    if (!clients) this.affinity.set(key, (clients = new Map()));
    if (clients.size > AFFINITY_PRUNE_THRESHOLD) {
      const now = Date.now();
      for (const [ip, a] of clients) if (a.expiresAt <= now) clients.delete(ip);
    }
    clients.set(clientIP, { endpoint, expiresAt: Date.now() + svc.affinityTimeoutSeconds * 1000 });
  }

  /** Stops listening and ends every proxied connection. */
  async close(): Promise<void> {
    const closing = [...this.listeners.values()].map((l) => new Promise<void>((resolve) => l.server.close(() => resolve())));
    this.listeners.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.affinity.clear();
    await Promise.all(closing);
  }

  async cleanup(): Promise<Outcome> {
    await this.close();
    return { ok: true };
  }
}
