// Measures the nftables backend at scale in a throwaway network namespace (root, nft):
// state building, rendering, a first and a repeated full sync, and one endpoint change from
// the informer event to `nft` having applied it (through the agent's real ServiceProxy,
// SyncLoop and NftablesProxier), for N Services x E endpoints (ClusterIP; every 10th a
// NodePort, every 100th with ClientIP affinity). A measuring script, not a test: nothing
// here asserts a time. Run one size per process for a meaningful RSS:
//
//   node --expose-gc --experimental-transform-types --disable-warning=ExperimentalWarning \
//     --import ./src/agent/ts-resolve.mjs scripts/nft-scale.ts [services...] [--endpoints 10]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { EndpointSlice, Service } from "../src/api/types";
import { SERVICE_NAME_LABEL } from "../src/api/types";
import { buildProxyState } from "../src/agent/proxy/state";
import { ServiceProxy } from "../src/agent/service-proxy";
import { DEFAULT_MIN_SYNC_INTERVAL_MS, SyncLoop } from "../src/agent/sync-loop";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentMetrics } from "../src/agent/metrics";
import { NftablesProxier, listNftablesObjects } from "../src/agent/proxy/nftables/apply";
import { renderNftables, renderNftablesUpdate } from "../src/agent/proxy/nftables/render";
import { commandRunner } from "../src/agent/proxy/command";

const args = process.argv.slice(2);
const epFlag = args.indexOf("--endpoints");
const perService = epFlag >= 0 ? Number(args.splice(epFlag, 2)[1]) : 10;
const counts = args.length ? args.map(Number) : [100, 1000, 10_000];
const NODE = "node-a";
const NODE_IP = "198.18.0.1";

function cluster(count: number, unreadyService = -1): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let s = 0; s < count; s++) {
    const ns = `ns-${s % 50}`;
    const name = `svc-${s}`;
    const nodePort = s % 10 === 0 ? { nodePort: 30000 + (s % 2700) } : {};
    services.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { namespace: ns, name },
      spec: {
        type: s % 10 === 0 && s < 27_000 ? "NodePort" : "ClusterIP",
        clusterIP: `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`,
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", ...(s < 27_000 ? nodePort : {}) }],
        ...(s % 100 === 1 ? { sessionAffinity: "ClientIP" as const } : {}),
      },
    });
    const endpoints = [];
    for (let e = 0; e < perService; e++) {
      const n = s * perService + e;
      endpoints.push({ addresses: [`10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`], conditions: { ready: !(s === unreadyService && e === 3) }, nodeName: e % 3 === 0 ? NODE : "node-b" });
    }
    slices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { namespace: ns, name: `${name}-abc`, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  }
  return { services, slices };
}

const ms = (t0: number) => `${(performance.now() - t0).toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const OPTS = { clusterCIDRs: ["10.128.0.0/10"] };
/** Endpoint changes timed per size; the report gives the median and the worst. */
const CHANGES = 9;

async function measure(count: number, netns: string): Promise<void> {
  const run = commandRunner({ netns });
  const objects = cluster(count);
  let t0 = performance.now();
  const s1 = buildProxyState({ ...objects, nodeName: NODE, nodeIPs: [NODE_IP] });
  const buildTime = ms(t0);
  t0 = performance.now();
  const text = renderNftables(s1, OPTS);
  const renderTime = ms(t0);
  t0 = performance.now();
  await listNftablesObjects(run);
  const listTime = ms(t0);

  // The agent's path: informer stores -> ServiceProxy (incremental state) -> NftablesProxier, driven by the SyncLoop.
  let rv = 1;
  const key = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;
  const services = new Map(objects.services.map((o) => ((o.metadata.resourceVersion = String(rv++)), [key(o), o])));
  const slices = new Map(objects.slices.map((o) => ((o.metadata.resourceVersion = String(rv++)), [key(o), o])));
  const proxier = new NftablesProxier({ netns, ...OPTS });
  const proxy = new ServiceProxy({ proxier, nodeName: NODE, nodeIPs: [NODE_IP], services: () => services.values(), slices: () => slices.values(), metrics: new AgentMetrics(), flushConntrack: async () => ({ ok: true }) });
  const loop = new SyncLoop({ sync: (full) => proxy.sync(full) });
  t0 = performance.now();
  loop.start();
  await loop.idle();
  const firstTime = ms(t0);
  t0 = performance.now();
  loop.request(true);
  await loop.idle();
  const againTime = ms(t0);

  // One endpoint of one Service turns unready (then ready again): a watch event replaces the slice.
  const target = key(objects.slices[Math.floor(count / 2) + 2]!);
  const times: number[] = [];
  let commands = 0;
  for (let i = 0; i < CHANGES; i++) {
    // A lone change: the loop's rate limit (one sync per minimum interval) would otherwise delay it.
    await sleep(DEFAULT_MIN_SYNC_INTERVAL_MS);
    const before = proxy.currentState();
    const old = slices.get(target)!;
    const next = structuredClone(old);
    next.metadata.resourceVersion = String(rv++);
    next.endpoints[3]!.conditions = { ready: i % 2 === 1 };
    t0 = performance.now();
    slices.set(target, next);
    loop.request();
    await loop.idle();
    times.push(performance.now() - t0);
    commands = (renderNftablesUpdate(before, proxy.currentState(), OPTS) ?? "").split("\n").length - 1;
  }
  if (process.env.SCALE_DEBUG) console.log(times.map((t) => t.toFixed(1)).join(" "));
  times.sort((x, y) => x - y);
  // The JS part alone: state + update render for one more change, without applying it.
  const stateBefore = proxy.currentState();
  const last = structuredClone(slices.get(target)!);
  last.metadata.resourceVersion = String(rv++);
  last.endpoints[4]!.conditions = { ready: false };
  slices.set(target, last);
  t0 = performance.now();
  renderNftablesUpdate(stateBefore, proxy.currentState(), OPTS);
  const jsTime = ms(t0);
  await loop.stop();
  proxier.close();

  globalThis.gc?.();
  const mem = process.memoryUsage();
  const chains = (await run(["nft", "-j", "-t", "list", "chains", "ip"])).stdout.split('"chain"').length - 1;
  console.log(
    [
      `${count} services x ${perService} endpoints: ${text.length} bytes, ${text.split("\n").length} lines, ${chains} chains`,
      `  build state (from scratch) ${buildTime}, render full ${renderTime}, list chains+sets ${listTime}`,
      `  first full sync ${firstTime}; repeated full sync ${againTime}`,
      `  one endpoint change, informer event -> nft applied: median ${times[times.length >> 1]!.toFixed(1)} ms, worst ${times[times.length - 1]!.toFixed(1)} ms (${commands} commands); state + update render alone ${jsTime}`,
      `  memory (stores + ServiceProxy + proxier state${globalThis.gc ? ", after gc" : ""}): rss ${mb(mem.rss)}, heap used ${mb(mem.heapUsed)}`,
    ].join("\n"),
  );
}

const netns = `svcedge-scale-${randomBytes(3).toString("hex")}`;
execFileSync("ip", ["netns", "add", netns]);
try {
  for (const count of counts) {
    await measure(count, netns);
    execFileSync("ip", ["netns", "exec", netns, "nft", "flush", "ruleset"]);
  }
} finally {
  execFileSync("ip", ["netns", "del", netns]);
}
