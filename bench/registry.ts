// Part 2 of `npm run bench`: the registry. Against the real Worker (wrangler dev: workerd,
// local KV and Durable Object storage): the time to create S Services and S×P Pods through
// the admin API, the time until the last of them is routable at the edge, the KV writes
// that cost, and the watch fan-out latency from a write to watchers seeing it.
import type { BenchOptions, BenchPart, Line, PartResult, Ratio } from "./types";
import { startPod, type Pod } from "./pods";
import { freePort, startLocalWorker, type LocalWorker } from "../test/e2e/local-worker";
import { AdminApi, type RegistryFigures } from "./registry/admin-api";
import { HttpTarget } from "./registry/http";
import { edgeMedians, quantile, runBounded, type BoundedRun } from "./registry/bounded-writes";
import { BENCH_NAMESPACE, namespaceBody, podBody, serviceBody, serviceHost } from "./registry/objects";
import { sweepHosts, waitRoutable } from "./registry/routable";
import { KV_POLL_MS, KV_QUIET_MS, waitKvSettled } from "./registry/kv-settle";
import { measureFanout } from "./registry/watch-fanout";
import { startControlProbe } from "./registry/control-probe";
import { groupCpuByCommand, ownCpuSeconds } from "./edge/proc-cpu";
import { wranglerProcesses } from "./edge/wrangler-processes";
import { cpus, loadavg } from "node:os";
import { KV_MIN_WRITE_INTERVAL_MS, KV_WRITES_PER_FLUSH } from "../src/registry/kv-replica";
import { MAX_ENDPOINTS_PER_SLICE } from "../src/registry/endpoints-controller";
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
  /** Bound on the wait for routability and for the KV replica to settle. */
  settleBoundMs: number;
}

const FULL: Sizes = { services: 1000, podsPerService: 10, inFlight: 8, podServers: 4, watchers: 10, fanoutWrites: 50, fanoutSpacingMs: 100, createBoundMs: 420_000, settleBoundMs: 150_000 };
const QUICK: Sizes = { services: 50, podsPerService: 10, inFlight: 8, podServers: 2, watchers: 10, fanoutWrites: 20, fanoutSpacingMs: 50, createBoundMs: 60_000, settleBoundMs: 40_000 };

/** The gateway caches a host (and a miss) this long; short, so that polling cannot delay the answer it waits for. */
const ROUTE_CACHE_TTL_S = 0.05;
const ROUTABLE_POLL_MS = 50;
const CONTROL_PROBE_MS = 20;
const LB_DOMAIN = "lb.svcedge.local";
/** A bench Service's hosts at the edge (its cluster name and its LB_DOMAIN name), as the route compiler names them. */
const hostsPerService = serviceHosts(serviceBody(0) as unknown as Service, { clusterDomain: "cluster.local", lbDomain: LB_DOMAIN }).length;

const round = (v: number, digits = 1) => Number(v.toFixed(digits));

function createLine(what: string, run: BoundedRun, count: number, inFlight: number): Line {
  const wallS = (run.lastAnswerAt - run.startedAt) / 1000;
  const errors = run.failed ? `, ${run.failed} failed (first: ${run.firstError})` : "";
  const stopped = run.timedOut ? `, stopped at the time bound after ${run.done} of ${count}` : "";
  return {
    name: `create ${count.toLocaleString("en-US")} ${what}, ${inFlight} in flight`,
    metrics: { count: run.done - run.failed, wall_s: round(wallS, 2), per_s: round((run.done - run.failed) / wallS), p50_ms: round(quantile(run.latenciesMs, 0.5), 2), p99_ms: round(quantile(run.latenciesMs, 0.99), 2), max_ms: round(Math.max(...run.latenciesMs), 1) },
    detail: `POST through the admin API, one request per object, latency = send → 201${errors}${stopped}`,
  };
}

