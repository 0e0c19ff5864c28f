// Rule generation and syncs at scale, for one backend and one size, in a throwaway network
// namespace (root, nft or iptables): state building, rendering, a first and a repeated full
// sync, and one endpoint change timed from the informer store update to the rules being
// applied, through the agent's real ServiceProxy, SyncLoop and proxier. Changes are spaced
// past the sync loop's rate limit, which would otherwise delay back-to-back ones.
// Every wait is bounded; a failed sync ends the measurement with the proxier's error.
import type { EndpointSlice, Service } from "../../src/api/types";
import { buildProxyState } from "../../src/agent/proxy/state";
import type { Proxier, SyncOptions, SyncResult } from "../../src/agent/proxy/proxier";
import type { Outcome } from "../../src/agent/proxy/command";
import { NftablesProxier } from "../../src/agent/proxy/nftables/apply";
import { renderNftables, renderNftablesUpdate } from "../../src/agent/proxy/nftables/render";
import { buildIndex } from "../../src/agent/proxy/nftables/table-index";
import { NameHashes } from "../../src/agent/proxy/chain-names";
import { IptablesProxier } from "../../src/agent/proxy/iptables/apply";
import { iptablesChains, renderIptables, renderIptablesChanges } from "../../src/agent/proxy/iptables/render";
import { ServiceProxy } from "../../src/agent/service-proxy";
import { DEFAULT_MIN_SYNC_INTERVAL_MS, SyncLoop } from "../../src/agent/sync-loop";
import { AgentMetrics } from "../../src/agent/metrics";
import type { ProxyState } from "../../src/agent/proxy/state";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { NetnsLab } from "../../scripts/lab/netns";
import { SCALE_CLUSTER_CIDRS, SCALE_NODE, SCALE_NODE_IP, syntheticCluster } from "./cluster";
import { BENCH_NETNS_PREFIX } from "./netns";
import { median } from "./median";

export type KernelBackend = "nftables" | "iptables";

export interface ScaleOptions {
  backend: KernelBackend;
  services: number;
  endpointsPerService: number;
  /** Endpoint changes to time (median and worst are reported)... */
  changes: number;
  /** ...unless they have taken this long together (a slow backend's changes); at least one runs. */
  changeBudgetMs: number;
  /** Bound on any one sync. */
  syncTimeoutMs: number;
}

export interface ScaleResult {
  backend: KernelBackend;
  services: number;
  endpointsPerService: number;
  rulesetBytes: number;
  buildMs: number;
  renderMs: number;
  firstSyncMs: number;
  repeatSyncMs: number;
  /** CPU (user + system, this process and the tools it waited for) of each full sync. */
  firstSyncCpuMs: number;
  repeatSyncCpuMs: number;
  /** nftables: how the full syncs reached the kernel ("netlink" or "nft"), and why not netlink. */
  fullSyncPath: string;
  /** nftables: one more full sync of the same state with `nft -f` (the fallback and reference), straight on the proxier. */
  nftSyncMs: number;
  nftSyncCpuMs: number;
  changeMedianMs: number;
  changeWorstMs: number;
  changesTimed: number;
  /** One more change's state and rule text in JS, as the proxier makes them, not applied. */
  changeJsMs: number;
  /** This process after the syncs (stores, ServiceProxy, proxier state), after gc when exposed. */
  rssMb: number;
  heapUsedMb: number;
}

interface BackendOps {
  proxier: Proxier;
  /** nftables: the path of the last full sync, and a full sync through nft alone for reference. */
  fullSyncPath?: () => string;
  nftReference?: (state: ProxyState) => Promise<SyncResult>;
  render(state: ProxyState): string;
  /**
   * The rule text of one change from `before`, as the proxier makes it: an nft update, or the
   * iptables chains that changed (the proxier keeps the applied chains, so they are made here
   * before the change is timed).
   */
  changeRenderer(before: ProxyState): (after: ProxyState) => string;
  close(): void;
}

