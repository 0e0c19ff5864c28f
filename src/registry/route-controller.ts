// The route controller: after a Service or its EndpointSlices change, recompiles the
// Service's route records and queues for KV only those whose content changed (hashes in
// route_hashes), deletes the hosts it no longer has, and keeps the host filter informed.
import { contentHash } from "../api/content-hash";
import { routeKey } from "../api/route";
import type { Endpoint, EndpointSlice, Pod, Service } from "../api/types";
import { POD_URL_ANNOTATION, REGISTERED_BY_ANNOTATION, SERVICE_NAME_LABEL } from "../api/types";
import type { Controller, WriteEvent } from "./committer";
import type { HostFilterReplica } from "./host-filter-replica";
import type { KvReplica } from "./kv-replica";
import { compileRoutes, sliceAnnotationUrl, type ClusterConfig } from "./route-compiler";
import type { RouteHashes } from "./route-hashes";
import type { ServiceAllocations } from "./service-allocation";
import type { ObjectStore } from "./store";

export class RouteController implements Controller {
  constructor(
    private readonly store: ObjectStore,
    private readonly routes: RouteHashes,
    private readonly hostFilter: HostFilterReplica,
    private readonly kv: KvReplica,
    private readonly alloc: ServiceAllocations,
    private readonly cfg: ClusterConfig,
  ) {}

  afterWrite(ev: WriteEvent): void {
    if (ev.resource === "services") {
      const svc = ev.obj as Service | undefined;
      this.recompile(svc, ev.old as Service | undefined, false);
      if (svc) this.alloc.commitHosts(svc);
    } else if (ev.resource === "endpointslices") {
      const slice = (ev.obj ?? ev.old) as EndpointSlice;
      const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL] ?? (ev.old as EndpointSlice | undefined)?.metadata.labels?.[SERVICE_NAME_LABEL];
      const svc = svcName ? this.store.get<Service>("services", slice.metadata.namespace!, svcName) : undefined;
      if (svc) this.recompile(svc, undefined, false);
    }
  }

  /** A stored Service's hashes, for a registry written before they were kept (no KV writes). */
  build(svc: Service): void {
    this.recompile(svc, undefined, true);
    this.alloc.commitHosts(svc);
  }

  /** A deleted Service: its hosts are removed. */
  deleted(old: Service): void {
    this.recompile(undefined, old, false);
  }

  /**
   * The endpoints reconciler has just reconciled `svc` (its hosts are as they were): its records follow its
   * slices and its Pods' URLs. `pods`: the Service's Pods by name, as the reconciler read them, so that they are not read again.
   */
  endpointsReconciled(svc: Service, pods: ReadonlyMap<string, Pod>): void {
    this.recompile(svc, undefined, false, pods);
  }

  /** Recompiles a Service's route records and queues the ones that changed (and deletes hosts it no longer has). `initial`: record hashes only. */
  private recompile(svc: Service | undefined, old: Service | undefined, initial: boolean, pods?: ReadonlyMap<string, Pod>): void {
    const ns = (svc ?? old)!.metadata.namespace!;
    const name = (svc ?? old)!.metadata.name!;
    const key = `${ns}/${name}`;
    const slices = svc ? this.store.slicesOf<EndpointSlice>(ns, name) : [];
    const podNamed = (pod: string) => pods?.get(pod) ?? this.store.get<Pod>("pods", ns, pod);
    const urlFor = (slice: EndpointSlice, ep: Endpoint) =>
      ep.targetRef?.kind === "Pod" && ep.targetRef.name ? edgeUrlOf(podNamed(ep.targetRef.name)) : sliceAnnotationUrl(slice, ep);
    const records = svc ? compileRoutes(svc, slices, this.cfg, String(this.store.resourceVersion), urlFor) : new Map();
    const hashes = this.routes.hashesOf(key);
    for (const host of hashes.keys()) {
      if (records.has(host)) continue;
      this.routes.delete(host);
      this.hostFilter.hostsChanged();
      this.kv.set(routeKey(host), null);
    }
    for (const [host, rec] of records) {
      // Compare without the resourceVersion so that unrelated writes do not rewrite the record.
      const hash = contentHash(JSON.stringify({ ...rec, resourceVersion: "" }));
      const had = hashes.get(host);
      if (had === hash) continue;
      if (had === undefined) this.hostFilter.hostsChanged();
      this.routes.set(host, key, hash);
      if (!initial) this.kv.set(routeKey(host), JSON.stringify(rec));
    }
  }
}

/**
 * Where the edge may send a Pod's traffic. A Pod that a node registered reaches the edge
 * only through a URL the admin gave it: a node cannot point public traffic at addresses
 * of its choosing (it may still serve in-cluster traffic, as Kubernetes' mirror Pods do).
 */
function edgeUrlOf(pod: Pod | undefined): string | undefined | null {
  const annotations = pod?.metadata.annotations;
  const url = annotations?.[POD_URL_ANNOTATION];
  if (url) return url;
  return annotations?.[REGISTERED_BY_ANNOTATION] ? null : undefined;
}
