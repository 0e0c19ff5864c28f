// The sync loop's contract: a burst of changes becomes one sync, a failure is retried as a
// full sync, and syncs never overlap.
import { expect, it } from "vitest";
import { SyncLoop } from "../../src/agent/sync-loop";
import { waitFor } from "../../scripts/lab/agent-process";

it("starts full, batches a burst, retries a failure as a full sync, never overlaps", async () => {
  const calls: boolean[] = [];
  let running = 0;
  let overlapped = false;
  let failNext = false;
  const loop = new SyncLoop({
    minIntervalMs: 50,
    periodMs: 60_000,
    retry: { initialMs: 20, maxMs: 20 },
    sync: async (full) => {
      if (running++) overlapped = true;
      calls.push(full);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      if (failNext) {
        failNext = false;
        return false;
      }
      return true;
    },
  });
  loop.start();
  await loop.idle();
  expect(calls).toEqual([true]);

  for (let i = 0; i < 20; i++) loop.request();
  await loop.idle();
  expect(calls).toEqual([true, false]);

  failNext = true;
  loop.request();
  await waitFor("the retry", 5000, () => (calls.length === 4 ? true : undefined), 10);
  await loop.idle();
  expect(calls).toEqual([true, false, false, true]);
  await loop.stop();
  expect(overlapped).toBe(false);
});