function backendOps(backend: KernelBackend, netns: string): BackendOps {
  // One memo of names for the proxier and the renders timed beside it, as a proxier keeps its own.
  const opts = { clusterCIDRs: SCALE_CLUSTER_CIDRS, hashName: new NameHashes().hash };
  if (backend === "nftables") {
    const logged: string[] = [];
    const proxier = new NftablesProxier({ netns, ...opts, log: (m) => logged.push(m) });
    return {
      proxier,
      fullSyncPath: () => `${proxier.lastFullSync ?? "none"}${logged.length ? ` (${logged[0]!.slice(0, 300)})` : ""}`,
      nftReference: async (state) => {
        const reference = new NftablesProxier({ netns, ...opts, netlink: false });
        try {
          return await reference.sync(state, { full: true });
        } finally {
          reference.close();
        }
      },
      render: (s) => renderNftables(s, opts),
      // The proxier counts the table's index once per full sync; so does this, before the change is timed.
      changeRenderer: (b) => {
        const index = buildIndex(b);
        return (a) => renderNftablesUpdate(b, a, opts, index) ?? "";
      },
      close: () => proxier.close(),
    };
  }
  const changeRenderer = (before: ProxyState) => {
    const applied = iptablesChains(before, opts);
    return (after: ProxyState) => renderIptablesChanges(applied, iptablesChains(after, opts));
  };
  return { proxier: new IptablesProxier({ netns, ...opts }), render: (s) => renderIptables(s, opts), changeRenderer, close: () => {} };
}

const since = (t0: number): number => performance.now() - t0;

/** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time of this process and of the children it waited for (nft, iptables-restore), in
 * ms: the kernel's netlink work runs in this process's send, nft's in the child.
 */
function cpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] here is field 3.
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / USER_HZ;
}
const key = (o: { metadata: { namespace?: string; name?: string } }): string => `${o.metadata.namespace}/${o.metadata.name}`;

/** The proxier with its last error kept, so a failed sync can say why in one line. */
class RecordingProxier implements Proxier {
  lastError = "";
  constructor(private readonly inner: Proxier) {}
  get backend(): Proxier["backend"] {
    return this.inner.backend;
  }
  async sync(state: ProxyState, opts?: SyncOptions): Promise<SyncResult> {
    const r = await this.inner.sync(state, opts);
    if (!r.ok) this.lastError = r.error.split("\n")[0]!;
    return r;
  }
  cleanup(): Promise<Outcome> {
    return this.inner.cleanup();
  }
}

/** A SyncLoop whose pending syncs can be awaited with a bound; the first failed sync rejects. */
class BoundedLoop {
  readonly loop: SyncLoop;
  private readonly failed: Promise<never>;
  private fail!: (e: Error) => void;

