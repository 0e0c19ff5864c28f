// Request headers as a proxy must rewrite them (RFC 9110 §7.6): hop-by-hop headers
// dropped, Via appended, and the client's address and the original Host passed on,
// since the platform strips CF-Connecting-IP from outbound requests.
import { CREDENTIAL_HEADER } from "./access";

/** Our Via pseudonym (RFC 9110 §7.6.3); a request that already carries it has looped. */
export const VIA_PSEUDONYM = "svcedge";
export const VIA_ENTRY = `1.1 ${VIA_PSEUDONYM}`;

/** RFC 9110 §7.6.1 and RFC 9112: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"];
/** Longest textual IPv6 address (with an embedded IPv4 part). */
const MAX_IP_LENGTH = 45;
const IP_CHARS = /^[0-9a-f:.]+$/i;

export interface ForwardContext {
  /** The caller's address, if known. */
  clientIp: string | undefined;
  proto: "http" | "https";
  /** The Host the caller sent, port included. */
  host: string;
  /** Keep `Upgrade: websocket` (the WebSocket path only). */
  websocket: boolean;
}

/** CF-Connecting-IP (set by Cloudflare's edge, not forgeable through it); without it (local runs), the first X-Forwarded-For hop. */
export function clientIpOf(headers: Headers): string | undefined {
  return plausibleIp(headers.get("cf-connecting-ip") ?? headers.get("x-forwarded-for")?.split(",")[0]);
}

/** CF-Connecting-IP only: what access control may trust (X-Forwarded-For is whatever the client wrote). */
export function connectingIpOf(headers: Headers): string | undefined {
  return plausibleIp(headers.get("cf-connecting-ip"));
}

function plausibleIp(candidate: string | null | undefined): string | undefined {
  const ip = candidate?.trim();
  return ip && ip.length <= MAX_IP_LENGTH && IP_CHARS.test(ip) ? ip.toLowerCase() : undefined;
}

/** Whether our own Via entry is already on the request: it came back through us. */
export function hasLooped(headers: Headers): boolean {
  const via = headers.get("via");
  if (!via) return false;
  return via.split(",").some((entry) => entry.trim().split(/\s+/)[1]?.toLowerCase() === VIA_PSEUDONYM);
}

export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const headers = new Headers(incoming);
  const named = (incoming.get("connection") ?? "").split(",").map((t) => t.trim().toLowerCase());
  for (const name of [...HOP_BY_HOP, ...named]) if (name) headers.delete(name);
  for (const name of [...headers.keys()]) if (name.startsWith("proxy-")) headers.delete(name);
  // The credential is for us; the Host is the pod's (fetch sets it from the URL).
  headers.delete(CREDENTIAL_HEADER);
  headers.delete("host");
  headers.delete("cf-connecting-ip");
  if (ctx.websocket) {
    headers.set("upgrade", "websocket");
    headers.set("connection", "Upgrade");
  }

  const ip = ctx.clientIp;
  if (ip) {
    const hops = incoming.get("x-forwarded-for");
    // Cloudflare's edge has usually appended the client already; do not list it twice.
    const last = hops?.split(",").at(-1)?.trim().toLowerCase();
    headers.set("x-forwarded-for", !hops ? ip : last === ip ? hops : `${hops}, ${ip}`);
  }
  headers.set("x-forwarded-proto", ctx.proto);
  headers.set("x-forwarded-host", ctx.host);
  const element = `for=${forwardedNode(ip)};host=${forwardedValue(ctx.host)};proto=${ctx.proto}`;
  const forwarded = incoming.get("forwarded");
  headers.set("forwarded", forwarded ? `${forwarded}, ${element}` : element);
  const via = incoming.get("via");
  headers.set("via", via ? `${via}, ${VIA_ENTRY}` : VIA_ENTRY);
  return headers;
}

/** RFC 7239 §6: IPv6 nodes are bracketed and quoted; an unknown client is "unknown". */
function forwardedNode(ip: string | undefined): string {
  if (!ip) return "unknown";
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/** RFC 7239 §4: a value is a token or a quoted-string; `host:port` needs quotes. */
function forwardedValue(value: string): string {
  return /^[a-z0-9.!#$%&'*+^_`|~-]+$/i.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}
