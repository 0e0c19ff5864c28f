// Bearer-token primitives shared by the admin API, the registry and the gateway.

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** 256 random bits, base64url: the plain token is shown once and only its hash is stored. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** What randomToken issues: 32 bytes in unpadded base64url are exactly 43 characters of [A-Za-z0-9_-]. */
const NODE_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Whether `token` could be a node token; anything else is refused without a lookup. */
export const isNodeTokenShaped = (token: string): boolean => NODE_TOKEN_SHAPE.test(token);

/** Constant-time comparison, so response timing does not reveal how much of a token matched. */
export function tokensEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The token from an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}
