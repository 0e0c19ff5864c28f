// Host → parsed route record (LoadedRoute), cached in module scope behind the host
// filter: a host the filter rules out is unknown without a KV read. Only parsed data is
// kept (never promises, Responses or streams: they belong to the request that made them),
// and the caches are an optimisation only: an evicted isolate just reads KV again.
import { decodeHostFilter, HOST_FILTER_KEY, mayContainHost, type HostFilter } from "../api/host-filter";
import { routeKey } from "../api/route";
import { gatewayConfig, KV_MIN_CACHE_TTL_SECONDS } from "./config";
import { parseRouteRecord, type LoadedRoute } from "./route-record";
import { stats } from "./stats";
import { TtlMap } from "../api/ttl-map";

/** Bounds the memory that random Host headers can make the isolate spend. */
const MAX_CACHED_HOSTS = 10_000;
/** A request that finds another one loading the same key polls for its result this often… */
const LOAD_WAIT_STEP_MS = 2;
/** …for at most this long, then reads KV itself. */
const LOAD_WAIT_MAX_MS = 250;

/**
 * KV values kept in the isolate for `routeCacheTtlMs`. Concurrent misses for one key make
 * one KV read: later requests poll for the first one's result rather than await its
 * promise, since awaiting another request's I/O is not allowed. Stale-if-error: a value
 * we had is better than failing every request that needs it.
 */
class KvReadCache<V> {
  /** Wrapped so that a cached null (no such key) is distinguishable from a miss. */
  private readonly entries: TtlMap<{ value: V }>;
  /** Keys whose KV read is in flight in this isolate, with the time it started (plain data). */
  private readonly loading = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly onHit: () => void = () => {},
  ) {
    this.entries = new TtlMap(maxEntries);
  }

  fresh(key: string): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (entry) this.onHit();
    return entry;
  }

  async get(key: string, read: () => Promise<V>): Promise<V> {
    const cached = this.fresh(key);
    if (cached) return cached.value;
    const started = this.loading.get(key);
    if (started !== undefined && Date.now() - started < LOAD_WAIT_MAX_MS) {
      const waited = await this.waitForLoad(key);
      if (waited) return waited.value;
    }
    const token = Date.now();
    // A cancelled request may never clear its mark; marks only delay others by LOAD_WAIT_MAX_MS,
    // but they must not pile up.
    if (this.loading.size >= this.maxEntries) this.loading.clear();
    this.loading.set(key, token);
    try {
      const value = await read();
      this.entries.set(key, { value }, gatewayConfig().routeCacheTtlMs);
      return value;
    } catch (err) {
      const stale = this.entries.getStale(key);
      if (stale) return stale.value;
      throw err;
    } finally {
      if (this.loading.get(key) === token) this.loading.delete(key);
    }
  }

  private async waitForLoad(key: string): Promise<{ value: V } | undefined> {
    for (let waited = 0; waited < LOAD_WAIT_MAX_MS; waited += LOAD_WAIT_STEP_MS) {
      await new Promise((resolve) => setTimeout(resolve, LOAD_WAIT_STEP_MS));
      const entry = this.fresh(key);
      if (entry) return entry;
      if (!this.loading.has(key)) return undefined;
    }
    return undefined;
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }
}

const routes = new KvReadCache<LoadedRoute | null>(MAX_CACHED_HOSTS, () => (stats.cacheHits += 1));
/** One key: the host filter, or null when KV has none this code can use. */
const hostFilters = new KvReadCache<HostFilter | null>(1);

const kvCacheTtl = (): number => Math.max(KV_MIN_CACHE_TTL_SECONDS, gatewayConfig().kvCacheTtlSeconds);

/** The record for `host` (lower-case, no port), or null when no record names it. */
export async function resolveRoute(kv: KVNamespace, host: string): Promise<LoadedRoute | null> {
  const cached = routes.fresh(host);
  if (cached) return cached.value;
  // Ruled out: unknown without a KV read, and not cached, so random hosts do not crowd out real ones.
  const filter = await hostFilter(kv);
  if (filter && !mayContainHost(filter, host)) return null;
  return routes.get(host, async () => {
    stats.kvReads += 1;
    const value = await kv.get<unknown>(routeKey(host), { type: "json", cacheTtl: kvCacheTtl() });
    return value === null ? null : parseRouteRecord(value, host);
  });
}

/**
 * The host filter, read at most once per cache period (as route records are, so that a new
 * host waits for at most one period). Missing, unreadable or failing to load: null, and
 * every host is looked up in KV.
 */
async function hostFilter(kv: KVNamespace): Promise<HostFilter | null> {
  try {
    return await hostFilters.get(HOST_FILTER_KEY, async () => {
      stats.kvReads += 1;
      const value = await kv.get(HOST_FILTER_KEY, { cacheTtl: kvCacheTtl() });
      const filter = value === null ? null : decodeHostFilter(value);
      if (value !== null && !filter) console.warn(`gateway: ignoring ${HOST_FILTER_KEY}: not a host filter this version reads`);
      return filter;
    });
  } catch (err) {
    console.warn(`gateway: ${HOST_FILTER_KEY} unavailable, looking the host up: ${String(err)}`);
    return null;
  }
}

/** Forgets every cached record and the host filter (tests; a fresh isolate starts like this). */
export function clearRouteCache(): void {
  routes.clear();
  hostFilters.clear();
}
