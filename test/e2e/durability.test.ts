// Issue 16: what the admin API acknowledged survives the Worker's death. The real
// Worker (`wrangler dev`, state persisted in a folder) takes a burst of Service and
// Pod creates and updates; its process group is killed in the middle of the burst
// (SIGTERM, or SIGKILL) and started again on the same state. Then:
//  - every acknowledged write is there, at the resourceVersion it was acknowledged
//    with, or at a later one written by a write that was in flight at the kill;
//  - nothing is half-written: no object that was never sent, every Service with its
//    ClusterIP, nodePorts and LoadBalancer hostname (none shared), every Service's
//    EndpointSlices listing exactly its stored Pods, and the allocators restored;
//  - the edge agrees, once the registry's KV queue has drained: each LoadBalancer
//    host answers from one of its Pods (or 503 without Pods), and hosts of Services
//    that are not stored are unknown (404).
// `npm test`: one run per signal, 100 writes each; SVCEDGE_SOAK=1: 5 runs per signal, 1,300 writes each.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGED_BY_CONTROLLER, MANAGED_BY_LABEL, POD_URL_ANNOTATION, SERVICE_NAME_LABEL } from "../../src/api/types";
import { bySize } from "../soak-size";
import { startLocalWorker, type LocalWorker } from "./local-worker";

const RUNS_PER_SIGNAL = bySize(1, 5);
const WRITES_PER_RUN = bySize(100, 1300);
/** Requests the burst keeps in flight. */
const IN_FLIGHT = 8;
/** Of the run's planned writes, the share acknowledged when the kill comes (run i uses entry i - 1); the rest are never sent. */
const KILL_AFTER = [0.5, 0.3, 0.7, 0.4, 0.6];
/** Pod label values Services select by: some groups get Pods, some LoadBalancers none. */
const GROUPS = 12;
const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
const NAMESPACE = "burst";
const LB_DOMAIN = "lb.svcedge.local";
/** An admin request that has not answered by then is taken as lost. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The registry flushes at most 500 KV keys a second (kv-replica.ts): a full run's queue drains well within this. */
const KV_DRAIN_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = bySize(60_000, 300_000);

type Resource = "services" | "pods";

interface Write {
  id: string;
  resource: Resource;
  name: string;
  op: "create" | "update";
  /** Set once sent. */
  outcome?:
    | { kind: "acknowledged"; rv: number }
    | { kind: "refused"; status: number; text: string; beforeKill: boolean }
    | { kind: "lost"; error: string; beforeKill: boolean };
}

const keyOf = (resource: Resource, name: string) => `${resource}/${name}`;
const serviceType = (n: number) => SERVICE_TYPES[n % SERVICE_TYPES.length]!;
const lbHost = (name: string) => `${name}-${NAMESPACE}.${LB_DOMAIN}`;

function serviceBody(n: number, write: string) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `s${n}`, labels: { write } },
    spec: { type: serviceType(n), selector: { app: `g${n % GROUPS}` }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  };
}

