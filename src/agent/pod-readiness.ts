// Readiness of the Pods bound to this node: one probe worker per container with a
// readinessProbe, the Pod's Ready condition derived from them, and transitions written
// to pods/<name>/status in batches. A Pod without a probe is ready while registered.
import type { Pod, PodCondition } from "../api/types";
import type { ApiClient } from "./api-client";
import type { Change } from "./informer";
import { silentLogger, type Logger } from "./log";
import type { AgentMetrics } from "./metrics";
import { ProbeWorker, type runProbe, type ProbeOutcome } from "./prober";
import { kubeTime } from "../api/timestamps";

/** Transitions that arrive within this window go out together. */
export const STATUS_BATCH_MS = 50;
/** A failed status write is retried after this long (the informer may bring a fresher Pod). */
const STATUS_RETRY_MS = 1000;

export interface PodReadinessOptions {
  client: ApiClient;
  nodeName: string;
  metrics: AgentMetrics;
  log?: Logger;
  batchMs?: number;
  run?: typeof runProbe;
}

interface Tracked {
  pod: Pod;
  /** What the probe workers were built from; a change rebuilds them. */
  signature: string;
  workers: Map<string, ProbeWorker>;
}

const readyCondition = (pod: Pod): PodCondition | undefined => pod.status?.conditions?.find((c) => c.type === "Ready");
const hasProbes = (pod: Pod): boolean => pod.spec.containers.some((c) => c.readinessProbe);
const podPath = (pod: Pod): string => `/api/v1/namespaces/${pod.metadata.namespace ?? "default"}/pods/${pod.metadata.name}/status`;
const probeSignature = (pod: Pod): string =>
  JSON.stringify([pod.metadata.uid, pod.status?.podIP, pod.spec.containers.map((c) => [c.name, c.readinessProbe ?? null, c.ports ?? []])]);

/** The Ready status the registry derives today: a Pod with no condition is ready unless it has a probe. */
function reportedReady(pod: Pod): boolean {
  const c = readyCondition(pod);
  return c ? c.status === "True" : !hasProbes(pod);
}

export class PodReadiness {
  private readonly pods = new Map<string, Tracked>();
  private readonly pending = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private readonly opts: PodReadinessOptions;
  private readonly log: Logger;

  /** When this prober started: probes of pods found running in its first period are jittered. */
  private readonly startedAt = Date.now();

  constructor(opts: PodReadinessOptions) {
    this.opts = opts;
    this.log = (opts.log ?? silentLogger).with({ component: "pod-readiness" });
  }

  /** Feed from the Pod informer (already filtered to this node). */
  podChanged(change: Change<Pod>): void {
    if (this.stopped) return;
    const pod = change.object;
    if (change.type === "DELETED" || pod.spec.nodeName !== this.opts.nodeName) return this.forget(change.key);
    const tracked = this.pods.get(change.key);
    const signature = probeSignature(pod);
    if (tracked && tracked.signature === signature) tracked.pod = pod;
    else {
      if (tracked) for (const w of tracked.workers.values()) w.stop();
      this.pods.set(change.key, this.track(change.key, pod, signature));
    }
    this.reconcile(change.key);
  }

  /** The Ready status this agent wants for the Pod (undefined when it does not track it). */
  desiredReady(key: string): boolean | undefined {
    const t = this.pods.get(key);
    return t ? [...t.workers.values()].every((w) => w.ready) : undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const key of [...this.pods.keys()]) this.forget(key);
    await this.flushing;
  }

  private track(key: string, pod: Pod, signature: string): Tracked {
    const workers = new Map<string, ProbeWorker>();
    const startedAt = Date.parse(pod.status?.startTime ?? pod.metadata.creationTimestamp ?? "") || Date.now();
    // A Pod already Ready (an agent restart) stays ready until its probe says otherwise.
    const initialReady = readyCondition(pod)?.status === "True";
    for (const c of pod.spec.containers) {
      if (!c.readinessProbe) continue;
      const labels = { namespace: pod.metadata.namespace ?? "default", pod: pod.metadata.name ?? "", container: c.name };
      const worker = new ProbeWorker({
        probe: c.readinessProbe,
        target: { ports: c.ports ?? [], ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}) },
        startedAt,
        proberStartedAt: this.startedAt,
        initialReady,
        onResult: (o: ProbeOutcome) =>
          this.opts.metrics.probes.inc({ probe_type: "Readiness", result: o.result === "success" ? "successful" : "failed", ...labels }),
        onChange: (ready, o) => {
          this.log.info("readiness changed", { ...labels, ready, message: o.message });
          this.reconcile(key);
        },
        ...(this.opts.run ? { run: this.opts.run } : {}),
      });
      workers.set(c.name, worker);
      worker.start();
    }
    return { pod, signature, workers };
  }

  private forget(key: string): void {
    const t = this.pods.get(key);
    if (t) for (const w of t.workers.values()) w.stop();
    this.pods.delete(key);
    this.pending.delete(key);
  }

  private reconcile(key: string): void {
    const t = this.pods.get(key);
    if (!t || this.desiredReady(key) === reportedReady(t.pod)) return;
    this.pending.add(key);
    this.schedule(this.opts.batchMs ?? STATUS_BATCH_MS);
  }

  private schedule(ms: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending.size) this.schedule(this.opts.batchMs ?? STATUS_BATCH_MS);
      });
    }, ms);
  }

  /** Sends every pending transition; one status write per Pod, with its latest value. */
  private async flush(): Promise<void> {
    const keys = [...this.pending];
    this.pending.clear();
    let retry = false;
    await Promise.all(
      keys.map(async (key) => {
        const t = this.pods.get(key);
        const desired = this.desiredReady(key);
        if (!t || desired === undefined || desired === reportedReady(t.pod)) return;
        const now = kubeTime(Date.now());
        const condition: PodCondition = { type: "Ready", status: desired ? "True" : "False", lastProbeTime: null, lastTransitionTime: now };
        if (!desired) condition.reason = "ContainersNotReady";
        const conditions = [...(t.pod.status?.conditions ?? []).filter((c) => c.type !== "Ready"), condition];
        try {
          const updated = await this.opts.client.patch<Pod>(podPath(t.pod), { status: { conditions } });
          // Keep the answer so a late informer event does not trigger a second write.
          if (this.pods.get(key) === t) t.pod = updated;
          this.opts.metrics.podStatusUpdates.inc({ result: "success" });
          this.log.info("pod status updated", { pod: key, ready: desired });
        } catch (e) {
          this.opts.metrics.podStatusUpdates.inc({ result: "failure" });
          this.log.warn("pod status update failed", { pod: key, error: e });
          retry = true;
        }
      }),
    );
    if (retry && !this.stopped) {
      for (const key of keys) if (this.pods.has(key)) this.pending.add(key);
      await new Promise((r) => setTimeout(r, STATUS_RETRY_MS));
    }
  }
}
