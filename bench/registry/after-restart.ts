// The registry after a restart on the same persisted state: how long until it answers its
// first write (the Durable Object's start: whatever it loads before serving, plus one
// write), then a bounded stretch of mixed reads and writes, a few in flight, as
// controllers and kubectl would send them, whose worst latency says whether the start
// left anything slow behind (a cache filled lazily, a rebuild on first use).
import type { AdminApi } from "./admin-api";
import { statusMessage } from "./admin-api";
import { runBounded } from "./bounded-writes";
import { waitUntil } from "../processes";
import { BENCH_NAMESPACE, podBody, podName, readyPatch, serviceName } from "./objects";

/** Retry pause while the first write is refused or unanswered. */
const RETRY_MS = 50;

export interface FirstWrite {
  /** Send of the first attempt → the 200; undefined when none came within the bound. */
  ms?: number;
  attempts: number;
  lastFailure?: string;
}

const base = `/api/v1/namespaces/${BENCH_NAMESPACE}`;
const MERGE = "application/merge-patch+json";
const annotationPatch = (value: string) => ({ metadata: { annotations: { "bench.svcedge.io/touched": value } } });

/** Merge-patches Service 0's annotations (idempotent, so a retry after a lost answer is harmless) until a 200. */
export async function firstWrite(api: AdminApi, boundMs: number): Promise<FirstWrite> {
  const t0 = performance.now();
  const out: FirstWrite = { attempts: 0 };
  const attempt = async (): Promise<true | undefined> => {
    out.attempts++;
    try {
      const res = await api.http.request({
        method: "PATCH",
        path: `${base}/services/${serviceName(0)}`,
        headers: { ...api.authHeader(), "content-type": MERGE },
        body: JSON.stringify(annotationPatch("restart")),
        timeoutMs: boundMs,
      });
      if (res.status === 200) return true;
      out.lastFailure = `${res.status} ${statusMessage(res.body)}`;
    } catch (e) {
      out.lastFailure = e instanceof Error ? e.message : String(e);
    }
    return undefined;
  };
  try {
    await waitUntil("the first write", boundMs, attempt, RETRY_MS);
    out.ms = performance.now() - t0;
  } catch {
    // Not within the bound: out.ms stays unset, lastFailure says why.
  }
  return out;
}

export interface MixedPlan {
  services: number;
  podsPerService: number;
  inFlight: number;
  durationMs: number;
  /** Safety net on the count, well above what the duration allows. */
  maxRequests: number;
  /** svcedge.io/url base of the Pods it creates. */
  podUrl: string;
}

export interface MixedRun {
  latenciesMs: number[];
  failed: number;
  firstError?: string;
  wallS: number;
  /** Worst latency and count per kind of request. */
  byOp: Map<string, { count: number; maxMs: number }>;
}

interface Op {
  name: string;
  send(api: AdminApi, i: number, plan: MixedPlan): Promise<{ status: number; body: string }>;
  expect: number;
}

/** Half reads, half writes; the writes touch Services, Pods, EndpointSlices and route records. */
const OPS: Op[] = [
  { name: "GET pod", expect: 200, send: (api, i, p) => api.send("GET", `${base}/pods/${pick(i, p).pod}`) },
  {
    name: "PATCH pod status (readiness)",
    expect: 200,
    send: (api, i, p) => api.send("PATCH", `${base}/pods/${pick(i, p).pod}/status`, readyPatch(Math.floor(i / OPS.length) % 2 === 0), MERGE),
  },
  { name: "GET service", expect: 200, send: (api, i, p) => api.send("GET", `${base}/services/${pick(i, p).service}`) },
  { name: "LIST pods, limit=100", expect: 200, send: (api) => api.send("GET", `${base}/pods?limit=100`) },
  {
    name: "PATCH service annotation",
    expect: 200,
    send: (api, i, p) => api.send("PATCH", `${base}/services/${pick(i, p).service}`, annotationPatch(String(i)), MERGE),
  },
  // A new Pod of an existing Service (index past the bench's own), so the endpoints controller runs.
  {
    name: "POST pod",
    expect: 201,
    send: (api, i, p) => api.send("POST", `${base}/pods`, podBody(pick(i, p).s, p.podsPerService + i, p.podsPerService, p.podUrl)),
  },
];

/** A spread of Services and Pods (a multiplicative hash of the request index). */
function pick(i: number, plan: MixedPlan): { s: number; service: string; pod: string } {
  const s = (i * 7919) % plan.services;
  return { s, service: serviceName(s), pod: podName(s, (i * 31) % plan.podsPerService) };
}

export async function mixedLoad(api: AdminApi, plan: MixedPlan): Promise<MixedRun> {
  const byOp = new Map<string, { count: number; maxMs: number }>(OPS.map((op) => [op.name, { count: 0, maxMs: 0 }]));
  const t0 = performance.now();
  const run = await runBounded(plan.maxRequests, plan.inFlight, t0 + plan.durationMs, async (i) => {
    const op = OPS[i % OPS.length]!;
    const sent = performance.now();
    // Bounded by HttpTarget's timeout: a request that takes it counts as failed at that latency.
    const res = await op.send(api, i, plan).finally(() => {
      const stat = byOp.get(op.name)!;
      stat.count++;
      stat.maxMs = Math.max(stat.maxMs, performance.now() - sent);
    });
    if (res.status !== op.expect) throw new Error(`${op.name}: ${res.status} ${statusMessage(res.body)}`);
  });
  return { latenciesMs: run.latenciesMs, failed: run.failed, firstError: run.firstError, wallS: (run.lastAnswerAt - t0) / 1000, byOp };
}
