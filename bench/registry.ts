// Part 2 of `npm run bench`: the registry. Against the real Worker (wrangler dev: workerd,
// local KV and Durable Object storage): S Services and S×P Pods created through the admin
// API in tenths, with the registry's heap (through workerd's inspector) and its SQLite
// database measured after each tenth; the time until the last of them is routable at the
// edge, the KV writes that cost; an unpaged list of every Pod and the heap while it runs;
// the watch fan-out latency from a write to watchers seeing it; and a restart on the same
// state: the first write's latency, then a stretch of mixed reads and writes. With
// `--baseline <checkout>`, last, the plain Pod create loop on this tree and on that revision
// (registry/baseline-rate.ts).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchOptions, BenchPart, Line, PartResult, Ratio } from "./types";
import { startPod, type Pod } from "./pods";
import { freePort, startLocalWorker, type LocalWorker } from "../test/e2e/local-worker";
import { AdminApi, type RegistryFigures } from "./registry/admin-api";
import { HttpTarget } from "./registry/http";
import { quantile, type BoundedRun } from "./registry/bounded-writes";
import { BENCH_NAMESPACE, namespaceBody, podBody, serviceBody, serviceHost } from "./registry/objects";
import { sweepHosts, waitRoutable } from "./registry/routable";
import { KV_POLL_MS, KV_QUIET_MS, waitKvSettled } from "./registry/kv-settle";
import { measureFanout } from "./registry/watch-fanout";
import { startControlProbe } from "./registry/control-probe";
import { IsolateHeap } from "./registry/isolate-heap";
import { dbSize, registryDbPath } from "./registry/registry-db";
import { createInTenths, TENTHS, type TenthsRun } from "./registry/tenths";
import { unpagedPodList } from "./registry/unpaged-list";
import { plainPodRate, type PlainRatePlan } from "./registry/baseline-rate";
import { firstWrite, mixedLoad } from "./registry/after-restart";
import { snapshotSources } from "./registry/source-snapshot";
import {
  baselineRateFigures,
  fullListFigures,
  heapGrowthTarget,
  listProbeNote,
  rateFigures,
  restartFigures,
  storageLine,
  tenthLines,
  type RestartFigures,
} from "./registry/scale-report";
import { groupCpuByCommand } from "./edge/proc-cpu";
import { wranglerProcesses } from "./edge/wrangler-processes";
import { DEVTOOLS_RELAY_OFF } from "./edge/devtools-relay";
import { LOCAL_OBSERVABILITY_OFF } from "./registry/local-observability";
import { KV_MIN_WRITE_INTERVAL_MS, KV_WRITES_PER_FLUSH } from "../src/registry/kv-replica";
import { serviceHosts } from "../src/registry/route-compiler";
import type { Service } from "../src/api/types";

interface Sizes {
  services: number;
  podsPerService: number;
  /** Admin API requests in flight while creating. */
  inFlight: number;
  /** Real loopback pod servers the Pods' URLs point at. */
  podServers: number;
  watchers: number;
  fanoutWrites: number;
  fanoutSpacingMs: number;
  /** Bound on the whole creation phase (Services and Pods). */
  createBoundMs: number;
  /** Bound on the wait for routability and for the KV replica to settle, and on the host sweep. */
  settleBoundMs: number;
  /** Mixed reads and writes after the restart. */
  afterRestartMs: number;
}

const FULL: Sizes = {
  services: 10_000,
  podsPerService: 10,
  inFlight: 8,
  podServers: 4,
  watchers: 10,
  fanoutWrites: 50,
  fanoutSpacingMs: 100,
  createBoundMs: 1_200_000,
  settleBoundMs: 240_000,
  afterRestartMs: 60_000,
};
const QUICK: Sizes = {
  services: 200,
  podsPerService: 10,
  inFlight: 8,
  podServers: 2,
  watchers: 10,
  fanoutWrites: 20,
  fanoutSpacingMs: 50,
  createBoundMs: 90_000,
  settleBoundMs: 40_000,
  afterRestartMs: 10_000,
};

