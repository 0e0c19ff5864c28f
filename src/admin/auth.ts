// Authentication: the admin token (Worker secret ADMIN_TOKEN) or a node token
// issued by the registry. Node-token lookups are cached briefly in the isolate so
// that an agent's requests do not each cost a Durable Object round trip.
import { bearerToken, sha256Hex, tokensEqual } from "../api/credentials";
import type { Env } from "../env";
import type { Caller } from "../registry/authorize";

/** How long an isolate trusts a node-token lookup (positive or negative); a revoked token stops working within this. */
export const TOKEN_CACHE_MS = 10_000;
const MAX_CACHED_TOKENS = 10_000;

const cache = new Map<string, { caller: Caller | null; expires: number }>();

export async function identify(request: Request, env: Env): Promise<Caller | null> {
  const token = bearerToken(request.headers.get("authorization"));
  if (!token) return null;
  if (env.ADMIN_TOKEN && tokensEqual(token, env.ADMIN_TOKEN)) return { kind: "admin" };
  const key = await sha256Hex(token);
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.expires > now) return hit.caller;
  const caller = await registryStub(env).authenticate(token);
  if (cache.size >= MAX_CACHED_TOKENS) cache.clear();
  cache.set(key, { caller, expires: now + TOKEN_CACHE_MS });
  return caller;
}

export function registryStub(env: Env) {
  return env.REGISTRY.get(env.REGISTRY.idFromName("cluster"));
}
