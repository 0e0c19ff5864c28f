// Host → parsed route record (LoadedRoute), cached in module scope. Only parsed data is kept (never
// promises, Responses or streams: they belong to the request that made them), and
// the cache is an optimisation only: an evicted isolate just reads KV again.
import { routeKey } from "../api/route";
import { gatewayConfig, KV_MIN_CACHE_TTL_SECONDS } from "./config";
import { parseRouteRecord, type LoadedRoute } from "./route-record";
import { stats } from "./stats";
import { TtlMap } from "../api/ttl-map";

/** Bounds the memory that random Host headers can make the isolate spend. */
const MAX_CACHED_HOSTS = 10_000;
/** A request that finds another one loading the same host polls for its result this often… */
const LOAD_WAIT_STEP_MS = 2;
/** …for at most this long, then reads KV itself. */
const LOAD_WAIT_MAX_MS = 250;

/** Wrapped so that a known-unknown host (null) is distinguishable from a miss. */
interface Entry {
  record: LoadedRoute | null;
}

const entries = new TtlMap<Entry>(MAX_CACHED_HOSTS);
/** Hosts whose KV read is in flight in this isolate, with the time it started (plain data). */
const loading = new Map<string, number>();

/** The record for `host` (lower-case, no port), or null when no record names it. */
export async function resolveRoute(kv: KVNamespace, host: string): Promise<LoadedRoute | null> {
  const cached = fresh(host);
  if (cached) return cached.record;
  const started = loading.get(host);
  if (started !== undefined && Date.now() - started < LOAD_WAIT_MAX_MS) {
    // Concurrent misses wait for the first reader instead of stampeding KV. They poll
    // rather than share its promise: awaiting another request's I/O is not allowed.
    const waited = await waitForLoad(host);
    if (waited) return waited.record;
  }
  const token = Date.now();
  // A cancelled request may never clear its mark; marks only delay others by LOAD_WAIT_MAX_MS,
  // but they must not pile up.
  if (loading.size >= MAX_CACHED_HOSTS) loading.clear();
  loading.set(host, token);
  try {
    stats.kvReads += 1;
    const ttl = Math.max(KV_MIN_CACHE_TTL_SECONDS, gatewayConfig().kvCacheTtlSeconds);
    const value = await kv.get<unknown>(routeKey(host), { type: "json", cacheTtl: ttl });
    const record = value === null ? null : parseRouteRecord(value, host);
    store(host, record);
    return record;
  } catch (err) {
    // Stale-if-error: a record we had is better than failing every request to it.
    const stale = entries.getStale(host);
    if (stale) return stale.record;
    throw err;
  } finally {
    if (loading.get(host) === token) loading.delete(host);
  }
}

function fresh(host: string): Entry | undefined {
  const entry = entries.get(host);
  if (!entry) return undefined;
  stats.cacheHits += 1;
  return entry;
}

async function waitForLoad(host: string): Promise<Entry | undefined> {
  for (let waited = 0; waited < LOAD_WAIT_MAX_MS; waited += LOAD_WAIT_STEP_MS) {
    await new Promise((resolve) => setTimeout(resolve, LOAD_WAIT_STEP_MS));
    const entry = fresh(host);
    if (entry) return entry;
    if (!loading.has(host)) return undefined;
  }
  return undefined;
}

function store(host: string, record: LoadedRoute | null): void {
  entries.set(host, { record }, gatewayConfig().routeCacheTtlMs);
}

/** Forgets every cached record (tests; a fresh isolate starts like this). */
export function clearRouteCache(): void {
  entries.clear();
  loading.clear();
}
