import type { Registry } from "./registry/registry";

/** The Worker's bindings and variables (wrangler.toml, .dev.vars, secrets). */
export interface Env {
  KV: KVNamespace;
  REGISTRY: DurableObjectNamespace<Registry>;
  SERVICE_CIDR: string;
  NODE_PORT_RANGE: string;
  LB_DOMAIN: string;
  CLUSTER_DOMAIN: string;
  ADMIN_HOSTS: string;
  NODE_LEASE_GRACE_SECONDS: string;
  /** Secret: bearer token of the cluster admin. */
  ADMIN_TOKEN: string;
  /** Optional gateway tunables (see docs/gateway.md); unset means the documented default. */
  GATEWAY_ROUTE_CACHE_TTL_SECONDS?: string;
  GATEWAY_BASE_EJECTION_SECONDS?: string;
  GATEWAY_MAX_EJECTION_PERCENT?: string;
  GATEWAY_MAX_RETRIES?: string;
  GATEWAY_DEFAULT_TIMEOUT_SECONDS?: string;
  /** "true" lets the gateway fetch loopback, link-local and unspecified addresses, localhost and admin hosts: local runs only (docs/gateway.md). */
  GATEWAY_ALLOW_LOCAL_ORIGINS?: string;
  /** Optional: seconds between BOOKMARK events to watchers that allow them; unset means 15; src/config.ts parses every variable. */
  WATCH_BOOKMARK_INTERVAL_SECONDS?: string;
  /** Optional, tests only: milliseconds between KV flushes; unset means 1000, KV's limit of one write per key per second. */
  KV_WRITE_INTERVAL_MS?: string;
  /** Optional: objects per Registry RPC when the Worker pages a list (src/admin/list-response.ts); unset means 500. */
  LIST_RPC_PAGE_ITEMS?: string;
  /** Optional secret: a credential that in-cluster callers may present to the gateway instead of a node token. */
  CLUSTER_TOKEN?: string;
}

type SvcedgeEnv = Env;
declare global {
  namespace Cloudflare {
    interface Env extends SvcedgeEnv {}
    interface GlobalProps {
      mainModule: typeof import("./worker");
      durableNamespaces: "Registry";
    }
  }
}