/** The gateway caches a host (and a miss) this long; short, so that polling cannot delay the answer it waits for. */
const ROUTE_CACHE_TTL_S = 0.05;
const ROUTABLE_POLL_MS = 50;
const CONTROL_PROBE_MS = 20;
const LB_DOMAIN = "lb.svcedge.local";
/** wrangler.toml's name and the Durable Object's class: the inspector target and the state folder. */
const WORKER_NAME = "svcedge";
const REGISTRY_CLASS = "Registry";
/** wrangler dev's start (bundle, workerd) on a loaded 2-core machine. */
const WORKER_READY_MS = 90_000;
/** Bound on the first write after the restart (the Durable Object's start). */
const FIRST_WRITE_BOUND_MS = 60_000;
/** Requests in flight after the restart: a few controllers and a kubectl. */
const AFTER_RESTART_IN_FLIGHT = 4;
/** A bench Service's hosts at the edge (its cluster name and its LB_DOMAIN name), as the route compiler names them. */
const hostsPerService = serviceHosts(serviceBody(0) as unknown as Service, { clusterDomain: "cluster.local", lbDomain: LB_DOMAIN }).length;

const round = (v: number, digits = 1) => Number(v.toFixed(digits));

function createLine(what: string, runs: BoundedRun[], count: number, inFlight: number): Line {
  const done = runs.reduce((t, r) => t + r.done, 0);
  const failed = runs.reduce((t, r) => t + r.failed, 0);
  const wallS = runs.reduce((t, r) => t + (r.lastAnswerAt - r.startedAt) / 1000, 0);
  const latencies = runs.flatMap((r) => r.latenciesMs);
  const firstError = runs.find((r) => r.firstError)?.firstError;
  const errors = failed ? `, ${failed} failed (first: ${firstError})` : "";
  const stopped = runs.some((r) => r.timedOut) ? `, stopped at the time bound after ${done} of ${count}` : "";
  return {
    name: `create ${count.toLocaleString("en-US")} ${what}, ${inFlight} in flight`,
    metrics: {
      count: done - failed,
      wall_s: round(wallS, 2),
      per_s: round((done - failed) / wallS),
      p50_ms: round(quantile(latencies, 0.5), 2),
      p99_ms: round(quantile(latencies, 0.99), 2),
      max_ms: round(Math.max(...latencies), 1),
    },
    detail: `POST through the admin API, one request per object, latency = send → 201; wall_s = the ${TENTHS} tenths' create phases, not the samples between them${errors}${stopped}`,
  };
}

/** The Worker under test and what the bench holds open to it; replaced whole on the restart. */
interface Live {
  worker: LocalWorker;
  api: AdminApi;
  controlApi: AdminApi;
  gateway: HttpTarget;
  heap?: IsolateHeap;
  heapError?: string;
  /** wrangler dev's process group, for CPU readings and the exit hook. */
  group?: number;
  startMs: number;
  close(): Promise<void>;
}

/**
 * wrangler dev on the bench's state folder and its copy of the sources (a file saved under
 * src/ mid-run would restart the Worker: bench/registry/source-snapshot.ts), with the
 * DevTools relay off so that the bench's inspector session is the isolate's only one
 * (bench/registry/isolate-heap.ts), and without the local observability collector
 * (bench/registry/local-observability.ts), which production does not have. Its process
 * group is killed on any exit of this process (Ctrl-C: bench/processes.ts exits; a SIGKILL:
 * the parent-death signal), as bench/processes.ts does for its own children.
 */
