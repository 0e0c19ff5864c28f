// The node lifecycle controller, as kube-controller-manager's: a Lease renewal makes its
// Node Ready, a Lease not renewed within the grace period makes it Ready=Unknown (in
// slices per alarm), and each transition reconciles the endpoints of the node's Pods.
// Only transitions write (and so reach KV and watches).
import type { Lease, Node } from "../api/types";
import type { Committer, Controller, WriteEvent } from "./committer";
import type { EndpointsReconciler } from "./endpoints-reconciler";
import type { NodeLiveness } from "./node-liveness";
import { resourceNamed } from "./resources";
import type { ObjectStore } from "./store";
import { kubeTime } from "../api/timestamps";

/**
 * Nodes marked NotReady per alarm: each reconciles the Services of its Pods, so a mass
 * expiry (a partition) is worked off in slices, and no request waits behind all of it.
 */
export const NODES_EXPIRED_PER_ALARM = 20;

export class NodeLifecycleController implements Controller {
  constructor(
    private readonly store: ObjectStore,
    private readonly liveness: NodeLiveness,
    private readonly writer: Committer,
    private readonly endpoints: EndpointsReconciler,
  ) {}

  afterWrite(ev: WriteEvent): void {
    if (ev.resource !== "leases" || !ev.obj) return;
    const node = this.store.get<Node>("nodes", "", ev.obj.metadata.name!);
    if (!node) return;
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status !== "True") this.setReady(node, true, ev.now);
  }

  /** From the alarm: Nodes whose Lease expired become Ready=Unknown. */
  expireLeases(now: number): void {
    for (const name of this.liveness.expired(now, NODES_EXPIRED_PER_ALARM)) {
      const node = this.store.get<Node>("nodes", "", name);
      const ready = node?.status?.conditions?.find((c) => c.type === "Ready");
      if (node && ready?.status !== "Unknown") this.setReady(node, false, now);
    }
  }

  /** A restarted registry must not extend a dead node's life: deadlines count from the last renewal, not from now. */
  restore(now: number): void {
    for (const lease of this.store.each<Lease>("leases")) {
      const renewed = Date.parse(lease.spec.renewTime ?? "");
      this.liveness.renew(lease, Number.isFinite(renewed) ? Math.min(renewed, now) : now);
    }
  }

  private setReady(node: Node, ready: boolean, now: number): void {
    const next = structuredClone(node);
    const ts = kubeTime(now);
    const conditions = (next.status ??= {}).conditions ?? [];
    const cond = ready
      ? {
          type: "Ready",
          status: "True" as const,
          reason: "KubeletReady",
          message: "svcedge agent is posting ready status",
          lastHeartbeatTime: ts,
          lastTransitionTime: ts,
        }
      : {
          type: "Ready",
          status: "Unknown" as const,
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
          lastHeartbeatTime: ts,
          lastTransitionTime: ts,
        };
    next.status.conditions = [...conditions.filter((c) => c.type !== "Ready"), cond];
    this.writer.commit(resourceNamed("nodes")!, "MODIFIED", next, node, now);
    this.endpoints.nodeChanged(node.metadata.name!, now);
  }
}