/** Ready Pods on the first half of the groups only, each reachable at the test's origin under its own path. */
function podBody(n: number, write: string, origin: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p${n}`, labels: { app: `g${n % (GROUPS / 2)}`, write }, annotations: { [POD_URL_ANNOTATION]: `${origin}/pod/p${n}` } },
    spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8080 }] }] },
    status: { phase: "Running", podIP: `10.244.${n >> 8}.${n & 255}`, conditions: [{ type: "Ready", status: "True" }] },
  };
}

async function admin(worker: LocalWorker, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Response> {
  return fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${worker.adminToken}`, ...(body === undefined ? {} : { "content-type": contentType }) },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function adminJson(worker: LocalWorker, method: string, path: string, body?: unknown): Promise<any> {
  const res = await admin(worker, method, path, body);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** A GET through the gateway: the Worker's address, with a Host the admin API does not answer on. */
function gatewayGet(worker: LocalWorker, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(worker.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: url.hostname, port: url.port, path: "/", headers: { host }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`gateway ${host}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** The Pods' origin: answers "pod <name>" for /pod/<name>/…, as the gateway reaches it. */
let origin: http.Server;
let originUrl: string;
/** Workers and state folders of runs still going, ended in afterAll whatever happened. */
const live = new Set<LocalWorker>();
const stateDirs = new Set<string>();

beforeAll(async () => {
  origin = http.createServer((req, res) => res.end(`pod ${(req.url ?? "").split("/")[2] ?? ""}`));
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all([...live].map((w) => w.stop("SIGKILL")));
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  await new Promise((r) => origin?.close(r));
});

async function start(state: string, adminToken: string): Promise<LocalWorker> {
  const worker = await startLocalWorker({ stateDir: state, adminToken, vars: { LB_DOMAIN, GATEWAY_ALLOW_LOCAL_ORIGINS: "true" }, readyTimeoutMs: 90_000 });
  live.add(worker);
  return worker;
}

async function stop(worker: LocalWorker, signal: NodeJS.Signals): Promise<void> {
  await worker.stop(signal);
  live.delete(worker);
}

/**
 * Sends `total` writes, IN_FLIGHT at a time, and calls `kill` once `killAfter` of them are
 * acknowledged; goes on sending until the Worker stops answering. Updates go to objects
 * whose create was acknowledged.
 */
async function burst(worker: LocalWorker, total: number, killAfter: number, kill: () => Promise<void>): Promise<{ writes: Write[]; killed: Promise<void> }> {
  const writes: Write[] = [];
  const acknowledged: { resource: Resource; name: string }[] = [];
  let services = 0;
  let pods = 0;
  let killed: Promise<void> | undefined;
  let down = false;
  const plan = (i: number): { write: Write; send: () => Promise<Response> } => {
    const id = `w${i}`;
    const slot = i % 5;
    if (slot >= 3 && acknowledged.length > 0) {
      const target = acknowledged[(i * 7) % acknowledged.length]!;
      const write: Write = { id, resource: target.resource, name: target.name, op: "update" };
      const path = `/api/v1/namespaces/${NAMESPACE}/${target.resource}/${target.name}`;
      return { write, send: () => admin(worker, "PATCH", path, { metadata: { labels: { write: id } } }, "application/merge-patch+json") };
    }
    if (slot === 2) {
      const n = pods++;
      const write: Write = { id, resource: "pods", name: `p${n}`, op: "create" };
      return { write, send: () => admin(worker, "POST", `/api/v1/namespaces/${NAMESPACE}/pods`, podBody(n, id, originUrl)) };
    }
    const n = services++;
    const write: Write = { id, resource: "services", name: `s${n}`, op: "create" };
    return { write, send: () => admin(worker, "POST", `/api/v1/namespaces/${NAMESPACE}/services`, serviceBody(n, id)) };
  };
  let next = 0;
  const sender = async () => {
    while (next < total && !down) {
      const { write, send } = plan(next++);
      writes.push(write);
      try {
        const res = await send();
        const text = await res.text();
        if (res.ok) {
          write.outcome = { kind: "acknowledged", rv: Number(JSON.parse(text).metadata.resourceVersion) };
          if (write.op === "create") acknowledged.push({ resource: write.resource, name: write.name });
        } else write.outcome = { kind: "refused", status: res.status, text: text.slice(0, 200), beforeKill: killed === undefined };
      } catch (e) {
        write.outcome = {
          kind: "lost",
          error: e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? "")}` : String(e),
          beforeKill: killed === undefined,
        };
        if (killed) down = true;
      }
      const acks = writes.filter((w) => w.outcome?.kind === "acknowledged").length;
      if (!killed && acks >= killAfter * total) killed = kill();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  return { writes, killed: killed ?? kill() };
}

/** Polls /metrics until the registry has no endpoints sync and no KV write pending. */
async function kvDrained(worker: LocalWorker): Promise<void> {
  const deadline = Date.now() + KV_DRAIN_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const res = await admin(worker, "GET", "/metrics");
    const text = await res.text();
    const gauge = (name: string) => text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1] ?? "(no such metric)";
    last = `kv_pending ${gauge("svcedge_registry_kv_pending")}, endpoints_queue_depth ${gauge("svcedge_registry_endpoints_queue_depth")}`;
    if (last === "kv_pending 0, endpoints_queue_depth 0") return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`KV writes still pending after ${KV_DRAIN_TIMEOUT_MS} ms: ${last}`);
}

function describeWrites(writes: Write[]): string {
  const count = (kind: string) => writes.filter((w) => (w.outcome?.kind ?? "unsent") === kind).length;
  return `${writes.length} sent: ${count("acknowledged")} acknowledged, ${count("lost")} lost in flight, ${count("refused")} refused`;
}

