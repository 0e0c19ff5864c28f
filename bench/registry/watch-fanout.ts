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
    const ev = JSON.parse(line) as { type: string; object: { metadata?: { labels?: Record<string, string> } } };
    if (ev.type !== "MODIFIED") return;
    const svc = ev.object.metadata?.labels?.[SERVICE_NAME_LABEL];
    const p = svc === undefined ? undefined : pending.get(svc);
    if (!p || p.seen.has(watcher)) return;
    p.seen.add(watcher);
    result.deliveryMs.push(at - p.sentAt);
  };
  const streams = await Promise.all(
    Array.from({ length: plan.watchers }, async (_, w) => {
      let buf = "";
      const s = await api.http.stream(`${SLICES}?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=600`, api.authHeader(), (chunk, at) => {
        buf += chunk.toString();
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          onEvent(w, buf.slice(0, i), at);
          buf = buf.slice(i + 1);
        }
      });
      if (s.status !== 200) throw new Error(`watch ${SLICES}: ${s.status}`);
      return s;
    }),
  );
  try {
    const open = (await api.figures()).watchers;
    if (open < plan.watchers) throw new Error(`only ${open} of ${plan.watchers} watches are open at the registry`);
    for (const s of plan.services) {
      const p: Pending = { sentAt: performance.now(), seen: new Set() };
      pending.set(serviceName(s), p);
      const res = await api.send("PATCH", `/api/v1/namespaces/${BENCH_NAMESPACE}/pods/${podName(s, 0)}/status`, readyPatch(false), "application/merge-patch+json");
      result.writeMs.push(performance.now() - p.sentAt);
      if (res.status !== 200) {
        result.failedWrites++;
        result.firstError ??= `PATCH pod ${podName(s, 0)} status: ${res.status} ${statusMessage(res.body)}`;
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
