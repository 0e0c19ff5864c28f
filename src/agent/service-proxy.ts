// One sync of the node's service proxy: informer caches → ProxyState → proxier, then
// UDP conntrack reconciled against the serving endpoints. The sync loop calls this; it
// reports success as a boolean so the loop can fall back to a full resync.
//
// One bad Service must not stop the proxy for the rest (kube-proxy logs and skips a
// service port it cannot program). When the kernel rejects a sync, the Services that
// changed since the last sync that worked are split in halves and applied on top of it
// until the ones the kernel rejects are found; everything else is programmed, each
// rejected Service keeps the rules it last had (or none), is logged and counted, and is
// tried again when it changes and on every full sync.
import type { EndpointSlice, Service } from "../api/types";
import { ConntrackTable, type ConntrackCleanup } from "./proxy/conntrack";
import type { Proxier, SyncResult } from "./proxy/proxier";
import { compareServicePorts, IncrementalProxyState, type IPFamily, type ProxyState, type ServicePortState } from "./proxy/state";
import type { AgentMetrics } from "./metrics";
import { silentLogger, type Logger } from "./log";

export interface ServiceProxyOptions {
  /** Programs `family`'s rules (kube-proxy runs one proxier per IP family). */
  proxier: Proxier;
  /** The IP family this proxy serves (default IPv4): only its addresses and EndpointSlices are read. */
  family?: IPFamily;
  nodeName: string;
  nodeIPs: string[];
  services: () => Iterable<Service>;
  slices: () => Iterable<EndpointSlice>;
  metrics: AgentMetrics;
  log?: Logger;
  /** Deletes UDP conntrack entries no serving endpoint answers (default: the conntrack tool; injectable for tests and benchmarks). */
  conntrack?: { cleanStaleUDP(state: ProxyState): Promise<ConntrackCleanup> };
}

/**
 * Sync attempts one sync may spend finding rejected Services: about 2·log2(n) find one among
 * n changed Services (28 at 10,000), so a few bad ones are found; a kernel that rejects
 * everything is not searched Service by Service.
 */
export const MAX_ISOLATION_ATTEMPTS = 64;

/** "ns/name" of the Service a service port belongs to. */
const serviceOf = (port: ServicePortState): string => `${port.namespace}/${port.service}`;

/** Service ports grouped by Service, in the state's order. */
function portsByService(state: ProxyState | undefined): Map<string, ServicePortState[]> {
  const out = new Map<string, ServicePortState[]>();
  for (const port of state?.services ?? []) {
    const key = serviceOf(port);
    const list = out.get(key);
    if (list) list.push(port);
    else out.set(key, [port]);
  }
  return out;
}

const samePorts = (a: ServicePortState[] | undefined, b: ServicePortState[] | undefined): boolean =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((p, i) => p === b![i]);

/** A state holding the given Services' ports (sorted as ProxyState.services must be). */
function stateOf(base: ProxyState, services: Map<string, ServicePortState[]>): ProxyState {
  const ports: ServicePortState[] = [];
  for (const list of services.values()) for (const p of list) ports.push(p);
  return { nodeName: base.nodeName, nodeIPs: base.nodeIPs, services: ports.sort(compareServicePorts) };
}

type SyncResultOk = SyncResult & { ok: true };

/** What one family's last programmed state holds, for the gauges. */
interface ProgrammedCounts {
  servicePorts: number;
  endpoints: number;
  ready: number;
  serving_terminating: number;
  not_ready: number;
}
/** Each metrics registry's programmed counts per IP family. */
const programmedByFamily = new WeakMap<AgentMetrics, Map<IPFamily, ProgrammedCounts>>();
/** Each metrics registry's rejected Services per IP family. */
const rejectedByFamily = new WeakMap<AgentMetrics, Map<IPFamily, string[]>>();

/** A Service the kernel rejected: what it was when rejected, and why. */
interface Rejected {
  ports: ServicePortState[];
  error: string;
}

export class ServiceProxy {
  /** What the proxier was last told, successfully. */
  private applied: ProxyState | undefined;
  private readonly opts: ServiceProxyOptions;
  private readonly log: Logger;
  /** Unchanged Services keep their service port objects from one sync to the next. */
  private readonly builder: IncrementalProxyState;
  /** Services left out of the proxier because the kernel rejected their rules. */
  private readonly rejected = new Map<string, Rejected>();
  private readonly conntrack: { cleanStaleUDP(state: ProxyState): Promise<ConntrackCleanup> } | undefined;

