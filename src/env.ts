/**
 * The Worker's bindings, variables and secrets. `npm run types` generates WranglerEnv
 * (worker-configuration.d.ts) from wrangler.toml's bindings and [vars] and from the secret
 * names in .dev.vars.example; `npm run lint` (CI) checks that it is current. What neither
 * file sets is declared here: the optional variables. src/config.ts parses every variable.
 */
export interface Env extends WranglerEnv {
  /** Optional gateway tunables (see docs/gateway.md); unset means the documented default. */
  GATEWAY_ROUTE_CACHE_TTL_SECONDS?: string;
  GATEWAY_BASE_EJECTION_SECONDS?: string;
  GATEWAY_MAX_EJECTION_PERCENT?: string;
  GATEWAY_MAX_RETRIES?: string;
  GATEWAY_DEFAULT_TIMEOUT_SECONDS?: string;
  /** "true" lets the gateway fetch loopback, link-local and unspecified addresses, localhost and admin hosts: local runs only (docs/gateway.md). */
  GATEWAY_ALLOW_LOCAL_ORIGINS?: string;
  /** "true": X-Forwarded-For names the client (npm start, where wrangler dev sets CF-Connecting-IP to 127.0.0.1). */
  GATEWAY_TRUST_X_FORWARDED_FOR?: string;
  /** Seconds between BOOKMARK events to watchers that allow them; unset means 15. */
  WATCH_BOOKMARK_INTERVAL_SECONDS?: string;
  /** Tests only: milliseconds between KV flushes; unset means 1000, KV's limit of one write per key per second. */
  KV_WRITE_INTERVAL_MS?: string;
  /** Objects per Registry RPC when the Worker pages a list (src/admin/list-response.ts); unset means 500. */
  LIST_RPC_PAGE_ITEMS?: string;
  /** Optional secret: a credential that in-cluster callers may present to the gateway instead of a node token. */
  CLUSTER_TOKEN?: string;
}

type SvcedgeEnv = Env;
declare global {
  namespace Cloudflare {
    interface Env extends SvcedgeEnv {}
  }
}