export const part: BenchPart = {
  name: "registry",
  async run(opts: BenchOptions): Promise<PartResult> {
    const sz = opts.quick ? QUICK : FULL;
    const result: PartResult = { part: "registry", lines: [], ratios: [], targets: [], notes: [] };
    const pods: Pod[] = [];
    let worker: LocalWorker | undefined;
    let api: AdminApi | undefined;
    let controlApi: AdminApi | undefined;
    let gateway: HttpTarget | undefined;
    try {
      for (let i = 0; i < sz.podServers; i++) pods.push(await startPod(`registry-${i}`, "127.0.0.1", await freePort()));
      opts.log(`registry: starting the Worker (wrangler dev)`);
      // The pods are on 127.0.0.1: the gateway's origin guard must be lifted.
      worker = await startLocalWorker({ vars: { GATEWAY_ROUTE_CACHE_TTL_SECONDS: String(ROUTE_CACHE_TTL_S), LB_DOMAIN, GATEWAY_ALLOW_LOCAL_ORIGINS: "true" } });
      api = new AdminApi(worker.url, worker.adminToken, sz.inFlight);
      controlApi = new AdminApi(worker.url, worker.adminToken, 1);
      gateway = new HttpTarget(worker.url, sz.inFlight);
      await api.must("POST", "/api/v1/namespaces", namespaceBody(), 201);
      await measure(opts, sz, api, controlApi, gateway, pods, result);
    } finally {
      api?.close();
      controlApi?.close();
      gateway?.close();
      await worker?.stop();
      for (const p of pods) await p.proc.stop();
    }
    return result;
  },
};