async function startWorker(stateDir: string, adminToken: string, inFlight: number, wrap: string[]): Promise<Live> {
  const t0 = performance.now();
  // The pods are on 127.0.0.1: the gateway's origin guard must be lifted.
  const worker = await startLocalWorker({
    stateDir,
    adminToken,
    env: { ...DEVTOOLS_RELAY_OFF, ...LOCAL_OBSERVABILITY_OFF },
    vars: { GATEWAY_ROUTE_CACHE_TTL_SECONDS: String(ROUTE_CACHE_TTL_S), LB_DOMAIN, GATEWAY_ALLOW_LOCAL_ORIGINS: "true" },
    readyTimeoutMs: WORKER_READY_MS,
    wrap: ["setpriv", "--pdeathsig", "TERM", "--", ...wrap],
  });
  const startMs = performance.now() - t0;
  const procs = wranglerProcesses(Number(new URL(worker.url).port));
  const killGroup = () => {
    try {
      if (procs) process.kill(-procs.group, "SIGKILL");
    } catch {
      // Gone already.
    }
  };
  process.once("exit", killGroup);
  const live: Live = {
    worker,
    api: new AdminApi(worker.url, worker.adminToken, inFlight),
    controlApi: new AdminApi(worker.url, worker.adminToken, 1),
    gateway: new HttpTarget(worker.url, inFlight),
    group: procs?.group,
    startMs,
    close: async () => {
      live.heap?.close();
      live.api.close();
      live.controlApi.close();
      live.gateway.close();
      await worker.stop();
      process.removeListener("exit", killGroup);
    },
  };
  try {
    if (procs?.workerPid === undefined) throw new Error("the workerd that runs the Worker was not found");
    live.heap = await IsolateHeap.connect(procs.workerPid, WORKER_NAME);
  } catch (e) {
    live.heapError = e instanceof Error ? e.message : String(e);
  }
  return live;
}

/** Says in the notes why heap readings are missing, if they are. */
function heapTrouble(live: Live, when: string, result: PartResult): void {
  if (live.heapError) result.notes.push(`no heap readings ${when}: ${live.heapError}`);
  else if (live.heap?.lostAt)
    result.notes.push(
      `heap readings ${when} stop at ${live.heap.lostAt.toISOString()}: the inspector session ended (wrangler dev reloads the Worker when a source file changes; or workerd exited)`,
    );
}

/** The heap after a forced GC (the Worker's GET /version enters the isolate, so the GC runs). */
async function heapAfterGc(live: Live) {
  if (!live.heap) return undefined;
  try {
    await live.heap.collectGarbage(() => live.controlApi.send("GET", "/version"));
    return await live.heap.usage();
  } catch {
    return undefined;
  }
}

export const part: BenchPart = {
  name: "registry",
  async run(opts: BenchOptions): Promise<PartResult> {
    const sz = opts.quick ? QUICK : FULL;
    const result: PartResult = { part: "registry", lines: [], ratios: [], targets: [], notes: [] };
    const pods: Pod[] = [];
    // Kept across the restart; removed at the end (and on any exit).
    const stateDir = mkdtempSync(join(tmpdir(), "svcedge-bench-registry-"));
    const sources = snapshotSources();
    const removeState = () => {
      rmSync(stateDir, { recursive: true, force: true });
      sources.remove();
    };
    process.once("exit", removeState);
    const adminToken = randomBytes(24).toString("base64url");
    const live: { current?: Live } = {};
    try {
      for (let i = 0; i < sz.podServers; i++) pods.push(await startPod(`registry-${i}`, "127.0.0.1", await freePort()));
      opts.log(`registry: starting the Worker (wrangler dev)`);
      live.current = await startWorker(stateDir, adminToken, sz.inFlight, sources.wrap);
      await live.current.api.must("POST", "/api/v1/namespaces", namespaceBody(), 201);
      const complete = await measure(opts, sz, live.current, pods, stateDir, result);
      heapTrouble(live.current, "before the restart", result);
      opts.log(`registry: restarting the Worker on the same state`);
      await live.current.close();
      live.current = undefined;
      live.current = await startWorker(stateDir, adminToken, sz.inFlight, sources.wrap);
      await afterRestart(sz, complete, live.current, pods[0]!.url, result);
      heapTrouble(live.current, "after the restart", result);
      await live.current.close();
      live.current = undefined;
      if (opts.baseline) await againstBaseline(opts, opts.baseline, sz, sources.dir, pods[0]!.url, result);
    } finally {
      await live.current?.close();
      for (const p of pods) await p.proc.stop();
      removeState();
      process.removeListener("exit", removeState);
    }
    return result;
  },
};

