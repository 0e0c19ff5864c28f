// Part 1 of `npm run bench`: the edge data plane. The same load (wrk or autocannon, fixed
// concurrency, warm-up then a measured window) against: the pods directly; a floor Worker
// that only forwards to one pod; the gateway with 1 Service; the gateway with 10,000
// Services registered, Host rotated over 1,000 of them; nginx, when installed; and the
// floor again with wrangler's DevTools relay on, then with its local observability collector
// on, to show why both are off everywhere else (edge/devtools-relay.ts,
// registry/local-observability.ts). Both Workers run under `wrangler dev` (workerd) the same way.
// The claims are ratios between lines of this run (edge/summary.ts).
import { DEFAULT_GATEWAY_CONFIG } from "../src/gateway/config";
import { freePort, startLocalWorker, type LocalWorker } from "../test/e2e/local-worker";
import { loadTool } from "./load";
import { startPod, type Pod } from "./pods";
import type { BenchOptions, BenchPart, PartResult } from "./types";
import { adminApi, type AdminApi } from "./edge/admin";
import { DEVTOOLS_RELAY_OFF } from "./edge/devtools-relay";
import { startFloorWorker, type FloorExtras } from "./edge/floor";
import { LOCAL_OBSERVABILITY_OFF } from "./registry/local-observability";
import { combineWindows, measureWindow, type Window, type WindowSpec } from "./edge/measure";
import { nginxInstalled, startNginx } from "./edge/nginx";
import { checkHostsServed, registerServices, waitForKvFlushed, type ServiceSpec } from "./edge/services";
import { count, summarise, type Measured } from "./edge/summary";
import { processRssMb } from "./edge/proc-cpu";
import { wranglerProcesses } from "./edge/wrangler-processes";

interface Sizes {
  /** Warm-up before a line's first (or only) window. */
  warmupS: number;
  /** Measured time of a line: one window, or `rounds` × `roundWindowS` for the lines the targets compare. */
  durationS: number;
  /** Rounds of alternating windows for the floor and the two gateway lines. */
  rounds: number;
  roundWindowS: number;
  /** Warm-up before each later window of a line (wrk opens new connections). */
  roundWarmupS: number;
  services: number;
  endpointsPerService: number;
  rotatedHosts: number;
  /** How long the registry may take to flush the registered Services' keys to KV. */
  flushTimeoutMs: number;
}

const FULL: Sizes = {
  warmupS: 3,
  durationS: 10,
  // Ten, not five: one window's rps moves by up to ±20 % (the Worker's workerd is one busy core
  // on a 2-core machine shared with wrk, the ProxyWorker and the pods).
  rounds: 10,
  roundWindowS: 2,
  roundWarmupS: 1,
  services: 10_000,
  endpointsPerService: 10,
  rotatedHosts: 1_000,
  flushTimeoutMs: 300_000,
};
/** Quick proves the harness runs; its sizes support no claim. */
const QUICK: Sizes = {
  warmupS: 1,
  durationS: 2,
  rounds: 2,
  roundWindowS: 1,
  roundWarmupS: 1,
  services: 200,
  endpointsPerService: 10,
  rotatedHosts: 200,
  flushTimeoutMs: 60_000,
};
/** Connections held open by the load generator, the same on every line. */
const CONNECTIONS = 32;
const POD_COUNT = 3;
/** The Host header of every one-host line, so that the load generator runs the same script everywhere. */
const ONE_HOST = "web-default.bench.invalid";

export const part: BenchPart = { name: "edge", run };

interface Bench {
  sizes: Sizes;
  pods: Pod[];
  measured: Measured[];
  notes: string[];
  log(msg: string): void;
  /** Stopped in reverse order on every exit path. */
  stops: (() => Promise<void>)[];
}

