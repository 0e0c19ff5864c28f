// The running agent, wired top to bottom: register the Node, start the lease, list and
// watch Services, EndpointSlices and this node's Pods, and feed them to the sync loop
// (→ proxier) and the readiness prober (→ Pod status). Stopping leaves the rules in
// place, as kube-proxy does, so traffic keeps flowing across an agent restart.
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { networkInterfaces } from "node:os";
import type { EndpointSlice, Pod, Service } from "../api/types";
import type { ApiClient } from "./api-client";
import { createProxier, nodeFamilies, nodePortListenAddresses } from "./backends";
import type { AgentOptions } from "./cli-options";
import { ProxierHealth, serveProxierHealth, ServiceHealthServer } from "./health-server";
import { ClusterDns, trimEndpointSliceForDns, trimServiceForDns } from "./dns/cluster-dns";
import { systemNameservers } from "./dns/resolv-conf";
import { Informer } from "./informer";
import { LeaseRenewer } from "./lease";
import type { Logger } from "./log";
import { AgentMetrics, serveMetrics } from "./metrics";
import { registerNode } from "./node-registration";
import { PodManifestSync } from "./pod-manifests";
import { PodReadiness } from "./pod-readiness";
import type { Proxier } from "./proxy/proxier";
import { PROXY_LABEL_SELECTOR, trimEndpointSliceForProxy, trimServiceForProxy, type IPFamily } from "./proxy/state";
import { ServiceProxy } from "./service-proxy";
import { DEFAULT_SYNC_PERIOD_MS, SyncLoop } from "./sync-loop";

/** The node's addresses when --node-ip is not given: every non-internal IPv4 address. */
export function detectNodeIPs(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) out.push(a.address);
  return out;
}

export const servicesPath = "/api/v1/services";
export const endpointSlicesPath = "/apis/discovery.k8s.io/v1/endpointslices";
/** kube-proxy's label selector on a list path: cluster DNS, when on, needs the objects it leaves out (the proxy filters them itself). */
export const proxiedPath = (path: string): string => `${path}?labelSelector=${encodeURIComponent(PROXY_LABEL_SELECTOR)}`;
export const nodePodsPath = (node: string): string => `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`;

export interface AgentDeps {
  client: ApiClient;
  options: AgentOptions;
  log: Logger;
  metrics?: AgentMetrics;
  /** Overrides the proxier the backend option names (tests); the agent then serves IPv4 only. */
  proxier?: Proxier;
  syncPeriodMs?: number;
}

export class Agent {
  readonly metrics: AgentMetrics;
  readonly services: Informer<Service>;
  readonly slices: Informer<EndpointSlice>;
  readonly pods: Informer<Pod>;
  readonly syncLoop: SyncLoop;
  readonly readiness: PodReadiness;
  /** The primary (IPv4 unless the node has IPv6 addresses only) family's proxy. */
  readonly proxy: ServiceProxy;
  /** One proxy per IP family the node has an address of, as kube-proxy's MetaProxier: `proxy` first. */
  readonly proxies: ServiceProxy[];
  readonly nodeIPs: string[];
  /** Cluster DNS, when --dns-addr is set. */
  readonly dns: ClusterDns | undefined;
  /** Whether syncs keep up with changes (kube-proxy's /healthz). */
  readonly health: ProxierHealth;
  /** healthCheckNodePort servers of Local LoadBalancer Services, one per proxy (IP family), in the order of `proxies`. */
  readonly serviceHealth: ServiceHealthServer[];
  private healthzServer: { close(): Promise<void> } | undefined;
  private readonly lease: LeaseRenewer;
  private manifests: PodManifestSync | undefined;
  private metricsServer: Server | undefined;
  private readonly deps: AgentDeps;