/** The plain create loop on this tree's snapshot, then on the baseline checkout (baseline-rate.ts). */
async function againstBaseline(opts: BenchOptions, baseline: string, sz: Sizes, snapshot: string, podUrl: string, result: PartResult): Promise<void> {
  const size = `${sz.services.toLocaleString("en-US")} Services × ${sz.podsPerService} Pods, ${sz.inFlight} in flight`;
  const plan = (): PlainRatePlan => ({
    services: sz.services,
    podsPerService: sz.podsPerService,
    inFlight: sz.inFlight,
    podUrl,
    deadlineAt: performance.now() + sz.createBoundMs,
    readyTimeoutMs: WORKER_READY_MS,
  });
  const label = revisionOf(baseline);
  opts.log(`registry: plain Pod creates, this tree (${size})`);
  const ours = await plainPodRate(snapshot, plan());
  opts.log(`registry: plain Pod creates, baseline ${label}`);
  const theirs = await plainPodRate(baseline, plan());
  baselineRateFigures(result, ours, theirs, label, size);
}

/** The baseline checkout's commit, short, as git names it; its path when it is not a git checkout. */
function revisionOf(dir: string): string {
  try {
    return execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return dir;
  }
}

/** Measures everything before the restart; resolves with the Services created whole (with all their Pods). */
async function measure(opts: BenchOptions, sz: Sizes, live: Live, pods: Pod[], stateDir: string, result: PartResult): Promise<number> {
  const { api, controlApi, gateway } = live;
  const S = sz.services;
  const P = sz.podsPerService;
  const N = S * P;
  // The namespace's own KV write must not count: start from a settled replica.
  const before = (await waitKvSettled(api, performance.now() + sz.settleBoundMs)).final;
  const load = loadavg()[0]!;
  const base = `/api/v1/namespaces/${BENCH_NAMESPACE}`;
  const readDb = () => {
    const path = registryDbPath(stateDir, WORKER_NAME, REGISTRY_CLASS);
    try {
      return path === undefined ? undefined : dbSize(path);
    } catch {
      return undefined;
    }
  };

  opts.log(`registry: creating ${S} Services and ${N} Pods in ${TENTHS} tenths`);
  const run = await createInTenths(
    { services: S, podsPerService: P, inFlight: sz.inFlight, deadlineAt: performance.now() + sz.createBoundMs },
    {
      createService: async (s) => {
        await api.must("POST", `${base}/services`, serviceBody(s), 201);
      },
      // The last Service's Pods but its last are not ready: its host answers 503 until the last create is at the edge.
      createPod: async (s, p) => {
        await api.must("POST", `${base}/pods`, podBody(s, p, P, pods[(s * P + p) % pods.length]!.url, !(s === S - 1 && p < P - 1)), 201);
      },
      heapAfterGc: () => heapAfterGc(live),
      dbSize: readDb,
      listAllPods: () => unpagedPodList(api, live.heap),
      startControl: () => startControlProbe(controlApi, CONTROL_PROBE_MS),
      serverCpu: () => (live.group === undefined ? undefined : groupCpuByCommand(live.group)),
    },
    opts.log,
  );
  const svcRuns = run.tenths.map((t) => t.svcRun);
  const podRuns = run.tenths.map((t) => t.podRun);
  const created = run.tenths.at(-1) ?? { services: 0, pods: 0 };
  result.lines.push(createLine("Services", svcRuns, S, sz.inFlight), createLine("Pods", podRuns, N, sz.inFlight));
  if (run.controlMs.length > 0)
    result.lines.push({
      name: "control: GET /version during the Pod creates",
      metrics: {
        count: run.controlMs.length,
        p50_ms: round(quantile(run.controlMs, 0.5), 2),
        p99_ms: round(quantile(run.controlMs, 0.99), 2),
        max_ms: round(Math.max(...run.controlMs), 1),
      },
      detail: `one at a time, ${CONTROL_PROBE_MS} ms apart, on its own connection: the Worker answers it without the Durable Object, so its tail is the workerd process's, not the registry's`,
    });
  tenthLines(result, run);
  rateFigures(result, run);
  heapGrowthTarget(result, run, P);
  listProbeNote(result, run);
  result.notes.push(cpuNote(run, load));

  const objects = svcRuns.reduce((t, r) => t + r.done - r.failed, 0) + podRuns.reduce((t, r) => t + r.done - r.failed, 0);
  if (run.timedOut) {
    result.notes.push(
      `creation stopped at its time bound of ${sz.createBoundMs / 1000} s (${created.services} Services, ${created.pods} Pods): routability, the KV replica, the host sweep and the watch fan-out were not measured`,
    );
  } else {
    result.lines.push({
      name: `create all ${(S + N).toLocaleString("en-US")} objects`,
      metrics: { count: objects, wall_s: round(run.createWallS, 2), per_s: round(objects / run.createWallS) },
      detail: `in ${TENTHS} tenths, each its Services first, then their Pods in Service order`,
    });
    await routableAndKv(opts, sz, live, before, objects, run, result);
  }

  opts.log(`registry: unpaged list of all ${created.pods} Pods, heap sampled`);
  fullListFigures(result, await unpagedPodList(api, live.heap), created.pods, created.services, P);

  if (!run.timedOut) {
    const hosts = Array.from({ length: S }, (_, s) => serviceHost(s, LB_DOMAIN));
    const sweep = await sweepHosts(gateway, hosts, sz.inFlight, performance.now() + sz.settleBoundMs);
    result.notes.push(
      sweep.notRoutable === 0
        ? `afterwards every one of the ${S} Service hosts answered 200 from a pod through the gateway (one GET each)`
        : `afterwards ${sweep.notRoutable} of ${S} Service hosts did not answer 200 from a pod (e.g. ${sweep.example})`,
    );
    opts.log(`registry: watch fan-out, ${sz.watchers} watchers, ${sz.fanoutWrites} writes`);
    await fanout(sz, api, result);
  }
  storageLine(result, run);
  notes(result, sz);
  return Math.floor(created.pods / P);
}

