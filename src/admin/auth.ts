// Authentication: the admin token (Worker secret ADMIN_TOKEN), compared here, or a
// node token, which the registry resolves on every request so that deleting a Node
// revokes its tokens at once (docs/operations.md, "Revoking a node"). Before any
// Durable Object call, a token must have a node token's shape, must not be known
// unknown, and, unless this isolate has seen it valid, must fit a lookup budget.
import { bearerToken, isNodeTokenShaped, sha256Hex, tokensEqual } from "../api/credentials";
import { TokenBucket } from "../api/token-bucket";
import { TtlMap } from "../api/ttl-map";
import type { Env } from "../env";
import type { Caller } from "../registry/authorize";

/** Registry lookups per second of node tokens this isolate has not seen valid (token-bucket refill rate)… */
export const UNSEEN_TOKEN_LOOKUPS_PER_SECOND = 10;
/** …and how many may come at once: a fleet of agents reaching a fresh isolate spends one each. */
export const UNSEEN_TOKEN_LOOKUP_BURST = 100;
/** How long a token the registry did not know is refused without asking again. Safe at any length: tokens are 256 random bits, never reissued. */
const UNKNOWN_TOKEN_MS = 60_000;
/** How long a token the registry accepted skips the budget. It is still looked up on every request: this is not a cache of the answer. */
const SEEN_VALID_MS = 10 * 60_000;
/** Bounds the memory that made-up tokens (and a large fleet) can make the isolate spend. */
const MAX_REMEMBERED_TOKENS = 10_000;

/** SHA-256 hex of node tokens the registry refused. */
const unknownTokens = new TtlMap<true>(MAX_REMEMBERED_TOKENS);
/** SHA-256 hex of node tokens the registry accepted lately: their lookups spend no budget. */
const seenValidTokens = new TtlMap<true>(MAX_REMEMBERED_TOKENS);
const unseenTokenLookups = new TokenBucket(
  () => UNSEEN_TOKEN_LOOKUPS_PER_SECOND,
  () => UNSEEN_TOKEN_LOOKUP_BURST,
);

export async function identify(request: Request, env: Env): Promise<Caller | null> {
  const token = bearerToken(request.headers.get("authorization"));
  if (!token) return null;
  if (env.ADMIN_TOKEN && tokensEqual(token, env.ADMIN_TOKEN)) return { kind: "admin" };
  if (!isNodeTokenShaped(token)) return null;
  const hash = await sha256Hex(token);
  if (unknownTokens.get(hash)) return null;
  // Out of budget, a token is refused unasked and not remembered as unknown: a real one works once there is budget.
  if (!seenValidTokens.get(hash) && !unseenTokenLookups.take()) return null;
  const caller = await registryStub(env).authenticate(hash);
  if (caller) seenValidTokens.set(hash, true, SEEN_VALID_MS);
  else unknownTokens.set(hash, true, UNKNOWN_TOKEN_MS);
  return caller;
}

/** Forgets remembered tokens and refills the budget (tests; a fresh isolate starts like this). */
export function resetNodeTokenChecks(): void {
  unknownTokens.clear();
  seenValidTokens.clear();
  unseenTokenLookups.refill();
}

/** The registry's id per namespace binding: idFromName hashes the name on every call, and every request asks. */
const registryIds = new WeakMap<Env["REGISTRY"], DurableObjectId>();

export function registryStub(env: Env) {
  let id = registryIds.get(env.REGISTRY);
  if (!id) {
    id = env.REGISTRY.idFromName("cluster");
    registryIds.set(env.REGISTRY, id);
  }
  return env.REGISTRY.get(id);
}
