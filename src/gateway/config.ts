// Tunables of the data plane. Defaults follow Envoy's outlier detection and Workers KV's
// limits (a cacheTtl of at least 30 s; reads cached at the edge for up to 60 s); tests
// change them through `configureGateway`.
import { configOf, type ConfigVars } from "../config";
import type { Env } from "../env";

/** KV rejects `cacheTtl` below 30 s. */
export const KV_MIN_CACHE_TTL_SECONDS = 30;

export interface GatewayConfig {
  /** How long a parsed route record (or a known-unknown host) stays in the isolate. */
  routeCacheTtlMs: number;
  /** `cacheTtl` passed to KV reads; raised to KV's minimum. */
  kvCacheTtlSeconds: number;
  /** How long a node-token verdict (valid or not) stays in the isolate. */
  credentialCacheTtlMs: number;
  /** KV lookups of node tokens this isolate has no verdict for, per second (token-bucket refill rate)… */
  credentialLookupsPerSecond: number;
  /** …and how many may come in a burst. Beyond the budget a token is treated as invalid, unread. */
  credentialLookupBurst: number;
  /** Envoy `base_ejection_time`: an endpoint is ejected for this × the number of ejections in a row. */
  baseEjectionMs: number;
  /** Envoy `max_ejection_time`. */
  maxEjectionMs: number;
  /** Envoy `max_ejection_percent`: share of a Service's endpoints that may be ejected at once (at least one always may). */
  maxEjectionPercent: number;
  /** Extra attempts on other endpoints for a retryable request (Envoy `num_retries`). */
  maxRetries: number;
  /** Upstream timeout when the Service has no `svcedge.io/timeout` annotation. */
  defaultTimeoutMs: number;
  /** Lifts the origin guard (origin-guard.ts): loopback, link-local and unspecified origins, localhost and admin hosts may be fetched. Local runs only. */
  allowLocalOrigins: boolean;
  /** ADMIN_HOSTS as the Worker has them: never fetched as an origin. */
  adminHosts: readonly string[];
  /** The first X-Forwarded-For hop is the client (affinity, source ranges), not CF-Connecting-IP. Local runs only: clients write that header. */
  trustForwardedFor: boolean;
}

export const DEFAULT_GATEWAY_CONFIG: Readonly<GatewayConfig> = Object.freeze({
  routeCacheTtlMs: 30_000,
  kvCacheTtlSeconds: 60,
  credentialCacheTtlMs: 60_000,
  credentialLookupsPerSecond: 10,
  credentialLookupBurst: 10,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  maxRetries: 2,
  defaultTimeoutMs: 30_000,
  allowLocalOrigins: false,
  // Unset ADMIN_HOSTS means loopback names (src/worker.ts), which the origin guard refuses anyway.
  adminHosts: [],
  trustForwardedFor: false,
});

let current: GatewayConfig = { ...DEFAULT_GATEWAY_CONFIG };

export function gatewayConfig(): Readonly<GatewayConfig> {
  return current;
}

/** Overrides some tunables for this isolate (tests, or an env-driven setup); returns the result. */
export function configureGateway(overrides: Partial<GatewayConfig>): Readonly<GatewayConfig> {
  current = { ...current, ...overrides };
  return current;
}

export function resetGatewayConfig(): void {
  current = { ...DEFAULT_GATEWAY_CONFIG };
  appliedFrom = undefined;
  appliedOverrides = undefined;
}

/** The env object and the overrides last applied. */
let appliedFrom: object | undefined;
let appliedOverrides: string | undefined;

/**
 * Applies what the Worker's variables set (src/config.ts parses them; a malformed one throws
 * ConfigError there). Unset variables leave the defaults, and what a test configured, alone.
 */
export function applyGatewayVars(env: Env | ConfigVars): void {
  // The env object is the same for every request of an isolate: usually nothing to do.
  if (env === appliedFrom) return;
  appliedFrom = env;
  const overrides = configOf(env).gateway;
  const signature = JSON.stringify(overrides);
  if (signature === appliedOverrides) return;
  appliedOverrides = signature;
  configureGateway(overrides);
}