async function routableAndKv(
  opts: BenchOptions,
  sz: Sizes,
  live: Live,
  before: RegistryFigures,
  created: number,
  run: TenthsRun,
  result: PartResult,
): Promise<void> {
  const S = sz.services;
  opts.log(`registry: waiting for the last Service to be routable and the KV replica to settle`);
  const lastCreate = run.tenths.at(-1)!.podRun.lastAnswerAt;
  const start = run.tenths[0]!.svcRun.startedAt;
  const settleDeadline = performance.now() + sz.settleBoundMs;
  const lastHost = serviceHost(S - 1, LB_DOMAIN);
  const [routable, kv] = await Promise.all([waitRoutable(live.gateway, lastHost, ROUTABLE_POLL_MS, settleDeadline), waitKvSettled(live.api, settleDeadline)]);
  if (routable.at === undefined) {
    result.notes.push(
      `the last Service never became routable within ${sz.settleBoundMs / 1000} s: ${lastHost} last answered ${routable.lastStatus ?? "nothing"} ${routable.lastBody ?? ""}`.trim(),
    );
  } else {
    result.lines.push({
      name: "last Service routable at the edge",
      metrics: { wall_s: round((routable.at - start) / 1000, 2), after_last_ms: Math.round(routable.at - lastCreate) },
      detail: `wall_s from the first create, samples between tenths included; after_last_ms from the last create's 201; ${routable.polls} polls of ${lastHost} every ${ROUTABLE_POLL_MS} ms`,
    });
  }
  // A route record per host, and the host filter.
  kvLines(result, kv.settled, kv.drainedAt, lastCreate, before, kv.final, created, S, hostsPerService * S + 1);
  if (!kv.settled)
    result.notes.push(
      `the KV replica had not settled within ${sz.settleBoundMs / 1000} s (${kv.final.kvPending} keys pending): the KV write count is a lower bound`,
    );
}

