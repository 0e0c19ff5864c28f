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