/** What went wrong with the stored state, one line per problem. */
function durabilityProblems(writes: Write[], stored: Map<string, any>): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, Write[]>();
  for (const w of writes) byKey.set(keyOf(w.resource, w.name), [...(byKey.get(keyOf(w.resource, w.name)) ?? []), w]);
  for (const key of stored.keys()) if (!byKey.has(key)) problems.push(`${key} is stored, but no write for it was ever sent`);
  for (const [key, sent] of byKey) {
    const object = stored.get(key);
    const acked = sent.filter((w) => w.outcome?.kind === "acknowledged");
    const lastAcked = acked.reduce<Write | undefined>((a, w) => (a && rvOf(a) > rvOf(w) ? a : w), undefined);
    if (!object) {
      if (acked.some((w) => w.op === "create")) problems.push(`${key}: acknowledged (${acked.map((w) => `${w.id} at ${rvOf(w)}`).join(", ")}) but not stored`);
      continue;
    }
    const rv = Number(object.metadata.resourceVersion);
    const by = sent.find((w) => w.id === object.metadata.labels?.write);
    if (!by) problems.push(`${key} at ${rv} carries write ${JSON.stringify(object.metadata.labels?.write)}, which was not sent for it`);
    else if (by.outcome?.kind === "acknowledged") {
      if (rvOf(by) !== rv) problems.push(`${key}: ${by.id} was acknowledged at ${rvOf(by)}, stored at ${rv}`);
      if (lastAcked && rvOf(lastAcked) > rv)
        problems.push(`${key}: stored ${by.id} at ${rv}, but ${lastAcked.id} was acknowledged later, at ${rvOf(lastAcked)}`);
    } else if (by.outcome?.kind === "refused") problems.push(`${key}: stored ${by.id}, which was answered ${by.outcome.status}`);
    else if (lastAcked && rv <= rvOf(lastAcked))
      problems.push(`${key}: stored ${by.id} (in flight at the kill) at ${rv}, not after ${lastAcked.id} acknowledged at ${rvOf(lastAcked)}`);
  }
  return problems;
}

const rvOf = (w: Write): number => (w.outcome?.kind === "acknowledged" ? w.outcome.rv : NaN);

/** Services with every allocation, none shared; EndpointSlices that list exactly the stored Pods each Service selects. */
function halfWritten(services: any[], pods: any[], slices: any[]): string[] {
  const problems: string[] = [];
  const ips = new Map<string, string>();
  const ports = new Map<number, string>();
  for (const s of services) {
    const name = s.metadata.name;
    if (!/^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/.test(s.spec.clusterIP ?? "") || s.spec.clusterIPs?.[0] !== s.spec.clusterIP)
      problems.push(`Service ${name} has ClusterIP ${s.spec.clusterIP} / ${JSON.stringify(s.spec.clusterIPs)}`);
    if (ips.has(s.spec.clusterIP)) problems.push(`Service ${name} shares ClusterIP ${s.spec.clusterIP} with ${ips.get(s.spec.clusterIP)}`);
    ips.set(s.spec.clusterIP, name);
    if (s.spec.type !== "ClusterIP")
      for (const p of s.spec.ports) {
        if (!(p.nodePort >= 30000 && p.nodePort <= 32767)) problems.push(`${s.spec.type} Service ${name} has nodePort ${p.nodePort}`);
        else if (ports.has(p.nodePort)) problems.push(`Service ${name} shares nodePort ${p.nodePort} with ${ports.get(p.nodePort)}`);
        ports.set(p.nodePort, name);
      }
    if (s.spec.type === "LoadBalancer" && s.status?.loadBalancer?.ingress?.[0]?.hostname !== lbHost(name))
      problems.push(`LoadBalancer ${name} has status ${JSON.stringify(s.status)}`);
    const expected = pods
      .filter((p) => p.metadata.labels.app === s.spec.selector.app)
      .map((p) => `${p.metadata.name}=${p.status.podIP}`)
      .sort();
    const listed = slices
      .filter((sl) => sl.metadata.labels?.[SERVICE_NAME_LABEL] === name && sl.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_CONTROLLER)
      .flatMap((sl) => (sl.endpoints ?? []).map((e: any) => `${e.targetRef?.name}=${e.addresses[0]}`))
      .sort();
    if (JSON.stringify(listed) !== JSON.stringify(expected))
      problems.push(`Service ${name}'s EndpointSlices list ${JSON.stringify(listed)}, its stored Pods are ${JSON.stringify(expected)}`);
  }
  const names = new Set(services.map((s) => s.metadata.name));
  for (const sl of slices)
    if (!names.has(sl.metadata.labels?.[SERVICE_NAME_LABEL])) problems.push(`EndpointSlice ${sl.metadata.name} belongs to no stored Service`);
  return problems;
}