function kvLines(
  result: PartResult,
  settled: boolean,
  drainedAt: number | undefined,
  lastCreate: number,
  before: RegistryFigures,
  after: RegistryFigures,
  created: number,
  services: number,
  distinctKeys: number,
): void {
  const writes = after.kvWrites - before.kvWrites;
  const registryWrites = after.resourceVersion - before.resourceVersion;
  const metrics: Record<string, number> = { kv_writes: writes };
  if (drainedAt !== undefined) metrics.after_last_ms = Math.round(drainedAt - lastCreate);
  result.lines.push({
    name: "KV replica of the creates",
    metrics,
    detail: `svcedge_registry_kv_writes_total delta from a settled replica until ${settled ? `settled again (nothing pending, counter still ${KV_QUIET_MS / 1000} s)` : "the bound (not settled)"}; after_last_ms = last create's 201 → no key pending (polled every ${KV_POLL_MS} ms); ${registryWrites.toLocaleString("en-US")} registry writes (resourceVersion delta) for ${created.toLocaleString("en-US")} creates`,
  });
  const ratios: Ratio[] = [
    { name: "KV writes per object created", value: writes / created },
    { name: "KV writes per registry write", value: writes / registryWrites },
    { name: "KV writes per distinct key", value: writes / distinctKeys },
  ];
  result.ratios.push(...ratios);
  result.notes.push(
    `distinct KV keys the creates must write: ${distinctKeys.toLocaleString("en-US")} (a route record per host, ${hostsPerService} per Service, and the host filter; objects stay in the Durable Object); registry writes include the endpoints controller's slice updates, one per Pod create`,
    `Services are created before their Pods, so each Service's ${hostsPerService} route records reach KV once without endpoints and again with them: this order needs ${(distinctKeys + hostsPerService * services).toLocaleString("en-US")} writes at least; the rest are route records whose Pods straddled a flush, and the host filter once per flush that changed the host set`,
  );
}

async function fanout(sz: Sizes, api: AdminApi, result: PartResult): Promise<void> {
  // Distinct Services, spread over all but the last (whose Pod 0 is already not ready).
  const writes = Math.min(sz.fanoutWrites, sz.services - 1);
  const services = Array.from({ length: writes }, (_, k) => Math.floor((k * (sz.services - 1)) / writes));
  const before = await api.figures();
  const f = await measureFanout(api, { watchers: sz.watchers, services, spacingMs: sz.fanoutSpacingMs, deadlineAt: performance.now() + sz.settleBoundMs });
  const lost = f.missing ? `; ${f.missing} deliveries never arrived` : "";
  const failed = f.failedWrites ? `; ${f.failedWrites} writes failed (first: ${f.firstError})` : "";
  result.lines.push({
    name: `watch fan-out, ${sz.watchers} watchers × ${writes} writes`,
    metrics: {
      count: f.deliveryMs.length,
      p50_ms: round(quantile(f.deliveryMs, 0.5), 2),
      p99_ms: round(quantile(f.deliveryMs, 0.99), 2),
      max_ms: round(Math.max(...f.deliveryMs), 1),
    },
    detail: `write = PATCH pods/<p>/status Ready=False (merge patch), one at a time, ${sz.fanoutSpacingMs} ms apart; latency = send → the slice's MODIFIED event read by a watcher of all EndpointSlices; count = (watcher, write) pairs${lost}${failed}`,
  });
  result.lines.push({
    name: "fan-out writes' responses",
    metrics: {
      count: f.writeMs.length,
      p50_ms: round(quantile(f.writeMs, 0.5), 2),
      p99_ms: round(quantile(f.writeMs, 0.99), 2),
      max_ms: round(Math.max(...f.writeMs), 1),
    },
    detail: "send → 200 of the same writes, while the watchers are open",
  });
  result.ratios.push({ name: "fan-out p50 ÷ write response p50", value: quantile(f.deliveryMs, 0.5) / quantile(f.writeMs, 0.5) });
  const kv = await waitKvSettled(api, performance.now() + sz.settleBoundMs);
  const ok = writes - f.failedWrites;
  if (kv.settled && ok > 0) result.ratios.push({ name: "KV writes per Pod readiness change", value: (kv.final.kvWrites - before.kvWrites) / ok });
}

/** Who was busy while creating: wrangler's processes (workerd runs the Worker, the Durable Object and local KV) or this client. */
function cpuNote(run: TenthsRun, load: number): string {
  const wallS = run.createWallS;
  const client = `this bench process (the client) ${run.clientCpuS.toFixed(1)} CPU-s`;
  const head = `CPU while creating (${wallS.toFixed(1)} s wall of creates, 1-min load average ${load.toFixed(1)} on ${cpus().length} cores at the start)`;
  if (!run.serverCpu) return `${head}: ${client}; wrangler's processes not found`;
  const parts = [...run.serverCpu].filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((t, [, s]) => t + s, 0);
  return `${head}: wrangler dev ${total.toFixed(1)} CPU-s (${parts.map(([c, s]) => `${c} ${s.toFixed(1)}`).join(", ")}; ${((total / wallS) * 100).toFixed(0)} % of one core), ${client}`;
}

