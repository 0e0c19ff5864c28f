// The worker projects' files share a workerd, one per vitest worker (isolate: false in
// vitest.config.ts), instead of starting a workerd per file; each file still starts from an
// empty cluster and a fresh isolate's state, as it would in a process of its own: no
// Durable Object instance or stored data (KV included) left by the file before, and the
// gateway's module-level caches, budgets and counters as a new isolate has them.
import { abortAllDurableObjects, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";
import { resetGatewayState } from "../gateway/reset-state";

beforeAll(async () => {
  // Storage first, then the instances: an instance that outlived the wipe would keep what it
  // cached in memory (allocators, indexes). reset() empties Durable Objects only; KV is emptied here.
  await reset();
  await abortAllDurableObjects();
  for (let cursor: string | undefined; ; ) {
    const page = await env.KV.list(cursor === undefined ? {} : { cursor });
    await Promise.all(page.keys.map((k) => env.KV.delete(k.name)));
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  resetGatewayState();
});
