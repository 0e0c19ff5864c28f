// Cluster DNS in the agent, wired: the records fed by the agent's Service and EndpointSlice
// informers (plus a Namespace informer of its own, since NXDOMAIN for an unknown namespace
// needs to know the namespaces), the forwarder to the node's upstream resolvers, the query
// handler and the sockets. Started after the informers' first lists, so the first answer
// already knows every Service.
import type { EndpointSlice, KubeObject, Service } from "../../api/types";
import type { ApiClient } from "../api-client";
import { Informer, type Change } from "../informer";
import type { Logger } from "../log";
import type { AgentMetrics } from "../metrics";
import { trimEndpointSliceForProxy, trimServiceForProxy } from "../proxy/state";
import type { ClusterZone } from "./cluster-answer";
import { ClusterRecords } from "./cluster-records";
import { Forwarder } from "./forwarder";
import { QueryHandler } from "./query-handler";
import { formatHostPort, type HostPort } from "./resolv-conf";
import { DnsServer } from "./server";

export const namespacesPath = "/api/v1/namespaces";

export interface ClusterDnsOptions {
  client: ApiClient;
  listen: HostPort;
  zone: string;
  ttl: number;
  upstreams: HostPort[];
  metrics: AgentMetrics;
  log: Logger;
}

/** The Service fields DNS reads beyond the proxy's: the ExternalName target and publishNotReadyAddresses. */
export function trimServiceForDns(svc: Service): Service {
  const out = trimServiceForProxy(svc);
  if (svc.spec?.externalName !== undefined) out.spec.externalName = svc.spec.externalName;
  if (svc.spec?.publishNotReadyAddresses !== undefined) out.spec.publishNotReadyAddresses = svc.spec.publishNotReadyAddresses;
  return out;
}

/** The slice as the proxy keeps it, plus endpoint hostnames (only on the endpoints that have one). */
export function trimEndpointSliceForDns(slice: EndpointSlice): EndpointSlice {
  const out = trimEndpointSliceForProxy(slice);
  (slice.endpoints ?? []).forEach((ep, i) => {
    if (ep.hostname !== undefined) out.endpoints[i]!.hostname = ep.hostname;
  });
  return out;
}

const trimNamespace = (ns: KubeObject): KubeObject => ({
  apiVersion: ns.apiVersion,
  kind: ns.kind,
  metadata: { name: ns.metadata.name, resourceVersion: ns.metadata.resourceVersion },
});

export class ClusterDns {
  readonly records: ClusterRecords;
  readonly namespaces: Informer<KubeObject>;
  private readonly forwarder: Forwarder;
  private readonly server: DnsServer;
  private readonly opts: ClusterDnsOptions;

  constructor(opts: ClusterDnsOptions) {
    this.opts = opts;
    const zone = opts.zone;
    this.records = new ClusterRecords(zone);
    this.namespaces = new Informer<KubeObject>({
      client: opts.client,
      path: namespacesPath,
      resource: "namespaces",
      trim: trimNamespace,
      log: opts.log,
      onReconnect: (resource, reason) => opts.metrics.watchReconnects.inc({ resource, reason }),
      onChange: (c) => this.records.namespaceChanged(c),
    });
    const forwardHit = opts.metrics.dnsCacheHits.series({ cache: "forward" });
    const forwardMiss = opts.metrics.dnsCacheMisses.series({ cache: "forward" });
    this.forwarder = new Forwarder({
      upstreams: opts.upstreams,
      self: opts.listen,
      log: opts.log,
      onExchange: (seconds) => opts.metrics.dnsForwardDuration.observe(seconds),
      onCache: (hit) => (hit ? forwardHit : forwardMiss).inc(),
    });
    const clusterZone: ClusterZone = { zone, ttl: opts.ttl, serverAddresses: [opts.listen.host].filter((h) => h !== "0.0.0.0" && h !== "::") };
    const handler = new QueryHandler({ records: this.records, zone: clusterZone, forwarder: this.forwarder, metrics: opts.metrics });
    this.server = new DnsServer({ listen: opts.listen, handler, log: opts.log });
  }

  serviceChanged(change: Change<Service>): void {
    this.records.serviceChanged(change);
  }

  sliceChanged(change: Change<EndpointSlice>): void {
    this.records.sliceChanged(change);
  }

  /** Lists namespaces, then serves; call once the Service and slice informers have listed. */
  async start(): Promise<void> {
    await this.namespaces.start();
    try {
      await this.server.start();
    } catch (e) {
      // EADDRNOTAVAIL (not this node's address), EADDRINUSE, EACCES: one line for the operator.
      throw new Error(`cannot serve DNS on ${formatHostPort(this.opts.listen)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    if (this.forwarder.upstreamCount === 0)
      this.opts.log.warn("cluster DNS has no upstream resolver: names outside the cluster get REFUSED", { component: "dns" });
    this.forwarder.probeForLoops();
    this.opts.log.info("serving cluster DNS", {
      component: "dns",
      address: this.opts.listen.host,
      port: this.server.address.port,
      zone: this.opts.zone,
      upstreams: this.forwarder.upstreamCount,
    });
  }

  async stop(): Promise<void> {
    await this.server.stop();
    this.forwarder.close();
    await this.namespaces.stop();
  }
}