  constructor(opts: ServiceProxyOptions) {
    this.opts = opts;
    this.builder = new IncrementalProxyState(opts.family);
    // The userspace proxier does not DNAT: the kernel has no flows of ours to clean.
    this.conntrack = opts.conntrack ?? (opts.proxier.backend === "userspace" ? undefined : new ConntrackTable(opts.family ? { family: opts.family } : {}));
    const fields: Record<string, string> = { component: "service-proxy", backend: opts.proxier.backend };
    if (opts.family) fields.family = opts.family;
    this.log = (opts.log ?? silentLogger).with(fields);
  }

  /** Releases what the proxier holds in this process (the userspace backend's sockets). */
  async stopProxier(): Promise<void> {
    await this.opts.proxier.cleanup();
  }

  /** The state of the last successful sync (what the proxier was told). */
  get lastApplied(): ProxyState | undefined {
    return this.applied;
  }

  /** The state the informers describe now. */
  currentState(): ProxyState {
    return this.builder.build({ services: this.opts.services(), slices: this.opts.slices(), nodeName: this.opts.nodeName, nodeIPs: this.opts.nodeIPs });
  }

  /** "ns/name" of each Service left out of the last sync, with the kernel's error. */
  rejectedServices(): Map<string, string> {
    return new Map([...this.rejected].map(([key, r]) => [key, r.error]));
  }

  async sync(full: boolean): Promise<boolean> {
    const { metrics } = this.opts;
    const started = performance.now();
    const state = this.currentState();
    // Rejected Services that did not change wait for the next full sync (their old rules stay).
    const now = this.rejected.size ? portsByService(state) : undefined;
    const retrying = full || [...this.rejected].some(([key, r]) => !samePorts(r.ports, now?.get(key)));
    const wanted = this.rejected.size === 0 || retrying ? state : this.withoutRejected(state);
    let result = await this.opts.proxier.sync(wanted, { full });
    let programmed = wanted;
    if (!result.ok) {
      this.log.error("sync failed; looking for the Services the kernel rejects", { error: result.error, full });
      const isolated = await this.isolate(state, result.error);
      if (isolated) {
        programmed = isolated.state;
        result = isolated.result;
      }
    } else if (wanted === state) this.rejected.clear();
    metrics.syncDuration.observe((performance.now() - started) / 1000);
    this.recordRejected();
    if (!result.ok) {
      metrics.syncs.inc({ result: "failure", mode: full ? "full" : "partial" });
      this.log.error("sync failed", { error: result.error, full });
      return false;
    }
    metrics.syncs.inc({ result: "success", mode: result.mode });
    metrics.lastSync.set({}, Date.now() / 1000);
    if (result.mode !== "unchanged")
      this.log.info("synced", { mode: result.mode, servicePorts: programmed.services.length, ms: Math.round(performance.now() - started) });
    // The builder hands back the same state object when nothing changed.
    if (programmed !== this.applied) this.recordProgrammed(programmed);
    this.applied = programmed;
    // Every sync, changed or not, as kube-proxy: the table may hold flows this process never
    // saw go stale (an endpoint removed while the agent was down).
    await this.cleanStaleUDP(programmed);
    return true;
  }

  /** `state` with each rejected Service as it was last programmed (or absent). */
  private withoutRejected(state: ProxyState): ProxyState {
    const services = portsByService(state);
    const applied = portsByService(this.applied);
    for (const key of this.rejected.keys()) {
      const before = applied.get(key);
      if (before) services.set(key, before);
      else services.delete(key);
    }
    return stateOf(state, services);
  }