  constructor(proxy: ServiceProxy, proxier: RecordingProxier) {
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => {});
    this.loop = new SyncLoop({
      sync: async (full) => {
        const ok = await proxy.sync(full);
        if (!ok) this.fail(new Error(`${proxier.backend} sync failed: ${proxier.lastError}`));
        return ok;
      },
    });
  }

  async settle(what: string, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${timeoutMs / 1000} s`)), timeoutMs)));
    try {
      await Promise.race([this.loop.idle(), this.failed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Figures as they are measured, so a run stopped half way still tells what it got. */
export type ScaleReport = (figures: Partial<ScaleResult>) => void;

export async function measureScale(opts: ScaleOptions, report: ScaleReport): Promise<void> {
  const lab = NetnsLab.create(BENCH_NETNS_PREFIX);
  try {
    const netns = await lab.addNamespace("rules");
    await measureIn(netns, opts, report);
  } finally {
    await lab.destroy();
  }
}

async function measureIn(netns: string, opts: ScaleOptions, report: ScaleReport): Promise<void> {
  const { backend, services: count, endpointsPerService: perService } = opts;
  report({ backend, services: count, endpointsPerService: perService });
  const objects = syntheticCluster(count, perService);
  const ops = backendOps(backend, netns);
  let t0 = performance.now();
  const fresh = buildProxyState({ ...objects, nodeName: SCALE_NODE, nodeIPs: [SCALE_NODE_IP] });
  const buildMs = since(t0);
  t0 = performance.now();
  const rulesetBytes = ops.render(fresh).length;
  const renderMs = since(t0);
  report({ buildMs, renderMs, rulesetBytes });

  // The agent's path: informer stores -> ServiceProxy (incremental state) -> proxier, driven by the SyncLoop.
  let rv = 1;
  const services = new Map<string, Service>(objects.services.map((o) => ((o.metadata.resourceVersion = String(rv++)), [key(o), o])));
  const slices = new Map<string, EndpointSlice>(objects.slices.map((o) => ((o.metadata.resourceVersion = String(rv++)), [key(o), o])));
  const proxier = new RecordingProxier(ops.proxier);
  const proxy = new ServiceProxy({
    proxier,
    nodeName: SCALE_NODE,
    nodeIPs: [SCALE_NODE_IP],
    services: () => services.values(),
    slices: () => slices.values(),
    metrics: new AgentMetrics(),
    conntrack: { cleanStaleUDP: async () => ({ ok: true, filters: 0, entries: 0 }) },
  });
  const bounded = new BoundedLoop(proxy, proxier);
  const { loop } = bounded;
  try {
    t0 = performance.now();
    let cpu0 = cpuMs();
    loop.start();
    await bounded.settle("the first full sync", opts.syncTimeoutMs);
    report({ firstSyncMs: since(t0), firstSyncCpuMs: cpuMs() - cpu0 });
    t0 = performance.now();
    cpu0 = cpuMs();
    loop.request(true);
    await bounded.settle("a repeated full sync", opts.syncTimeoutMs);
    report({ repeatSyncMs: since(t0), repeatSyncCpuMs: cpuMs() - cpu0 });
    if (ops.fullSyncPath) report({ fullSyncPath: ops.fullSyncPath() });
    if (ops.nftReference) {
      // The same table refilled through nft -f, then (below, by the first change) handed back.
      t0 = performance.now();
      cpu0 = cpuMs();
      const r = await ops.nftReference(proxy.currentState());
      if (!r.ok) throw new Error(`nft -f reference full sync failed: ${r.error.split("\n")[0]}`);
      report({ nftSyncMs: since(t0), nftSyncCpuMs: cpuMs() - cpu0 });
    }

    // One endpoint of one Service turns unready, then ready again: a watch event replaces the slice.
    const target = key(objects.slices[Math.floor(count / 2)]!);
    const replaceSlice = (ready: boolean, endpoint: number) => {
      const next = structuredClone(slices.get(target)!);
      next.metadata.resourceVersion = String(rv++);
      next.endpoints[endpoint % perService]!.conditions = { ready };
      slices.set(target, next);
    };
    const times: number[] = [];
    const budgetStart = performance.now();
    for (let i = 0; i < opts.changes && (i === 0 || since(budgetStart) < opts.changeBudgetMs); i++) {
      await sleep(DEFAULT_MIN_SYNC_INTERVAL_MS);
      t0 = performance.now();
      replaceSlice(i % 2 === 1, 3);
      loop.request();
      await bounded.settle("one endpoint change", opts.syncTimeoutMs);
      times.push(since(t0));
      report({ changeMedianMs: median(times), changeWorstMs: Math.max(...times), changesTimed: times.length });
    }

    await loop.stop();
    // The JS part alone, for one more change: state and rule text, not applied.
    const renderChange = ops.changeRenderer(proxy.currentState());
    replaceSlice(false, 4);
    t0 = performance.now();
    renderChange(proxy.currentState());
    const changeJsMs = since(t0);
    globalThis.gc?.();
    const mem = process.memoryUsage();
    report({ changeJsMs, rssMb: mem.rss / 2 ** 20, heapUsedMb: mem.heapUsed / 2 ** 20 });
  } finally {
    // After a failure a sync may still be running (the child's caller ends it): stop
    // scheduling, without waiting for it.
    void loop.stop();
    ops.close();
  }
}
