// Which origins the gateway may fetch. Route records name them, but a record says what
// a Service or Pod says: an ExternalName or a `svcedge.io/url` may point back at the
// machine the gateway runs on (loopback; the unspecified address, which Linux connects
// to this host; link-local, home of metadata services such as 169.254.169.254) or at
// the Worker's own admin API. Those are refused (SSRF) unless GATEWAY_ALLOW_LOCAL_ORIGINS
// lifts the guard for local runs, whose pods listen on 127.0.0.1. Decided once, when a
// record is loaded; a DNS name is judged by its spelling (Workers cannot resolve it first).
import { isLinkLocalUnicast, isLoopback, isUnspecified, parseIP } from "../api/ip";
import type { GatewayConfig } from "./config";

export type OriginPolicy = Pick<GatewayConfig, "allowLocalOrigins" | "adminHosts">;

/** RFC 6761 §6.3: `localhost` and every name under it are this host. */
const LOCALHOST = /(?:^|\.)localhost$/;

/** Whether the gateway may fetch from `hostname` (a URL's hostname, or anything a URL authority may hold). */
export function mayFetchOrigin(hostname: string, policy: OriginPolicy): boolean {
  if (policy.allowLocalOrigins) return true;
  const name = canonicalHostname(hostname);
  return name !== undefined && !isLocalHost(name) && !adminHostsOf(policy.adminHosts).has(name);
}

/** As fetch would connect: URL parsing makes `2130706433`, `0x7f.1` and `[::ffff:7f00:1]` plain addresses. */
export function canonicalHostname(authority: string): string | undefined {
  try {
    return new URL(`http://${authority}`).hostname.replace(/\.+$/, "");
  } catch {
    return undefined;
  }
}

/** Loopback, link-local or unspecified IPv4/IPv6 literals (IPv4-mapped forms included), or a localhost name. */
function isLocalHost(name: string): boolean {
  if (LOCALHOST.test(name)) return true;
  const ip = parseIP(name.startsWith("[") ? name.slice(1, -1) : name);
  return ip !== undefined && (isLoopback(ip) || isLinkLocalUnicast(ip) || isUnspecified(ip));
}

let admin: { from: readonly string[]; names: ReadonlySet<string> } | undefined;

/** ADMIN_HOSTS, spelled as canonicalHostname spells origins; computed once per list. */
function adminHostsOf(list: readonly string[]): ReadonlySet<string> {
  if (admin?.from !== list) admin = { from: list, names: new Set(list.map((h) => canonicalHostname(h) ?? h.toLowerCase())) };
  return admin.names;
}
