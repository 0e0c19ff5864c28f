// Watch fan-out: several watchers on EndpointSlices across all namespaces, as node agents
// keep them (list for a resourceVersion, then `?watch=1&resourceVersion=…` with bookmarks),
// and a bounded series of Pod readiness writes, one at a time and spaced. Each write changes
// one Service's slice; the latency is from sending the write to a watcher reading the
// slice's MODIFIED event off its stream, for every (watcher, write) pair.
import { SERVICE_NAME_LABEL } from "../../src/api/types";
import type { AdminApi } from "./admin-api";
import { statusMessage } from "./admin-api";
import { BENCH_NAMESPACE, podName, readyPatch, serviceName } from "./objects";

const SLICES = "/apis/discovery.k8s.io/v1/endpointslices";
/** How long after the last write the watchers may take before a missing event counts as lost. */
const LATE_EVENT_MS = 5_000;

export interface FanoutPlan {
  watchers: number;
  /** Services to flip one Pod of, one write each, in order. */
  services: number[];
  spacingMs: number;
  /** No write is sent after this (performance.now()). */
  deadlineAt: number;
}

export interface FanoutResult {
  /** Send → event read, every (watcher, write) pair that arrived. */
  deliveryMs: number[];
  /** Send → write's response. */
  writeMs: number[];
  missing: number;
  failedWrites: number;
  firstError?: string;
}

interface Pending {
  sentAt: number;
  seen: Set<number>;
}

export async function measureFanout(api: AdminApi, plan: FanoutPlan): Promise<FanoutResult> {
  const result: FanoutResult = { deliveryMs: [], writeMs: [], missing: 0, failedWrites: 0 };
  const list = await api.must<{ metadata: { resourceVersion: string } }>("GET", `${SLICES}?limit=1`, undefined, 200);
  const rv = list.metadata.resourceVersion;
  const pending = new Map<string, Pending>();
  const onEvent = (watcher: number, line: string, at: number) => {
    let ev: { type?: string; object?: { metadata?: { labels?: Record<string, string> } } };
    try {
      ev = JSON.parse(line);
    } catch {
      return; // Not an event: it can match no write, so it counts as missing if it was one.
    }
    if (ev.type !== "MODIFIED") return;
    const svc = ev.object?.metadata?.labels?.[SERVICE_NAME_LABEL];
    const p = svc === undefined ? undefined : pending.get(svc);
    if (!p || p.seen.has(watcher)) return;
    p.seen.add(watcher);
    result.deliveryMs.push(at - p.sentAt);
  };
  const opened = await Promise.allSettled(
    Array.from({ length: plan.watchers }, (_, w) => {
      let buf = "";
      return api.http.stream(`${SLICES}?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=600`, api.authHeader(), (chunk, at) => {
        buf += chunk.toString();
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          onEvent(w, buf.slice(0, i), at);
          buf = buf.slice(i + 1);
        }
      });
    }),
  );
  const streams = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  try {
    const refused = opened.find((o) => o.status === "rejected" || o.value.status !== 200);
    if (refused) throw new Error(`watch ${SLICES}: ${refused.status === "rejected" ? String(refused.reason) : refused.value.status}`);
    const open = (await api.figures()).watchers;
    if (open < plan.watchers) throw new Error(`only ${open} of ${plan.watchers} watches are open at the registry`);
    for (const s of plan.services) {
      if (performance.now() > plan.deadlineAt) {
        result.failedWrites++;
        result.firstError ??= "not sent: the phase's time bound passed";
        continue;
      }
      const p: Pending = { sentAt: performance.now(), seen: new Set() };
      pending.set(serviceName(s), p);
      const failure = await patchReady(api, s).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      result.writeMs.push(performance.now() - p.sentAt);
      if (failure) {
        result.failedWrites++;
        result.firstError ??= failure;
        pending.delete(serviceName(s));
      }
      await new Promise((r) => setTimeout(r, plan.spacingMs));
    }
    const expected = (plan.services.length - result.failedWrites) * plan.watchers;
    const deadline = performance.now() + LATE_EVENT_MS;
    while (result.deliveryMs.length < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    result.missing = expected - result.deliveryMs.length;
  } finally {
    for (const s of streams) s.close();
  }
  return result;
}

/** Sets Pod 0 of Service `s` not ready; resolves with a one-line failure, or undefined. */
async function patchReady(api: AdminApi, s: number): Promise<string | undefined> {
  const res = await api.send("PATCH", `/api/v1/namespaces/${BENCH_NAMESPACE}/pods/${podName(s, 0)}/status`, readyPatch(false), "application/merge-patch+json");
  return res.status === 200 ? undefined : `PATCH pod ${podName(s, 0)} status: ${res.status} ${statusMessage(res.body)}`;
}