async function measure(opts: BenchOptions, sz: Sizes, api: AdminApi, controlApi: AdminApi, gateway: HttpTarget, pods: Pod[], result: PartResult): Promise<void> {
  const S = sz.services;
  const P = sz.podsPerService;
  const N = S * P;
  // The namespace's own KV write must not count: start from a settled replica.
  const before = (await waitKvSettled(api, performance.now() + sz.settleBoundMs)).final;
  const load = loadavg()[0]!;
  const workerGroup = wranglerProcesses(Number(new URL(api.url).port))?.group;
  const serverCpu0 = workerGroup === undefined ? undefined : groupCpuByCommand(workerGroup);
  const clientCpu0 = ownCpuSeconds();
  const createDeadline = performance.now() + sz.createBoundMs;
  const base = `/api/v1/namespaces/${BENCH_NAMESPACE}`;

  opts.log(`registry: creating ${S} Services`);
  const svcRun = await runBounded(S, sz.inFlight, createDeadline, async (s) => {
    await api.must("POST", `${base}/services`, serviceBody(s), 201);
  });
  opts.log(`registry: creating ${N} Pods`);
  const control = startControlProbe(controlApi, CONTROL_PROBE_MS);
  // The last Service's Pods but its last are not ready: its host answers 503 until the last create is at the edge.
  const podRun = await runBounded(N, sz.inFlight, createDeadline, async (n) => {
    const s = Math.floor(n / P);
    const p = n % P;
    const ready = !(s === S - 1 && p < P - 1);
    await api.must("POST", `${base}/pods`, podBody(s, p, P, pods[n % pods.length]!.url, ready), 201);
  });
  const controlMs = await control.stop();
  result.lines.push(createLine("Services", svcRun, S, sz.inFlight), createLine("Pods", podRun, N, sz.inFlight));
  if (controlMs.length > 0)
    result.lines.push({
      name: "control: GET /version during the Pod creates",
      metrics: { count: controlMs.length, p50_ms: round(quantile(controlMs, 0.5), 2), p99_ms: round(quantile(controlMs, 0.99), 2), max_ms: round(Math.max(...controlMs), 1) },
      detail: `one at a time, ${CONTROL_PROBE_MS} ms apart, on its own connection: the Worker answers it without the Durable Object, so its tail is the workerd process's, not the registry's`,
    });
  const medians = edgeMedians(podRun, 0.1);
  if (medians) {
    result.ratios.push({ name: "Pod create p50, last 10 % ÷ first 10 %", value: medians.last / medians.first });
    result.notes.push(`Pod create latency p50 over the first 10 % of them: ${medians.first.toFixed(1)} ms, over the last 10 %: ${medians.last.toFixed(1)} ms (does a create get dearer as objects pile up?)`);
  }
  result.notes.push(cpuNote(serverCpu0, workerGroup, ownCpuSeconds() - clientCpu0, (podRun.lastAnswerAt - svcRun.startedAt) / 1000, load));
  if (svcRun.timedOut || podRun.timedOut) {
    result.notes.push(`creation stopped at its time bound of ${sz.createBoundMs / 1000} s (${svcRun.done} Services, ${podRun.done} Pods): nothing after it was measured`);
    return;
  }
  const created = svcRun.done - svcRun.failed + podRun.done - podRun.failed;
  const start = svcRun.startedAt;
  const lastCreate = podRun.lastAnswerAt;
  result.lines.push({
    name: `create all ${(S + N).toLocaleString("en-US")} objects`,
    metrics: { count: created, wall_s: round((lastCreate - start) / 1000, 2), per_s: round(created / ((lastCreate - start) / 1000)) },
    detail: "Services first, then Pods in Service order",
  });

  opts.log(`registry: waiting for the last Service to be routable and the KV replica to settle`);
  const settleDeadline = performance.now() + sz.settleBoundMs;
  const lastHost = serviceHost(S - 1, LB_DOMAIN);
  const [routable, kv] = await Promise.all([waitRoutable(gateway, lastHost, ROUTABLE_POLL_MS, settleDeadline), waitKvSettled(api, settleDeadline)]);
  if (routable.at === undefined) {
    result.notes.push(`the last Service never became routable within ${sz.settleBoundMs / 1000} s: ${lastHost} last answered ${routable.lastStatus ?? "nothing"} ${routable.lastBody ?? ""}`.trim());
  } else {
    result.lines.push({
      name: "last Service routable at the edge",
      metrics: { wall_s: round((routable.at - start) / 1000, 2), after_last_ms: Math.round(routable.at - lastCreate) },
      detail: `wall_s from the first create; after_last_ms from the last create's 201; ${routable.polls} polls of ${lastHost} every ${ROUTABLE_POLL_MS} ms`,
    });
  }
  // An object copy per Service, Pod and EndpointSlice (one per Service while P ≤ MAX_ENDPOINTS_PER_SLICE), a route record per host.
  const slicesPerService = Math.ceil(P / MAX_ENDPOINTS_PER_SLICE);
  kvLines(result, kv.settled, kv.drainedAt, lastCreate, before, kv.final, created, S, N + S + S * slicesPerService + hostsPerService * S);
  if (!kv.settled) result.notes.push(`the KV replica had not settled within ${sz.settleBoundMs / 1000} s (${kv.final.kvPending} keys pending): the KV write count is a lower bound`);

  const hosts = Array.from({ length: S }, (_, s) => serviceHost(s, LB_DOMAIN));
  const sweep = await sweepHosts(gateway, hosts, sz.inFlight, performance.now() + sz.settleBoundMs);
  result.notes.push(
    sweep.notRoutable === 0
      ? `afterwards every one of the ${S} Service hosts answered 200 from a pod through the gateway (one GET each)`
      : `afterwards ${sweep.notRoutable} of ${S} Service hosts did not answer 200 from a pod (e.g. ${sweep.example})`,
  );

  opts.log(`registry: watch fan-out, ${sz.watchers} watchers, ${sz.fanoutWrites} writes`);
  await fanout(sz, api, result);
  notes(result, sz);
}