  /**
   * Applies as much of `state` as the kernel takes, after `state` as a whole was rejected
   * with `error`: the Services that differ from the last programmed state are added to it
   * in halves, and a half the kernel rejects is split again down to single Services.
   * Returns the state programmed and its result, or undefined when the failure is not one
   * Service's (the last programmed state is rejected too, or the search ran out of attempts).
   */
  private async isolate(state: ProxyState, error: string): Promise<{ state: ProxyState; result: SyncResultOk } | undefined> {
    const wanted = portsByService(state);
    const accepted = portsByService(this.applied);
    const candidates = [...new Set([...wanted.keys(), ...accepted.keys()])].filter((key) => !samePorts(wanted.get(key), accepted.get(key)));
    if (candidates.length === 0) return undefined;
    const found = new Map<string, Rejected>();
    let attempts = 0;
    let last: SyncResult | undefined;
    let lastState = state;
    const attempt = async (keys: string[]): Promise<SyncResult> => {
      attempts++;
      const next = new Map(accepted);
      for (const key of keys) {
        const ports = wanted.get(key);
        if (ports) next.set(key, ports);
        else next.delete(key);
      }
      const tried = stateOf(state, next);
      const r = await this.opts.proxier.sync(tried);
      last = r;
      if (r.ok) {
        lastState = tried;
        accepted.clear();
        for (const [key, ports] of next) accepted.set(key, ports);
      }
      return r;
    };
    /** False when out of attempts. */
    const search = async (keys: string[], failedWith?: string): Promise<boolean> => {
      if (failedWith === undefined) {
        if (attempts >= MAX_ISOLATION_ATTEMPTS) return false;
        const r = await attempt(keys);
        if (r.ok) return true;
        failedWith = r.error;
      }
      if (keys.length === 1) {
        found.set(keys[0]!, { ports: wanted.get(keys[0]!) ?? [], error: failedWith });
        return true;
      }
      const mid = keys.length >> 1;
      return (await search(keys.slice(0, mid))) && search(keys.slice(mid));
    };
    if (!(await search(candidates, error))) {
      this.log.error("too many sync attempts looking for rejected Services; the whole sync is retried later", { attempts });
      return undefined;
    }
    // After a rejected attempt the proxier no longer knows what the kernel holds: program what was accepted.
    const final: SyncResult = last?.ok ? last : await attempt([]);
    if (!final.ok) return undefined;
    this.rejected.clear();
    for (const [key, r] of found) {
      this.rejected.set(key, r);
      this.opts.metrics.rejectedServiceSyncs.inc();
      this.log.error("the kernel rejects this Service's rules; it keeps the rules it had and is retried", { service: key, error: r.error });
    }
    return { state: lastState, result: final };
  }

  private recordRejected(): void {
    const { metrics } = this.opts;
    const gauge = metrics.rejectedServices;
    // The other family's proxy reports into the same gauge: it shows the Services either family rejects.
    let byFamily = rejectedByFamily.get(metrics);
    if (!byFamily) rejectedByFamily.set(metrics, (byFamily = new Map()));
    byFamily.set(this.opts.family ?? "IPv4", [...this.rejected.keys()]);
    gauge.clear();
    for (const keys of byFamily.values()) for (const key of keys) gauge.set({ service: key }, 1);
  }

  private recordProgrammed(state: ProxyState): void {
    const { metrics } = this.opts;
    const counts: ProgrammedCounts = { servicePorts: state.services.length, endpoints: 0, ready: 0, serving_terminating: 0, not_ready: 0 };
    for (const svc of state.services) {
      counts.endpoints += svc.allReachableEndpoints.length;
      for (const ep of svc.endpoints) {
        if (ep.ready) counts.ready++;
        else if (ep.serving && ep.terminating) counts.serving_terminating++;
        else counts.not_ready++;
      }
    }
    // A dual-stack node's two proxies report into the same gauges: each sets its family's share, the gauges show the sum.
    let byFamily = programmedByFamily.get(metrics);
    if (!byFamily) programmedByFamily.set(metrics, (byFamily = new Map()));
    byFamily.set(this.opts.family ?? "IPv4", counts);
    const total = (key: keyof ProgrammedCounts): number => [...byFamily.values()].reduce((sum, c) => sum + c[key], 0);
    metrics.programmedServicePorts.set({}, total("servicePorts"));
    metrics.programmedEndpoints.set({}, total("endpoints"));
    for (const s of ["ready", "serving_terminating", "not_ready"] as const) metrics.endpoints.set({ state: s }, total(s));
  }

  /** Stale UDP conntrack would keep sending a flow's packets to an endpoint that no longer serves. */
  private async cleanStaleUDP(state: ProxyState): Promise<void> {
    if (!this.conntrack) return;
    const r = await this.conntrack.cleanStaleUDP(state);
    const { conntrackFlushes } = this.opts.metrics;
    if (r.filters) conntrackFlushes.inc({ result: "success" }, r.filters);
    // A failed cleanup is logged, not retried at once: the rules are right, only old flows
    // linger until the next sync reconciles again.
    if (!r.ok) {
      conntrackFlushes.inc({ result: "failure" });
      this.log.warn("conntrack cleanup failed", { error: r.error });
    } else if (r.entries) this.log.info("deleted stale UDP conntrack entries", { entries: r.entries });
  }
}
