// The node's heartbeat: a coordination.k8s.io/v1 Lease in kube-node-lease, renewed every
// quarter of its duration as kubelet does. Renewals touch only the Lease (the registry
// keeps them in the Durable Object; KV is written only when the node's Ready flips).
//
// Bound: the registry marks the node Ready=Unknown once max(NODE_LEASE_GRACE_SECONDS,
// leaseDurationSeconds) pass without a renewal; with the defaults (40 s each) a stopped
// agent's endpoints leave the rules within 40 s plus the registry's alarm and one sync.
import type { Lease } from "../api/types";
import { NODE_LEASE_NAMESPACE } from "../api/types";
import { isConflict, isNotFound, type ApiClient } from "./api-client";
import { silentLogger, type Logger } from "./log";
import type { AgentMetrics } from "./metrics";
import { kubeMicroTime } from "../api/timestamps";

/** kubelet renews at a quarter of the lease duration (NodeLeaseRenewIntervalFraction 0.25). */
export const RENEW_INTERVAL_FRACTION = 0.25;

export const leasePath = (node: string): string => `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${node}`;

export interface LeaseRenewerOptions {
  client: ApiClient;
  nodeName: string;
  leaseDurationSeconds: number;
  metrics: AgentMetrics;
  log?: Logger;
  now?: () => Date;
}

export class LeaseRenewer {
  private lease: Lease | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private inFlight: Promise<void> | undefined;
  private readonly opts: LeaseRenewerOptions;
  private readonly log: Logger;

  constructor(opts: LeaseRenewerOptions) {
    this.opts = opts;
    this.log = (opts.log ?? silentLogger).with({ component: "lease" });
  }

  get intervalMs(): number {
    return this.opts.leaseDurationSeconds * 1000 * RENEW_INTERVAL_FRACTION;
  }

  /** Renews once (rejecting on failure), then on the interval in the background. */
  async start(): Promise<void> {
    await this.renew();
    this.scheduleNext();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.renew()
        .catch((e) => this.log.warn("lease renewal failed", { error: e }))
        .finally(() => {
          this.inFlight = undefined;
          this.scheduleNext();
        });
    }, this.intervalMs);
  }

  /** One renewal: update the Lease we hold, or read and retry once on a conflict, or create it. */
  async renew(): Promise<void> {
    const { client, nodeName, metrics } = this.opts;
    const path = leasePath(nodeName);
    const now = kubeMicroTime((this.opts.now ?? (() => new Date()))());
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        if (!this.lease) {
          try {
            this.lease = await client.get<Lease>(path);
          } catch (e) {
            if (!isNotFound(e)) throw e;
            this.lease = await client.create<Lease>(`/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE },
              spec: { holderIdentity: nodeName, leaseDurationSeconds: this.opts.leaseDurationSeconds, renewTime: now },
            });
            metrics.leaseRenewals.inc({ result: "success" });
            return;
          }
        }
        const next: Lease = {
          ...this.lease,
          spec: { ...this.lease.spec, holderIdentity: nodeName, leaseDurationSeconds: this.opts.leaseDurationSeconds, renewTime: now },
        };
        try {
          this.lease = await client.update<Lease>(path, next);
          metrics.leaseRenewals.inc({ result: "success" });
          return;
        } catch (e) {
          // Someone else wrote the Lease (or it was deleted): read it again and retry once.
          if (!isConflict(e) && !isNotFound(e)) throw e;
          this.lease = undefined;
        }
      }
      throw new Error("lease renewal kept conflicting");
    } catch (e) {
      metrics.leaseRenewals.inc({ result: "failure" });
      throw e;
    }
  }
}
