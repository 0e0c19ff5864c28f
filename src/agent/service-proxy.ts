// One sync of the node's service proxy: informer caches → ProxyState → proxier, then
// UDP conntrack cleanup for endpoints that went away. The sync loop calls this; it
// reports success as a boolean so the loop can fall back to a full resync.
import type { EndpointSlice, Service } from "../api/types";
import { flushConntrackUDP, staleUDPEndpoints, type StaleUDPEndpoint } from "./proxy/conntrack";
import type { Result } from "./proxy/command";
import type { Proxier } from "./proxy/proxier";
import { changedServicePorts, IncrementalProxyState, type ProxyState } from "./proxy/state";
import type { AgentMetrics } from "./metrics";
import { silentLogger, type Logger } from "./log";

export interface ServiceProxyOptions {
  proxier: Proxier;
  nodeName: string;
  nodeIPs: string[];
  services: () => Iterable<Service>;
  slices: () => Iterable<EndpointSlice>;
  metrics: AgentMetrics;
  log?: Logger;
  /** Deletes the conntrack entries of one removed UDP endpoint (injectable for tests). */
  flushConntrack?: (stale: StaleUDPEndpoint) => Promise<Result>;
}

export class ServiceProxy {
  /** What the proxier was last told, successfully. */
  private applied: ProxyState | undefined;
  private readonly opts: ServiceProxyOptions;
  private readonly log: Logger;
  /** Unchanged Services keep their service port objects from one sync to the next. */
  private readonly builder = new IncrementalProxyState();

  constructor(opts: ServiceProxyOptions) {
    this.opts = opts;
    this.log = (opts.log ?? silentLogger).with({ component: "service-proxy", backend: opts.proxier.backend });
  }

  /** Releases what the proxier holds in this process (the userspace backend's sockets). */
  async stopProxier(): Promise<void> {
    await this.opts.proxier.cleanup();
  }

  /** The state the informers describe now. */
  currentState(): ProxyState {
    return this.builder.build({ services: this.opts.services(), slices: this.opts.slices(), nodeName: this.opts.nodeName, nodeIPs: this.opts.nodeIPs });
  }

  async sync(full: boolean): Promise<boolean> {
    const { metrics } = this.opts;
    const started = performance.now();
    const state = this.currentState();
    const result = await this.opts.proxier.sync(state, { full });
    metrics.syncDuration.observe((performance.now() - started) / 1000);
    if (!result.ok) {
      metrics.syncs.inc({ result: "failure", mode: full ? "full" : "partial" });
      this.log.error("sync failed", { error: result.error, full });
      return false;
    }
    metrics.syncs.inc({ result: "success", mode: result.mode });
    metrics.lastSync.set({}, Date.now() / 1000);
    if (result.mode !== "unchanged")
      this.log.info("synced", { mode: result.mode, servicePorts: state.services.length, ms: Math.round(performance.now() - started) });
    const previous = this.applied;
    // The builder hands back the same state object when nothing changed.
    if (state === previous) return true;
    this.recordProgrammed(state);
    this.applied = state;
    if (previous) await this.flushStaleUDP(previous, state);
    return true;
  }

  private recordProgrammed(state: ProxyState): void {
    const { metrics } = this.opts;
    let programmed = 0;
    const byState = { ready: 0, serving_terminating: 0, not_ready: 0 };
    for (const svc of state.services) {
      programmed += svc.allReachableEndpoints.length;
      for (const ep of svc.endpoints) {
        if (ep.ready) byState.ready++;
        else if (ep.serving && ep.terminating) byState.serving_terminating++;
        else byState.not_ready++;
      }
    }
    metrics.programmedServicePorts.set({}, state.services.length);
    metrics.programmedEndpoints.set({}, programmed);
    for (const [s, n] of Object.entries(byState)) metrics.endpoints.set({ state: s }, n);
  }

  /** Stale UDP conntrack would keep sending a flow's packets to an endpoint that is gone. */
  private async flushStaleUDP(prev: ProxyState, next: ProxyState): Promise<void> {
    const flush = this.opts.flushConntrack ?? ((s: StaleUDPEndpoint) => flushConntrackUDP(s.endpointIP, s));
    // Only service ports that changed can have lost endpoints (unchanged ones are the same objects).
    const changed = changedServicePorts(prev, next);
    const only = (state: ProxyState, i: 0 | 1): ProxyState => ({ ...state, services: changed.flatMap((c) => (c[i] ? [c[i]] : [])) });
    for (const stale of staleUDPEndpoints(only(prev, 0), only(next, 1))) {
      const r = await flush(stale);
      this.opts.metrics.conntrackFlushes.inc({ result: r.ok ? "success" : "failure" });
      // A failed flush is logged, not retried: the rules are right, only old flows linger.
      if (!r.ok) this.log.warn("conntrack flush failed", { endpoint: stale.endpointIP, error: r.error });
      else this.log.info("flushed UDP conntrack", { endpoint: stale.endpointIP });
    }
  }
}
