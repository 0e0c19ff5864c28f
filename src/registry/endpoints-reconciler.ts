// The endpoints controller's loop: after a write, the Services it can concern get their
// EndpointSlices reconciled (desiredSlices in endpoints-controller.ts says what they
// should hold), writing only the slices that differ, then their route records refreshed.
// Pod writes go through the work queue (endpoints-queue.ts): the registry syncs the
// marked Services shortly after, and before anything reads EndpointSlices.
import type { EndpointSlice, Node, Pod, Service } from "../api/types";
import type { Committer, Controller, TouchedServices, WriteEvent } from "./committer";
import { desiredSlices, isManagedSlice, sameSliceContent, type NodeFacts } from "./endpoints-controller";
import type { ServicePodIndex } from "./indexes";
import { resourceNamed } from "./resources";
import type { RouteController } from "./route-controller";
import type { ObjectStore } from "./store";
import type { EndpointsQueue } from "./endpoints-queue";
import { kubeTime } from "../api/timestamps";

export class EndpointsReconciler implements Controller {
  constructor(
    private readonly store: ObjectStore,
    private readonly podsOfService: ServicePodIndex,
    private readonly writer: Committer,
    private readonly routes: RouteController,
    private readonly queue: EndpointsQueue,
  ) {}

  afterWrite(ev: WriteEvent): void {
    const obj = ev.obj ?? ev.old!;
    if (ev.resource === "services") this.reconcile(obj.metadata.namespace!, obj.metadata.name!, ev.now);
    else if (ev.resource === "pods") this.markTouched(obj.metadata.namespace!, ev.touched);
    else if (ev.resource === "nodes") this.nodeChanged(obj.metadata.name!, ev.now);
  }

  /** After a Pod write, only the Services that select the Pod, before or after it, can change: they are marked for a sync. */
  markTouched(ns: string, touched: TouchedServices): void {
    this.queue.add(ns, touched);
  }

  get queued(): number {
    return this.queue.pending;
  }

  /** Syncs up to `max` marked Services; returns how many stay marked. */
  syncQueued(now: number, max?: number): number {
    for (const [ns, svc] of this.queue.take(max)) this.reconcile(ns, svc, now);
    return this.queue.pending;
  }

  /** A node's readiness changed: the Services selecting its Pods get their endpoints reconciled. */
  nodeChanged(nodeName: string, now: number): void {
    const services = new Set<string>();
    for (const p of this.store.podsOnNode<Pod>(nodeName))
      for (const svc of this.podsOfService.selecting(p.metadata.namespace!, p.metadata.labels)) services.add(`${p.metadata.namespace}/${svc}`);
    for (const key of services) {
      const [ns, svc] = key.split("/") as [string, string];
      this.reconcile(ns, svc, now);
    }
  }

  /** One Service: write only the slices that differ. */
  reconcile(ns: string, svcName: string, now: number): void {
    const svc = this.store.get<Service>("services", ns, svcName);
    const existing = this.store.slicesOf<EndpointSlice>(ns, svcName).filter(isManagedSlice);
    const selected = this.store.getMany<Pod>("pods", ns, this.podsOfService.selected(ns, svcName));
    const desired = svc ? desiredSlices(svc, selected, this.nodeFacts()) : [];
    const r = resourceNamed("endpointslices")!;
    const byName = new Map(existing.map((s) => [s.metadata.name!, s]));
    for (const want of desired) {
      const have = byName.get(want.metadata.name!);
      byName.delete(want.metadata.name!);
      if (have && sameSliceContent(have, want)) continue;
      if (have) {
        want.metadata = { ...have.metadata, labels: want.metadata.labels, annotations: want.metadata.annotations };
        if (!want.metadata.annotations) delete want.metadata.annotations;
        this.writer.commit(r, "MODIFIED", want, have, now);
      } else {
        want.metadata.uid = crypto.randomUUID();
        want.metadata.creationTimestamp = kubeTime(now);
        want.metadata.generation = 1;
        this.writer.commit(r, "ADDED", want, undefined, now);
      }
    }
    for (const stale of byName.values()) this.writer.remove(r, stale, now);
    // Also when no slice changed: a Pod's URL annotation is read straight into the route record.
    if (svc) this.routes.endpointsReconciled(svc, new Map(selected.map((p) => [p.metadata.name!, p])));
  }

  private nodeFacts(): NodeFacts {
    return {
      isReady: (name) => {
        const node = this.store.get<Node>("nodes", "", name);
        if (!node) return true;
        const ready = node.status?.conditions?.find((c) => c.type === "Ready");
        return !ready || ready.status === "True";
      },
      zone: (name) => this.store.get<Node>("nodes", "", name)?.metadata.labels?.["topology.kubernetes.io/zone"],
    };
  }
}
