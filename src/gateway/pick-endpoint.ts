// Endpoint choice. kube-proxy's rule: use the ready endpoints; only when there are
// none, the serving-and-terminating ones. Among them, uniformly at random (expected
// O(1)), or, with ClientIP affinity, by rendezvous hashing of the client IP: every
// isolate agrees without shared state, and removing an endpoint moves only the
// clients that were on it.
import type { RouteEndpoint, RoutePort } from "../api/route";
import { contentHash } from "../api/content-hash";

/** Random draws tried before falling back to filtering the whole list. */
const RANDOM_PROBES = 3;

export type Available = (endpoint: RouteEndpoint) => boolean;

/** The endpoints kube-proxy would use for this port. */
export function usableEndpoints(port: RoutePort): readonly RouteEndpoint[] {
  return port.ready.length > 0 ? port.ready : port.terminating;
}

export function pickRandom(endpoints: readonly RouteEndpoint[], available: Available, random: () => number = Math.random): RouteEndpoint | undefined {
  // Usually the first draw is available: no pass over the list on the hot path.
  for (let probe = 0; probe < RANDOM_PROBES && endpoints.length > 0; probe++) {
    const endpoint = endpoints[Math.floor(random() * endpoints.length)]!;
    if (available(endpoint)) return endpoint;
  }
  const candidates = endpoints.filter(available);
  return candidates[Math.floor(random() * candidates.length)];
}

/** Highest-random-weight choice: the available endpoint with the highest hash of (key, id). */
export function pickByRendezvous(endpoints: readonly RouteEndpoint[], key: string, available: Available): RouteEndpoint | undefined {
  let best: RouteEndpoint | undefined;
  let bestScore = -1;
  for (const endpoint of endpoints) {
    if (!available(endpoint)) continue;
    const score = rendezvousScore(key, endpoint.id);
    if (score > bestScore || (score === bestScore && best !== undefined && endpoint.id < best.id)) {
      best = endpoint;
      bestScore = score;
    }
  }
  return best;
}

/** The (key, id) pair's content hash (cyrb53, which avalanches): a 53-bit score. */
export function rendezvousScore(key: string, id: string): number {
  return contentHash(`${key}\u0000${id}`);
}
