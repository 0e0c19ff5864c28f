// Who may use a route. `cluster` routes (`<svc>.<ns>.svc.<clusterDomain>`) answer only
// callers that present a credential in CREDENTIAL_HEADER: the cluster token, or a node
// token registered under `nodetoken/<sha256 hex>` in KV. The decision is pure
// (`mayAccess`); `presentsClusterCredential` does the hashing and the (budgeted) lookups.
import { isNodeTokenShaped, sha256Hex, tokensEqual } from "../api/credentials";
import { NODE_TOKEN_KEY_PREFIX, type RouteRecord } from "../api/route";
import type { Env } from "../env";
import { gatewayConfig, KV_MIN_CACHE_TTL_SECONDS } from "./config";
import { stats } from "./stats";
import { TokenBucket } from "../api/token-bucket";
import { TtlMap } from "../api/ttl-map";

/** Request header that carries an in-cluster caller's credential; never forwarded. */
export { CREDENTIAL_HEADER } from "../api/route";
import { CREDENTIAL_HEADER } from "../api/route";
/** Longer values are not tokens; refusing them bounds the hashing work per request. */
const MAX_CREDENTIAL_LENGTH = 1024;
/** Bounds the memory that made-up credentials can make the isolate spend. */
const MAX_CACHED_CREDENTIALS = 10_000;

/** Pure policy: public routes answer anyone, cluster routes only holders of a credential. */
export function mayAccess(access: RouteRecord["access"], hasCredential: boolean): boolean {
  return access === "public" || hasCredential;
}

/** SHA-256 hex of a node token → whether KV knows it (positive and negative verdicts). */
const nodeTokenVerdicts = new TtlMap<boolean>(MAX_CACHED_CREDENTIALS);
/** Budget of KV reads for node tokens without a cached verdict: made-up ones must not buy a KV read each. */
const unknownTokenLookups = new TokenBucket(
  () => gatewayConfig().credentialLookupsPerSecond,
  () => gatewayConfig().credentialLookupBurst,
);

/**
 * The cluster token is compared in constant time without any I/O. Anything else is a
 * node token only if it has a node token's shape; its verdict comes from the isolate
 * cache, or from KV while the lookup budget lasts. Out of budget, it is refused.
 */
export async function presentsClusterCredential(request: Request, env: Env): Promise<boolean> {
  const presented = request.headers.get(CREDENTIAL_HEADER);
  if (!presented || presented.length > MAX_CREDENTIAL_LENGTH) return false;
  if (env.CLUSTER_TOKEN && tokensEqual(presented, env.CLUSTER_TOKEN)) return true;
  if (!isNodeTokenShaped(presented)) return false;
  return isNodeToken(await sha256Hex(presented), env.KV);
}

async function isNodeToken(hash: string, kv: KVNamespace): Promise<boolean> {
  const cached = nodeTokenVerdicts.get(hash);
  if (cached !== undefined) return cached;
  // Not cached as invalid either: a real token refused for want of budget works once there is some.
  if (!unknownTokenLookups.take()) return false;
  stats.kvReads += 1;
  const ttl = Math.max(KV_MIN_CACHE_TTL_SECONDS, gatewayConfig().kvCacheTtlSeconds);
  const node = await kv.get(NODE_TOKEN_KEY_PREFIX + hash, { cacheTtl: ttl });
  const valid = node !== null;
  nodeTokenVerdicts.set(hash, valid, gatewayConfig().credentialCacheTtlMs);
  return valid;
}

/** Forgets cached node-token verdicts (tests; a fresh isolate starts like this). */
export function clearCredentialCache(): void {
  nodeTokenVerdicts.clear();
  unknownTokenLookups.refill();
}
