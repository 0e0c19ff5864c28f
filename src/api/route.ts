// Compiled route records: what the Registry writes to KV for the gateway to read.
// One record per host name, under the KV key `route/<host>` (host lower-cased, no port).
// Records are precomputed so that the gateway does O(1) work per request: endpoints
// are already split into the set to use (ready) and the fallback set (serving and
// terminating), and every endpoint already carries the URL to fetch for that port.

export const ROUTE_KEY_PREFIX = "route/";
export const routeKey = (host: string): string => ROUTE_KEY_PREFIX + host.toLowerCase();

/** Header in which an in-cluster caller presents its node token or the cluster token to the gateway (stripped before forwarding). */
export const CREDENTIAL_HEADER = "svcedge-credential";

/** KV key under which a node token's SHA-256 (hex) maps to its node name, for in-cluster callers. */
export const NODE_TOKEN_KEY_PREFIX = "nodetoken/";

export interface RouteEndpoint {
  /** Stable identity for hashing and ejection: the pod uid, or the address when there is no pod. */
  id: string;
  /** Origin (and optional path prefix) to fetch, e.g. "http://10.0.0.4:8080" or "https://pod-a.example.net". */
  url: string;
  nodeName?: string;
}

export interface RoutePort {
  name: string;
  port: number;
  protocol: "TCP" | "UDP" | "SCTP";
  appProtocol?: string;
  /** Endpoints whose `ready` condition is true (nil counts as true) and whose node lease is live. */
  ready: RouteEndpoint[];
  /** Serving-and-terminating endpoints, used only when `ready` is empty (kube-proxy's fallback). */
  terminating: RouteEndpoint[];
}

export interface RouteRecord {
  v: 1;
  namespace: string;
  service: string;
  /** "public": LoadBalancer hostnames; "cluster": `<svc>.<ns>.svc.<clusterDomain>`, callers must carry a credential. */
  access: "public" | "cluster";
  /** Set for ExternalName Services: requests are proxied to this DNS name. */
  externalName?: string;
  sessionAffinity: "None" | "ClientIP";
  affinityTimeoutSeconds?: number;
  /** LoadBalancer `spec.loadBalancerSourceRanges` (CIDRs): on public hosts, callers outside them are refused. */
  sourceRanges?: string[];
  /** Per-Service upstream timeout from the `svcedge.io/timeout` annotation, in milliseconds. */
  timeoutMs?: number;
  ports: RoutePort[];
  /** resourceVersion of the registry state this record was compiled from. */
  resourceVersion: string;
}

/** Annotation on a LoadBalancer Service: comma-separated extra public hostnames. */
export const EXTRA_HOSTNAMES_ANNOTATION = "svcedge.io/hostnames";
/** Annotation on a Service: upstream timeout, as a Go-style duration ("30s", "1500ms"). */
export const TIMEOUT_ANNOTATION = "svcedge.io/timeout";