/** The restart on the same state: wrangler dev's start, the first write, the heap, then mixed reads and writes. */
async function afterRestart(sz: Sizes, services: number, live: Live, podUrl: string, result: PartResult): Promise<void> {
  const figures: RestartFigures = {
    startMs: live.startMs,
    first: await firstWrite(live.api, FIRST_WRITE_BOUND_MS),
    mixedInFlight: AFTER_RESTART_IN_FLIGHT,
    mixedS: sz.afterRestartMs / 1000,
  };
  if (figures.first.ms !== undefined) {
    const heap = await heapAfterGc(live);
    if (heap) figures.heapAfterMib = round(heap.used / 2 ** 20);
    figures.mixed = await mixedLoad(live.api, {
      services,
      podsPerService: sz.podsPerService,
      inFlight: AFTER_RESTART_IN_FLIGHT,
      durationMs: sz.afterRestartMs,
      maxRequests: 1_000_000,
      podUrl,
    });
  }
  restartFigures(result, figures, `${services.toLocaleString("en-US")} × ${sz.podsPerService}`);
}

function notes(result: PartResult, sz: Sizes): void {
  result.notes.push(
    `layout: ${sz.services} LoadBalancer Services (one TCP port, no NodePorts) in namespace ${BENCH_NAMESPACE}, ${sz.podsPerService} Pods each (pod IP, no node, no probe: ready; a ~1 KB kubectl last-applied-configuration annotation), each Pod's svcedge.io/url one of ${sz.podServers} real loopback pod servers plus a per-Pod path; a Pod write is matched only against the Services whose selectors require one of its label pairs (SelectorPairIndex), so one namespace holding every Service costs a Pod write no more than many would`,
    `wrangler dev runs a copy of src/ taken when the part started, so that edits to the tree during the run (wrangler rebuilds and restarts the Worker on any change) do not reach it`,
    `wrangler dev runs without its local observability collector (X_LOCAL_OBSERVABILITY=false: every span, one per SQL statement, written to a SQLite database in the registry's workerd process; bench/registry/local-observability.ts), which production does not have in a request's path; runs before 2026-12-07 22:40 UTC had it`,
    `heap: Runtime.getHeapUsage over workerd's own inspector (Chrome DevTools Protocol, WebSocket), with wrangler dev's DevTools relay off so that the bench's session is the isolate's only one; under wrangler dev the Durable Object and the Worker share one isolate, so the figures include the Worker's (gateway route cache, admin app); in production the object runs in an isolate of its own, with a 128 MB limit`,
    `routable = the gateway answers the last Service's public host with 200 from a pod; that Service's first ${sz.podsPerService - 1} Pods are created not ready, so its host answers 503 until the very last create is in the route record the gateway reads. Polled every ${ROUTABLE_POLL_MS} ms with the gateway's route cache at ${ROUTE_CACHE_TTL_S * 1000} ms (GATEWAY_ROUTE_CACHE_TTL_SECONDS), so a cached miss or 503 cannot delay the answer by more than that; with the default cache (30 s) a host polled too early can stay stale for up to 30 s, and in production KV propagation (≤ 60 s) comes on top`,
    `the KV replica writes at most ${KV_WRITES_PER_FLUSH} keys per flush, one flush per ${KV_MIN_WRITE_INTERVAL_MS} ms, route records first: a backlog of K dirty keys takes at least K ÷ ${KV_WRITES_PER_FLUSH} flushes to drain`,
    `watchers and writer run in the bench process, each watch on its own connection; latencies include reading the stream in Node, not parsing the event`,
    `under wrangler dev the local KV simulator runs in the workerd process that runs the Worker and the Durable Object: requests that arrive while the alarm flushes a batch of KV writes wait for it (compare the control line's tail with the creates'); in production KV writes leave the process`,
  );
}
