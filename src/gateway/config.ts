// Tunables of the data plane. Defaults follow Envoy's outlier detection and Workers KV's
// limits (a cacheTtl of at least 30 s; reads cached at the edge for up to 60 s); tests
// change them through `configureGateway`.

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
  appliedVars = undefined;
}

/** Optional Worker variables (wrangler.toml `[vars]`) that override the defaults. */
export interface GatewayVars {
  GATEWAY_ROUTE_CACHE_TTL_SECONDS?: string;
  GATEWAY_BASE_EJECTION_SECONDS?: string;
  GATEWAY_MAX_EJECTION_PERCENT?: string;
  GATEWAY_MAX_RETRIES?: string;
  GATEWAY_DEFAULT_TIMEOUT_SECONDS?: string;
  /** "true" lifts the origin guard (tests, `npm start`); anything else but "false" is ignored. */
  GATEWAY_ALLOW_LOCAL_ORIGINS?: string;
  /** "true": X-Forwarded-For names the client (`npm start`, where wrangler dev sets CF-Connecting-IP to 127.0.0.1). */
  GATEWAY_TRUST_X_FORWARDED_FOR?: string;
  ADMIN_HOSTS?: string;
}

type NumericField = { [K in keyof GatewayConfig]: GatewayConfig[K] extends number ? K : never }[keyof GatewayConfig];

const VAR_FIELDS: ReadonlyArray<[keyof GatewayVars, NumericField, number]> = [
  ["GATEWAY_ROUTE_CACHE_TTL_SECONDS", "routeCacheTtlMs", 1000],
  ["GATEWAY_BASE_EJECTION_SECONDS", "baseEjectionMs", 1000],
  ["GATEWAY_MAX_EJECTION_PERCENT", "maxEjectionPercent", 1],
  ["GATEWAY_MAX_RETRIES", "maxRetries", 1],
  ["GATEWAY_DEFAULT_TIMEOUT_SECONDS", "defaultTimeoutMs", 1000],
];

type BooleanField = { [K in keyof GatewayConfig]: GatewayConfig[K] extends boolean ? K : never }[keyof GatewayConfig];

const BOOLEAN_VARS: ReadonlyArray<[keyof GatewayVars, BooleanField]> = [
  ["GATEWAY_ALLOW_LOCAL_ORIGINS", "allowLocalOrigins"],
  ["GATEWAY_TRUST_X_FORWARDED_FOR", "trustForwardedFor"],
];

/** The env object and the variable values last applied. */
let appliedFrom: GatewayVars | undefined;
let appliedVars: string | undefined;

/** Applies the variables that are set (non-negative numbers); invalid values are logged and ignored. */
export function applyGatewayVars(vars: GatewayVars): void {
  // The env object is the same for every request of an isolate: usually nothing to do.
  if (vars === appliedFrom) return;
  appliedFrom = vars;
  const signature = [...VAR_FIELDS.map(([name]) => vars[name]), ...BOOLEAN_VARS.map(([name]) => vars[name]), vars.ADMIN_HOSTS].map((v) => v ?? "").join("\u0000");
  if (signature === appliedVars) return;
  appliedVars = signature;
  const overrides: Partial<GatewayConfig> = {};
  for (const [name, field, scale] of VAR_FIELDS) {
    const raw = vars[name];
    if (raw === undefined || raw === "") continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      console.warn(`gateway: ignoring ${name}=${JSON.stringify(raw)}: not a non-negative number`);
      continue;
    }
    overrides[field] = value * scale;
  }
  for (const [name, field] of BOOLEAN_VARS) {
    const raw = vars[name];
    if (raw === "true" || raw === "false") overrides[field] = raw === "true";
    else if (raw) console.warn(`gateway: ignoring ${name}=${JSON.stringify(raw)}: not "true" or "false"`);
  }
  if (vars.ADMIN_HOSTS) overrides.adminHosts = vars.ADMIN_HOSTS.split(",").map((h) => h.trim()).filter((h) => h !== "");
  configureGateway(overrides);
}
