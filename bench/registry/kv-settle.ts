// Waits for the registry's KV replica to settle: no key pending and the write counter
// unchanged for a while. Writes are coalesced (≤ 1 per key per second, flushed by the
// alarm in batches), so the count is only final once the alarm has nothing left to do.
import type { AdminApi, RegistryFigures } from "./admin-api";

/** Two flush periods without a new write, with nothing pending, count as settled. */
export const KV_QUIET_MS = 2_500;
export const KV_POLL_MS = 250;

export interface KvSettle {
  /** performance.now() when no key was pending for the first time; undefined if never within the deadline. */
  drainedAt?: number;
  settled: boolean;
  final: RegistryFigures;
}

export async function waitKvSettled(api: AdminApi, deadlineAt: number): Promise<KvSettle> {
  let last = await api.figures();
  let drainedAt: number | undefined;
  let quietSince = performance.now();
  for (;;) {
    const now = performance.now();
    if (last.kvPending === 0) drainedAt ??= now;
    if (last.kvPending === 0 && now - quietSince >= KV_QUIET_MS) return { drainedAt, settled: true, final: last };
    if (now > deadlineAt) return { drainedAt, settled: false, final: last };
    await new Promise((r) => setTimeout(r, KV_POLL_MS));
    const next = await api.figures();
    if (next.kvWrites !== last.kvWrites || next.kvPending !== 0) quietSince = performance.now();
    last = next;
  }
}