/**
 * Each LoadBalancer host sent: stored with Pods → 200 from one of them; stored without → 503; not stored → 404.
 * Also counts the answers by status, for the run's summary.
 */
async function edgeProblems(
  worker: LocalWorker,
  writes: Write[],
  services: any[],
  pods: any[],
): Promise<{ problems: string[]; answers: Record<number, number> }> {
  const problems: string[] = [];
  const answers: Record<number, number> = {};
  const stored = new Map(services.map((s) => [s.metadata.name, s]));
  const lbNames = new Set(
    writes.filter((w) => w.resource === "services" && w.op === "create" && serviceType(Number(w.name.slice(1))) === "LoadBalancer").map((w) => w.name),
  );
  for (const name of lbNames) {
    const svc = stored.get(name);
    const backends = new Set(pods.filter((p) => svc && p.metadata.labels.app === svc.spec.selector.app).map((p) => `pod ${p.metadata.name}`));
    const answer = await gatewayGet(worker, lbHost(name));
    answers[answer.status] = (answers[answer.status] ?? 0) + 1;
    const expected = !svc ? "404" : backends.size === 0 ? "503" : `200 from one of ${[...backends].join(", ")}`;
    const ok = !svc ? answer.status === 404 : backends.size === 0 ? answer.status === 503 : answer.status === 200 && backends.has(answer.body);
    if (!ok) problems.push(`${lbHost(name)}: expected ${expected}, the gateway answered ${answer.status} ${answer.body.trim().slice(0, 100)}`);
  }
  return { problems, answers };
}

describe("durability across a killed Worker", () => {
  const runs = (["SIGTERM", "SIGKILL"] as const).flatMap((signal) => Array.from({ length: RUNS_PER_SIGNAL }, (_, i) => ({ signal, run: i + 1 })));
  it.each(runs)(
    `keeps every acknowledged write after $signal in the middle of a burst of up to ${WRITES_PER_RUN} writes (run $run)`,
    async ({ signal, run }) => {
      const state = mkdtempSync(join(tmpdir(), "svcedge-durability-"));
      stateDirs.add(state);
      const adminToken = randomBytes(24).toString("base64url");
      let worker = await start(state, adminToken);
      await adminJson(worker, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
      const first = worker;
      const { writes, killed } = await burst(worker, WRITES_PER_RUN, KILL_AFTER[(run - 1) % KILL_AFTER.length]!, () => stop(first, signal));
      await killed;
      const summary = describeWrites(writes);
      // Before the kill, every write is acknowledged: the burst itself must be valid.
      expect(
        writes.filter((w) => w.outcome?.kind !== "acknowledged" && w.outcome?.beforeKill).map((w) => `${w.id}: ${JSON.stringify(w.outcome)}`),
        summary,
      ).toEqual([]);

      worker = await start(state, adminToken);
      const list = async (path: string) => (await adminJson(worker, "GET", path)).items as any[];
      const services = await list(`/api/v1/namespaces/${NAMESPACE}/services`);
      const pods = await list(`/api/v1/namespaces/${NAMESPACE}/pods`);
      const slices = await list(`/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`);
      const stored = new Map<string, any>([
        ...services.map((s) => [keyOf("services", s.metadata.name), s] as const),
        ...pods.map((p) => [keyOf("pods", p.metadata.name), p] as const),
      ]);
      expect(durabilityProblems(writes, stored), summary).toEqual([]);
      expect(halfWritten(services, pods, slices), summary).toEqual([]);

      // The allocators were rebuilt from what is stored: a new Service gets a ClusterIP and nodePort nobody holds.
      const fresh = await adminJson(worker, "POST", `/api/v1/namespaces/${NAMESPACE}/services`, {
        ...serviceBody(1, "after-restart"),
        metadata: { name: "after-restart" },
      });
      expect(services.map((s) => s.spec.clusterIP)).not.toContain(fresh.spec.clusterIP);
      expect(services.flatMap((s) => s.spec.ports.map((p: any) => p.nodePort))).not.toContain(fresh.spec.ports[0].nodePort);

      await kvDrained(worker);
      const edge = await edgeProblems(worker, writes, services, pods);
      expect(edge.problems, summary).toEqual([]);
      console.log(
        `${signal} run ${run}: ${summary}; ${services.length} Services and ${pods.length} Pods stored; LoadBalancer hosts answered ${JSON.stringify(edge.answers)}`,
      );
      await stop(worker, "SIGTERM");
      rmSync(state, { recursive: true, force: true });
      stateDirs.delete(state);
    },
    RUN_TIMEOUT_MS,
  );
});