  constructor(deps: AgentDeps) {
    this.deps = deps;
    const { client, options, log } = deps;
    const metrics = (this.metrics = deps.metrics ?? new AgentMetrics());
    this.nodeIPs = options.nodeIPs.length ? options.nodeIPs : detectNodeIPs();
    const families = deps.proxier ? (["IPv4"] as const) : nodeFamilies(this.nodeIPs);
    const proxierOf = (family: IPFamily): Proxier =>
      deps.proxier ??
      createProxier(
        options.backend,
        {
          clusterCIDRs: options.clusterCIDRs,
          serviceCIDRs: options.serviceCIDRs,
          masqueradeAll: options.masqueradeAll,
          nodeIPs: this.nodeIPs,
          nodePortAddresses: options.nodePortAddresses,
          log: (m) => log.info(m, families.length > 1 ? { component: options.backend, family } : { component: options.backend }),
        },
        family,
      );
    const onReconnect = (resource: string, reason: string) => metrics.watchReconnects.inc({ resource, reason });
    const syncPeriodMs = deps.syncPeriodMs ?? DEFAULT_SYNC_PERIOD_MS;
    // kube-proxy's healthz timeout: twice the sync period.
    const health = (this.health = new ProxierHealth({ timeoutMs: 2 * syncPeriodMs }));
    // As kube-proxy: one per family's proxier, on its --nodeport-addresses, resolved once at start.
    this.serviceHealth = families.map((family) => {
      const addresses = nodePortListenAddresses({ nodeIPs: this.nodeIPs, nodePortAddresses: options.nodePortAddresses }, family);
      return new ServiceHealthServer({
        addresses: () => addresses,
        proxierHealthy: () => health.isHealthy(),
        log: families.length > 1 ? log.with({ family }) : log,
      });
    });
    const requestSync = () => {
      health.queuedUpdate();
      this.syncLoop.request();
    };
    const dnsAddr = options.dnsAddr;
    this.dns = dnsAddr
      ? new ClusterDns({
          client,
          listen: dnsAddr,
          zone: options.dnsZone,
          ttl: options.dnsTTLSeconds,
          upstreams: options.dnsUpstreams.length ? options.dnsUpstreams : systemNameservers((p) => readFileSync(p, "utf8")),
          metrics,
          log,
        })
      : undefined;
    const dns = this.dns;
    this.services = new Informer<Service>({
      client,
      path: dns ? servicesPath : proxiedPath(servicesPath),
      resource: "services",
      trim: dns ? trimServiceForDns : trimServiceForProxy,
      log,
      onReconnect,
      onChange: (c) => (dns?.serviceChanged(c), requestSync()),
    });
    this.slices = new Informer<EndpointSlice>({
      client,
      path: dns ? endpointSlicesPath : proxiedPath(endpointSlicesPath),
      resource: "endpointslices",
      trim: dns ? trimEndpointSliceForDns : trimEndpointSliceForProxy,
      log,
      onReconnect,
      onChange: (c) => (dns?.sliceChanged(c), requestSync()),
    });
    this.readiness = new PodReadiness({ client, nodeName: options.node, metrics, log });
    this.pods = new Informer<Pod>({
      client,
      path: nodePodsPath(options.node),
      resource: "pods",
      log,
      onReconnect,
      onChange: (c) => this.readiness.podChanged(c),
    });
    this.proxies = families.map(
      (family) =>
        new ServiceProxy({
          proxier: proxierOf(family),
          // A single-stack IPv4 node's proxy logs as it did before IPv6 was served.
          ...(family === "IPv6" || families.length > 1 ? { family } : {}),
          nodeName: options.node,
          nodeIPs: this.nodeIPs,
          services: () => this.services.store.values(),
          slices: () => this.slices.store.values(),
          metrics,
          log,
        }),
    );
    this.proxy = this.proxies[0]!;
    this.syncLoop = new SyncLoop({ sync: (full) => this.sync(full), log, periodMs: syncPeriodMs });
    this.lease = new LeaseRenewer({ client, nodeName: options.node, leaseDurationSeconds: options.leaseDurationSeconds, metrics, log });
  }

  /** One sync: the rules, then the health checks that report on them. */
  private async sync(full: boolean): Promise<boolean> {
    // A sync that hangs or keeps failing counts as a change waiting, so /healthz fails in time.
    this.health.queuedUpdate();
    // Every family syncs, even after another failed (a broken IPv6 table must not hold IPv4 back).
    let ok = true;
    for (const proxy of this.proxies) if (!(await proxy.sync(full))) ok = false;
    if (!ok) return false;
    this.health.updated();
    // Each family's servers count that family's local endpoints.
    for (const [i, proxy] of this.proxies.entries()) await this.serviceHealth[i]!.sync(this.services.store.values(), proxy.lastApplied!);
    return true;
  }

  async start(): Promise<void> {
    const { client, options, log } = this.deps;
    if (options.healthzBindAddress) {
      const healthz = serveProxierHealth(this.health, options.healthzBindAddress, log);
      this.healthzServer = healthz;
      await healthz.ready;
      log.info("serving healthz", { address: options.healthzBindAddress.host, port: options.healthzBindAddress.port });
    }
    await registerNode(client, options.node, this.nodeIPs);
    log.info("node registered", { node: options.node, addresses: this.nodeIPs });
    await this.lease.start();
    if (options.metricsPort) {
      this.metricsServer = await serveMetrics(this.metrics, options.metricsPort, options.metricsAddress);
      log.info("serving metrics", { address: options.metricsAddress, port: options.metricsPort });
    }
    await Promise.all([this.services.start(), this.slices.start(), this.pods.start()]);
    // Before the first sync: an address DNS cannot bind stops the agent before it programs rules.
    await this.dns?.start();
    this.syncLoop.start();
    if (options.podManifests) {
      this.manifests = new PodManifestSync({ client, dir: options.podManifests, nodeName: options.node, pods: () => this.pods.store.values(), log });
      await this.manifests.start();
    }
    log.info("agent started", { backend: options.backend, node: options.node });
  }

  /** Stops watching and probing; the programmed rules stay. */
  async stop(): Promise<void> {
    await this.manifests?.stop();
    await this.dns?.stop();
    await Promise.all([this.services.stop(), this.slices.stop(), this.pods.stop()]);
    await this.syncLoop.stop();
    for (const server of this.serviceHealth) await server.close();
    await this.healthzServer?.close();
    await this.readiness.stop();
    await this.lease.stop();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    // The userspace proxier's listeners live in this process; close them so it can exit.
    if (this.deps.options.backend === "userspace" && !this.deps.proxier) for (const proxy of this.proxies) await proxy.stopProxier();
  }
}