function kvLines(result: PartResult, settled: boolean, drainedAt: number | undefined, lastCreate: number, before: RegistryFigures, after: RegistryFigures, created: number, services: number, distinctKeys: number): void {
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
    `distinct KV keys the creates must write: ${distinctKeys.toLocaleString("en-US")} (an object copy per Service, Pod and EndpointSlice, and a route record per host: ${hostsPerService} per Service); registry writes include the endpoints controller's slice updates, one per Pod create`,
    `Services are created before their Pods, so each Service's ${hostsPerService} route records reach KV once without endpoints and again with them: this order needs ${(distinctKeys + hostsPerService * services).toLocaleString("en-US")} writes at least; the rest are slices and route records whose Pods straddled a flush`,
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
    metrics: { count: f.deliveryMs.length, p50_ms: round(quantile(f.deliveryMs, 0.5), 2), p99_ms: round(quantile(f.deliveryMs, 0.99), 2), max_ms: round(Math.max(...f.deliveryMs), 1) },
    detail: `write = PATCH pods/<p>/status Ready=False (merge patch), one at a time, ${sz.fanoutSpacingMs} ms apart; latency = send → the slice's MODIFIED event read by a watcher of all EndpointSlices; count = (watcher, write) pairs${lost}${failed}`,
  });
  result.lines.push({
    name: "fan-out writes' responses",
    metrics: { count: f.writeMs.length, p50_ms: round(quantile(f.writeMs, 0.5), 2), p99_ms: round(quantile(f.writeMs, 0.99), 2), max_ms: round(Math.max(...f.writeMs), 1) },
    detail: "send → 200 of the same writes, while the watchers are open",
  });
  result.ratios.push({ name: "fan-out p50 ÷ write response p50", value: quantile(f.deliveryMs, 0.5) / quantile(f.writeMs, 0.5) });
  const kv = await waitKvSettled(api, performance.now() + sz.settleBoundMs);
  const ok = writes - f.failedWrites;
  if (kv.settled && ok > 0) result.ratios.push({ name: "KV writes per Pod readiness change", value: (kv.final.kvWrites - before.kvWrites) / ok });
}

/** Who was busy while creating: wrangler's processes (workerd runs the Worker, the Durable Object and local KV) or this client. */
function cpuNote(server0: Map<string, number> | undefined, group: number | undefined, clientS: number, wallS: number, load: number): string {
  const client = `this bench process (the client) ${clientS.toFixed(1)} CPU-s`;
  const head = `CPU while creating (${wallS.toFixed(1)} s wall, 1-min load average ${load.toFixed(1)} on ${cpus().length} cores at the start)`;
  if (!server0 || group === undefined) return `${head}: ${client}; wrangler's processes not found`;
  const server1 = groupCpuByCommand(group);
  const parts = [...server1].map(([comm, s]) => [comm, s - (server0.get(comm) ?? 0)] as const).filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((t, [, s]) => t + s, 0);
  return `${head}: wrangler dev ${total.toFixed(1)} CPU-s (${parts.map(([c, s]) => `${c} ${s.toFixed(1)}`).join(", ")}; ${((total / wallS) * 100).toFixed(0)} % of one core), ${client}`;
}

function notes(result: PartResult, sz: Sizes): void {
  result.notes.push(
    `layout: ${sz.services} LoadBalancer Services (one TCP port) in namespace ${BENCH_NAMESPACE}, ${sz.podsPerService} Pods each (pod IP, no node, no probe: ready), each Pod's svcedge.io/url one of ${sz.podServers} real loopback pod servers plus a per-Pod path; a Pod write is matched only against the Services whose selectors require one of its label pairs (SelectorPairIndex), so one namespace holding every Service costs a Pod write no more than many would`,
    `routable = the gateway answers the last Service's public host with 200 from a pod; that Service's first ${sz.podsPerService - 1} Pods are created not ready, so its host answers 503 until the very last create is in the route record the gateway reads. Polled every ${ROUTABLE_POLL_MS} ms with the gateway's route cache at ${ROUTE_CACHE_TTL_S * 1000} ms (GATEWAY_ROUTE_CACHE_TTL_SECONDS), so a cached miss or 503 cannot delay the answer by more than that; with the default cache (30 s) a host polled too early can stay stale for up to 30 s, and in production KV propagation (≤ 60 s) comes on top`,
    `the KV replica writes at most ${KV_WRITES_PER_FLUSH} keys per flush, one flush per ${KV_MIN_WRITE_INTERVAL_MS} ms, route records first: a backlog of K dirty keys takes at least K ÷ ${KV_WRITES_PER_FLUSH} flushes to drain`,
    `watchers and writer run in the bench process, each watch on its own connection; latencies include reading the stream in Node, not parsing the event`,
    `under wrangler dev the local KV simulator runs in the workerd process that runs the Worker and the Durable Object: requests that arrive while the alarm flushes a batch of KV writes wait for it (compare the control line's tail with the creates'); in production KV writes leave the process`,
  );
}
