// A control for the creation phase: GET /version (answered by the Worker without the
// Durable Object) at a steady pace while the creates run. If it stalls when the creates do,
// the stall is the whole workerd process (e.g. local KV simulation during a flush), not the
// registry's own write path.
import type { AdminApi } from "./admin-api";

const MAX_PROBES = 100_000;

export interface ControlProbe {
  stop(): Promise<number[]>;
}

export function startControlProbe(api: AdminApi, intervalMs: number): ControlProbe {
  let stopped = false;
  const latencies: number[] = [];
  const loop = (async () => {
    while (!stopped && latencies.length < MAX_PROBES) {
      const t0 = performance.now();
      try {
        await api.send("GET", "/version");
        latencies.push(performance.now() - t0);
      } catch {
        // A failed probe is no latency; the creates report their own errors.
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return latencies;
    },
  };
}
