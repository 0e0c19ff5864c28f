// An unpaged `GET /api/v1/pods` (every Pod of every namespace in one answer, as an informer's
// first list without `limit` asks), with the isolate's heap sampled while it is in flight:
// whether it completes at this size, how long it takes, and what it costs the registry's memory.
import type { AdminApi } from "./admin-api";
import { statusMessage } from "./admin-api";
import type { IsolateHeap } from "./isolate-heap";

/** Workers RPC: a call's arguments or result at most 32 MiB. */
export const RPC_LIMIT_BYTES = 32 * 2 ** 20;
/** Bound on the whole answer: 100,000 Pods are about 200 MB of JSON. */
const LIST_TIMEOUT_MS = 180_000;
const HEAP_SAMPLE_MS = 50;

export interface UnpagedList {
  status: number;
  ms: number;
  /** Items in a 200's body. */
  items?: number;
  bytes: number;
  /** The Status message of a failure, or the client's error. */
  failure?: string;
  /** Largest heap in use among the samples taken while the list was in flight, bytes. */
  heapMax?: number;
  heapSamples: number;
}

export async function unpagedPodList(api: AdminApi, heap: IsolateHeap | undefined): Promise<UnpagedList> {
  const t0 = performance.now();
  const request = api.http.request({ path: "/api/v1/pods", headers: { ...api.authHeader(), accept: "application/json" }, timeoutMs: LIST_TIMEOUT_MS }).then(
    (res) => ({ res, ms: performance.now() - t0 }),
    (e: unknown) => ({ error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0 }),
  );
  const sampled = heap ? await heap.maxWhile(request, HEAP_SAMPLE_MS) : { result: await request, maxUsed: 0, samples: 0 };
  const answer = sampled.result;
  const out: UnpagedList = { status: 0, ms: answer.ms, bytes: 0, heapSamples: sampled.samples };
  if (sampled.samples > 0) out.heapMax = sampled.maxUsed;
  if ("error" in answer) {
    out.failure = answer.error;
    return out;
  }
  out.status = answer.res.status;
  out.bytes = Buffer.byteLength(answer.res.body);
  if (answer.res.status === 200) out.items = (JSON.parse(answer.res.body) as { items: unknown[] }).items.length;
  else out.failure = statusMessage(answer.res.body);
  return out;
}
