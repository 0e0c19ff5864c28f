// Passive health, after Envoy's outlier detection: an endpoint that failed a
// connection or answered 502/503/504 is ejected from this isolate's choices for
// base × (ejections in a row), capped; never more than a share of a Service's
// endpoints at once, though one may always be ejected. State is per isolate, kept
// as plain numbers, and forgotten on success.
import { gatewayConfig } from "./config";
import { stats } from "./stats";

interface EndpointHealth {
  /** Ejections in a row; reset by a success after the ejection ended. */
  ejections: number;
  ejectedUntil: number;
}

/** Bounds the per-isolate state; expired entries are dropped first when it is reached. */
const MAX_TRACKED_ENDPOINTS = 10_000;

/** Keyed by service ("ns/name"), then endpoint id; a Service with no failures has no entry. */
const health = new Map<string, Map<string, EndpointHealth>>();
let tracked = 0;

export function isEjected(service: string, endpointId: string, now = Date.now()): boolean {
  const state = health.get(service)?.get(endpointId);
  return state !== undefined && state.ejectedUntil > now;
}

/** Records a failure; returns whether the endpoint is now ejected. */
export function recordFailure(service: string, endpointId: string, serviceEndpointCount: number): boolean {
  const now = Date.now();
  const config = gatewayConfig();
  let endpoints = health.get(service);
  if (!endpoints) health.set(service, (endpoints = new Map()));
  const state = endpoints.get(endpointId) ?? { ejections: 0, ejectedUntil: 0 };
  if (state.ejectedUntil > now) return true;
  let ejectedNow = 0;
  for (const other of endpoints.values()) if (other.ejectedUntil > now) ejectedNow += 1;
  const allowed = Math.max(1, Math.floor((serviceEndpointCount * config.maxEjectionPercent) / 100));
  if (ejectedNow >= allowed) return false;
  state.ejections += 1;
  state.ejectedUntil = now + Math.min(config.baseEjectionMs * state.ejections, config.maxEjectionMs);
  if (!endpoints.has(endpointId)) {
    if (tracked >= MAX_TRACKED_ENDPOINTS) pruneExpired(now);
    endpoints.set(endpointId, state);
    tracked += 1;
  }
  stats.ejections += 1;
  return true;
}

/** A success from an endpoint whose ejection is over clears its record. */
export function recordSuccess(service: string, endpointId: string): void {
  const endpoints = health.get(service);
  const state = endpoints?.get(endpointId);
  if (!endpoints || !state || state.ejectedUntil > Date.now()) return;
  endpoints.delete(endpointId);
  tracked -= 1;
  if (endpoints.size === 0) health.delete(service);
}

function pruneExpired(now: number): void {
  for (const [service, endpoints] of health) {
    for (const [id, state] of endpoints) {
      if (state.ejectedUntil <= now) {
        endpoints.delete(id);
        tracked -= 1;
      }
    }
    if (endpoints.size === 0) health.delete(service);
  }
}

/** Forgets all health state (tests; a fresh isolate starts like this). */
export function clearOutlierState(): void {
  health.clear();
  tracked = 0;
}