async function run(opts: BenchOptions): Promise<PartResult> {
  const sizes = opts.quick ? QUICK : FULL;
  const bench: Bench = { sizes, pods: [], measured: [], notes: [], log: (m) => opts.log(`edge: ${m}`), stops: [] };
  try {
    bench.log(`starting ${POD_COUNT} pods`);
    for (let i = 0; i < POD_COUNT; i++) {
      const pod = await startPod(`pod-${i}`, "127.0.0.1", await freePort());
      bench.stops.push(() => pod.proc.stop());
      bench.pods.push(pod);
    }
    bench.log("direct");
    await measure(
      bench,
      { kind: "direct", name: "direct", setup: `one of the ${POD_COUNT} pods, no proxy`, podsUsed: 1 },
      { url: bench.pods[0]!.url, hosts: [ONE_HOST] },
    );
    await measureFloorAndGateway(bench);
    // Lines no target depends on: a failure leaves the line out with its reason.
    await optionalLine(bench, "nginx", () => measureNginx(bench));
    await optionalLine(bench, "floor, DevTools relay on", () =>
      measureFloorWith(
        bench,
        { devtoolsRelay: true },
        {
          kind: "floor-relay-on",
          name: "floor, DevTools relay on",
          setup: "the floor with wrangler dev's DevTools relay left on (bench/edge/devtools-relay.ts)",
          podsUsed: 1,
        },
      ),
    );
    await optionalLine(bench, "floor, local observability on", () =>
      measureFloorWith(
        bench,
        { localObservability: true },
        {
          kind: "floor-observability-on",
          name: "floor, local observability on",
          setup: "the floor with wrangler dev's local observability collector left on (bench/registry/local-observability.ts)",
          podsUsed: 1,
        },
      ),
    );
  } finally {
    for (const stop of bench.stops.reverse()) await stop().catch(() => undefined);
  }
  return summarise(
    bench.measured,
    {
      tool: loadTool(),
      connections: CONNECTIONS,
      warmupS: sizes.warmupS,
      durationS: sizes.durationS,
      services: sizes.services,
      rounds: sizes.rounds,
      roundWindowS: sizes.roundWindowS,
      roundWarmupS: sizes.roundWarmupS,
    },
    bench.notes,
  );
}

