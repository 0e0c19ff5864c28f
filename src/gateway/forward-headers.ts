// Headers as a proxy must rewrite them (RFC 9110 §7.6): hop-by-hop headers dropped
// both ways, and on requests Via appended and the client's address and the original
// Host passed on, since the platform strips CF-Connecting-IP from outbound requests.
import { CREDENTIAL_HEADER } from "./access";
import { gatewayConfig } from "./config";

/** Our Via pseudonym (RFC 9110 §7.6.3); a request that already carries it has looped. */
export const VIA_PSEUDONYM = "svcedge";
export const VIA_ENTRY = `1.1 ${VIA_PSEUDONYM}`;

/** RFC 9110 §7.6.1 and RFC 9112: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"];
/** workerd drops these from a Worker's response itself (checked with wrangler dev); `close` is an option, not a field. */
const PLATFORM_HOP_BY_HOP = new Set([...HOP_BY_HOP, "close"]);
/** RFC 9110 §5.1: a field name is a token; Headers.delete throws on anything else. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
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

/**
 * The caller's address for session affinity: CF-Connecting-IP (set by Cloudflare's edge, not
 * forgeable through it); without it, the first X-Forwarded-For hop. Under
 * GATEWAY_TRUST_X_FORWARDED_FOR (local runs: wrangler dev sets CF-Connecting-IP to the
 * socket's peer, 127.0.0.1 for every local client) the first X-Forwarded-For hop wins.
 */
export function clientIpOf(headers: Headers): string | undefined {
  return trustedForwardedFor(headers) ?? plausibleIp(headers.get("cf-connecting-ip") ?? firstForwardedHop(headers));
}

/** What access control may trust: CF-Connecting-IP only (X-Forwarded-For is whatever the client wrote), unless told otherwise for local runs. */
export function connectingIpOf(headers: Headers): string | undefined {
  return trustedForwardedFor(headers) ?? plausibleIp(headers.get("cf-connecting-ip"));
}

function trustedForwardedFor(headers: Headers): string | undefined {
  return gatewayConfig().trustForwardedFor ? plausibleIp(firstForwardedHop(headers)) : undefined;
}

function firstForwardedHop(headers: Headers): string | undefined {
  return headers.get("x-forwarded-for")?.split(",")[0];
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

/** RFC 9110 §7.6.1: the fields the Connection header names, then the fixed hop-by-hop ones. */
function dropHopByHop(headers: Headers, connection: string | null): void {
  // Most messages carry no Connection header: nothing to parse then.
  if (connection !== null) for (const name of connectionOptions(connection)) headers.delete(name);
  for (const name of HOP_BY_HOP) headers.delete(name);
}

function connectionOptions(connection: string): string[] {
  return connection
    .split(",")
    .map((option) => option.trim().toLowerCase())
    .filter((name) => FIELD_NAME.test(name));
}

/**
 * The pod's response, rebuilt without the fields its Connection header names when it
 * names one that is present; otherwise as is (workerd drops the fixed hop-by-hop fields
 * itself, and Node pods send `Connection: keep-alive` on every response).
 */
export function downstreamResponse(response: Response): Response {
  const connection = response.headers.get("connection");
  // A 101 carries the WebSocket and its `Connection: Upgrade`: untouched. So is the usual
  // single option (`keep-alive`, `close`), which names no end-to-end field.
  if (connection === null || response.status === 101 || PLATFORM_HOP_BY_HOP.has(connection.trim().toLowerCase())) return response;
  const namesEndToEndField = connectionOptions(connection).some((name) => !PLATFORM_HOP_BY_HOP.has(name) && response.headers.has(name));
  if (!namesEndToEndField) return response;
  const headers = new Headers(response.headers);
  dropHopByHop(headers, connection);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Request fields never forwarded as they came: hop-by-hop, ours (the credential), the pod's (Host, set by fetch from the URL) and the platform's. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, CREDENTIAL_HEADER, "host", "cf-connecting-ip"]);

/**
 * A copy of the incoming fields, edited. One pass over the incoming names says which fields
 * are there: only those are deleted or read (each Headers call crosses into the runtime, and
 * most of the names a proxy must strip are absent from most requests). The copy is a Headers,
 * not a plain list: fetch copies a Headers natively, but converts a list item by item.
 */
export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const headers = new Headers(incoming);
  let connection = false;
  let hops = false;
  let forwarded = false;
  let via = false;
  const drop: string[] = [];
  for (const name of incoming.keys()) {
    if (NOT_FORWARDED.has(name) || name.startsWith("proxy-")) {
      drop.push(name);
      if (name === "connection") connection = true;
    } else if (name === "x-forwarded-for") hops = true;
    else if (name === "forwarded") forwarded = true;
    else if (name === "via") via = true;
  }
  if (connection) {
    // RFC 9110 §7.6.1: the fields Connection names go too, and are not appended to below.
    for (const name of connectionOptions(incoming.get("connection")!)) {
      if (name === "x-forwarded-for") hops = false;
      else if (name === "forwarded") forwarded = false;
      else if (name === "via") via = false;
      drop.push(name);
    }
  }
  for (const name of drop) headers.delete(name);
  if (ctx.websocket) {
    headers.set("upgrade", "websocket");
    headers.set("connection", "Upgrade");
  }

  const ip = ctx.clientIp;
  if (ip) {
    const previous = hops ? incoming.get("x-forwarded-for") : null;
    // Cloudflare's edge has usually appended the client already; do not list it twice.
    const last = previous?.split(",").at(-1)?.trim().toLowerCase();
    headers.set("x-forwarded-for", !previous ? ip : last === ip ? previous : `${previous}, ${ip}`);
  }
  headers.set("x-forwarded-proto", ctx.proto);
  headers.set("x-forwarded-host", ctx.host);
  const element = `for=${forwardedNode(ip)};host=${forwardedValue(ctx.host)};proto=${ctx.proto}`;
  const previousForwarded = forwarded ? incoming.get("forwarded") : null;
  headers.set("forwarded", previousForwarded ? `${previousForwarded}, ${element}` : element);
  const previousVia = via ? incoming.get("via") : null;
  headers.set("via", previousVia ? `${previousVia}, ${VIA_ENTRY}` : VIA_ENTRY);
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