async function optionalLine(bench: Bench, name: string, measureIt: () => Promise<void>): Promise<void> {
  try {
    await measureIt();
  } catch (e) {
    bench.notes.push(`${name} line left out: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
  }
}

async function measure(bench: Bench, line: Omit<Measured, "window">, spec: Pick<WindowSpec, "url" | "hosts"> & Partial<WindowSpec>): Promise<void> {
  const window = await measureWindow({ connections: CONNECTIONS, warmupS: bench.sizes.warmupS, durationS: bench.sizes.durationS, pods: bench.pods, ...spec });
  bench.measured.push({ ...line, window });
}

/** A line measured in alternating windows, with what it needs before each. */
interface Contestant {
  line: Omit<Measured, "window">;
  spec: Pick<WindowSpec, "url" | "hosts"> & Partial<WindowSpec>;
  /** Gateway lines: the Worker whose hosts are asked for before each window. */
  gateway?: { url: string; loaded?: { startMs: number; endMs: number } };
  windows: Window[];
}

/** Slack around a route-cache expiry, for the check's and wrk's start-up. */
const EXPIRY_MARGIN_MS = 2_000;

/**
 * The three lines the targets compare, measured in rounds of alternating windows (floor,
 * 1 Service, many; then the other way round), so that the machine's changing load falls
 * on all three alike. All three Workers are started (and filled) first.
 */
async function measureFloorAndGateway(bench: Bench): Promise<void> {
  const { sizes, pods } = bench;
  bench.log("starting the floor Worker and two svcedge Workers");
  const floor = await startFloorWorker(pods[0]!.url);
  bench.stops.push(() => floor.stop());
  const startGateway = async () => {
    // The pods are on 127.0.0.1: the gateway's origin guard must be lifted.
    const worker = await startLocalWorker({ env: { ...DEVTOOLS_RELAY_OFF, ...LOCAL_OBSERVABILITY_OFF }, vars: { GATEWAY_ALLOW_LOCAL_ORIGINS: "true" } });
    bench.stops.push(() => worker.stop());
    return { worker, admin: adminApi(worker.url, worker.adminToken) };
  };
  const one = await startGateway();
  const many = await startGateway();

  const endpoints = sizes.services * sizes.endpointsPerService;
  bench.log(`registering ${count(sizes.services)} Services / ${count(endpoints)} endpoints`);
  const t0 = performance.now();
  const hosts = await registerServices(many.admin, manyServices(sizes, pods));
  const registeredS = (performance.now() - t0) / 1000;
  await waitForKvFlushed(many.admin, sizes.flushTimeoutMs);
  const flushedS = (performance.now() - t0) / 1000;
  const rotated = spread(hosts, sizes.rotatedHosts);
  bench.notes.push(
    `${count(sizes.services)} Services / ${count(endpoints)} endpoints (${sizes.endpointsPerService} per Service, URLs spread over the ${POD_COUNT} pods) registered through the admin API in ${registeredS.toFixed(1)} s, ` +
      `all route records in KV after ${flushedS.toFixed(1)} s; each of the ${count(rotated.length)} rotated hosts answered by a pod before every window`,
  );
  const [webHost] = await registerServices(one.admin, [{ name: "web", endpointUrls: pods.map((p) => p.url) }]);
  await waitForKvFlushed(one.admin, sizes.flushTimeoutMs);

  const contestants: Contestant[] = [
    {
      line: { kind: "floor", name: "floor", setup: "wrangler dev, a fetch handler that forwards to one pod", podsUsed: 1 },
      spec: { url: floor.url, hosts: [ONE_HOST], ...wranglerCpu(floor.url, bench) },
      windows: [],
    },
    {
      line: { kind: "gateway-one", name: `svcedge, 1 Service / ${POD_COUNT} endpoints`, setup: webHost!, podsUsed: POD_COUNT },
      spec: gatewaySpec(one.worker, one.admin, [webHost!], bench),
      gateway: { url: one.worker.url },
      windows: [],
    },
    {
      line: {
        kind: "gateway-many",
        name: `svcedge, ${count(sizes.services)} Services / ${count(endpoints)} endpoints`,
        setup: `Host rotated over ${count(rotated.length)} of the ${count(sizes.services)} public hostnames`,
        podsUsed: POD_COUNT,
      },
      spec: gatewaySpec(many.worker, many.admin, rotated, bench),
      gateway: { url: many.worker.url },
      windows: [],
    },
  ];
  let waitedMs = 0;
  for (let round = 0; round < sizes.rounds; round++) {
    bench.log(`floor and gateway lines: round ${round + 1} of ${sizes.rounds}`);
    for (const c of round % 2 === 0 ? contestants : [...contestants].reverse()) {
      const warmupS = round === 0 ? sizes.warmupS : sizes.roundWarmupS;
      if (c.gateway) waitedMs += await loadHosts(c.gateway, c.spec.hosts, warmupS + sizes.roundWindowS);
      c.windows.push(await measureWindow({ connections: CONNECTIONS, pods, ...c.spec, warmupS, durationS: sizes.roundWindowS }));
    }
  }
  for (const c of contestants) bench.measured.push({ ...c.line, window: combineWindows(c.windows) });
  if (waitedMs > 0)
    bench.notes.push(`the alternating windows waited ${(waitedMs / 1000).toFixed(1)} s in all so that no gateway window straddled a route-cache expiry`);
  const rss = contestants.map((c) => (c.spec.workerPid === undefined ? undefined : processRssMb(c.spec.workerPid)));
  if (rss.every((r) => r !== undefined)) {
    bench.notes.push(
      `RSS of the workerd running each Worker after the rounds: ${contestants.map((c, i) => `${c.line.name} ${count(rss[i]!)} MiB`).join(", ")}; ` +
        "under wrangler dev the registry Durable Object runs in the same process and isolate as the gateway, so its Services share the gateway's heap",
    );
  }
  await Promise.all([floor.stop(), one.worker.stop(), many.worker.stop()]);
}

/**
 * Asks the gateway for every host of the next window (each must be served by a pod), which
 * also (re)loads them into its route cache. A window must not straddle an expiry: if the
 * hosts would expire before the window ends, this first waits until all have expired, so
 * that the check reloads them. Returns the time it waited.
 */
async function loadHosts(gateway: NonNullable<Contestant["gateway"]>, hosts: string[], windowS: number): Promise<number> {
  const ttlMs = DEFAULT_GATEWAY_CONFIG.routeCacheTtlMs;
  let waitedMs = 0;
  const loaded = gateway.loaded;
  if (loaded) {
    const checkMs = loaded.endMs - loaded.startMs;
    const freshThroughWindow = Date.now() + checkMs + windowS * 1000 + EXPIRY_MARGIN_MS < loaded.startMs + ttlMs;
    if (freshThroughWindow) {
      await checkHostsServed(gateway.url, hosts);
      return 0;
    }
    waitedMs = Math.max(0, loaded.endMs + ttlMs + EXPIRY_MARGIN_MS - Date.now());
    await new Promise((r) => setTimeout(r, waitedMs));
  }
  const startMs = Date.now();
  await checkHostsServed(gateway.url, hosts);
  gateway.loaded = { startMs, endMs: Date.now() };
  return waitedMs;
}

async function measureNginx(bench: Bench): Promise<void> {
  if (!nginxInstalled()) {
    bench.notes.push("nginx line left out: nginx is not installed (apt-get install nginx)");
    return;
  }
  bench.log("nginx");
  const nginx = await startNginx(bench.pods.map((p) => `${p.ip}:${p.port}`));
  bench.stops.push(() => nginx.stop());
  await measure(
    bench,
    { kind: "nginx", name: "nginx", setup: `nginx from apt, worker_processes 1, keep-alive to the ${POD_COUNT} pods`, podsUsed: POD_COUNT },
    { url: nginx.url, hosts: [ONE_HOST], proxyGroup: nginx.pgrp },
  );
  await nginx.stop();
}

/** The floor with one of wrangler dev's extras left on: one window, to show the tax every other Worker line is spared. */
async function measureFloorWith(bench: Bench, extras: FloorExtras, line: Omit<Measured, "window">): Promise<void> {
  bench.log(line.name);
  const floor = await startFloorWorker(bench.pods[0]!.url, extras);
  bench.stops.push(() => floor.stop());
  await measure(bench, line, { url: floor.url, hosts: [ONE_HOST], ...wranglerCpu(floor.url, bench) });
  await floor.stop();
}

function gatewaySpec(worker: LocalWorker, admin: AdminApi, hosts: string[], bench: Bench): Pick<WindowSpec, "url" | "hosts"> & Partial<WindowSpec> {
  return { url: worker.url, hosts, ...wranglerCpu(worker.url, bench), counters: () => admin.metrics() };
}

/** The CPU readings of a wrangler dev: its process group and the workerd that runs the Worker. */
function wranglerCpu(url: string, bench: Bench): Partial<WindowSpec> {
  const found = wranglerProcesses(Number(new URL(url).port));
  if (!found) bench.notes.push(`the processes of the Worker on ${url} were not found in /proc: its CPU is not reported`);
  return { proxyGroup: found?.group, workerPid: found?.workerPid };
}

/** Endpoint URLs spread over the pods; a path prefix per endpoint keeps them distinct (equal URLs are one endpoint). */
function manyServices(sizes: Sizes, pods: Pod[]): ServiceSpec[] {
  return Array.from({ length: sizes.services }, (_, s) => ({
    name: `edge-${s}`,
    endpointUrls: Array.from({ length: sizes.endpointsPerService }, (_, e) => `${pods[(s * sizes.endpointsPerService + e) % pods.length]!.url}/e${e}`),
  }));
}

/** `n` items evenly spread over `all`. */
function spread<T>(all: T[], n: number): T[] {
  if (n >= all.length) return [...all];
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!);
}
