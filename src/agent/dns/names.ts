// DNS names the cluster zone is made of: query names compared case-insensitively (the
// Kubernetes DNS specification, 2.1), reverse names (in-addr.arpa, ip6.arpa) to and from
// addresses, and the hostname an endpoint without one gets (its address, dashed, as CoreDNS).
import { parseIP } from "../../api/ip";

/** Lowercase, without the trailing dot ("Nginx.Default.svc.cluster.local." → "nginx.default.svc.cluster.local"). */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** The labels of `name` before `zone`, or undefined when `name` is outside it ("" for the apex). */
export function relativeToZone(name: string, zone: string): string | undefined {
  if (name === zone) return "";
  return name.endsWith(`.${zone}`) ? name.slice(0, -(zone.length + 1)) : undefined;
}

/** One key per address whatever its spelling ("2001:db8::1" and "2001:DB8:0::1" alike): hex of its bytes. */
export function addressKey(ip: string): string | undefined {
  const parsed = parseIP(ip);
  return parsed ? Buffer.from(parsed.bytes).toString("hex") : undefined;
}

export const REVERSE_V4_SUFFIX = "in-addr.arpa";
export const REVERSE_V6_SUFFIX = "ip6.arpa";

/** The PTR owner name of an address (spec 2.3.3): reversed octets, or reversed nibbles for IPv6. */
export function reverseName(ip: string): string | undefined {
  const parsed = parseIP(ip);
  if (!parsed) return undefined;
  if (parsed.family === 4) return `${[...parsed.bytes].reverse().join(".")}.${REVERSE_V4_SUFFIX}`;
  const nibbles = Buffer.from(parsed.bytes).toString("hex").split("");
  return `${nibbles.reverse().join(".")}.${REVERSE_V6_SUFFIX}`;
}

/** Whether a (normalized) name is under one of the reverse zones. */
export const isReverseName = (name: string): boolean => name.endsWith(`.${REVERSE_V4_SUFFIX}`) || name.endsWith(`.${REVERSE_V6_SUFFIX}`);

/** The addressKey a full reverse name stands for, or undefined when it names no single address. */
export function addressKeyOfReverseName(name: string): string | undefined {
  if (name.endsWith(`.${REVERSE_V4_SUFFIX}`)) {
    const labels = name.slice(0, -(REVERSE_V4_SUFFIX.length + 1)).split(".");
    if (labels.length !== 4 || !labels.every((l) => /^(0|[1-9][0-9]{0,2})$/.test(l) && Number(l) <= 255)) return undefined;
    return Buffer.from(labels.reverse().map(Number)).toString("hex");
  }
  if (name.endsWith(`.${REVERSE_V6_SUFFIX}`)) {
    const labels = name.slice(0, -(REVERSE_V6_SUFFIX.length + 1)).split(".");
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    return labels.reverse().join("");
  }
  return undefined;
}

/** The hostname of an endpoint address with no `hostname` (spec 2.1: system-assigned): "10-0-0-1", "2001-db8--1". */
export const dashedAddress = (ip: string): string => ip.toLowerCase().replace(/[.:]/g, "-");

/**
 * The address a pod name of the deprecated `<a>-<b>-<c>-<d>.<ns>.pod.<zone>` form (spec 2.6)
 * stands for, as CoreDNS reads it: three dashes and no "--" is IPv4, anything else IPv6.
 */
export function addressOfDashed(label: string): string | undefined {
  const dashes = label.split("-").length - 1;
  const ip = dashes === 3 && !label.includes("--") ? label.replace(/-/g, ".") : label.replace(/-/g, ":");
  const parsed = parseIP(ip);
  if (!parsed || parsed.leadingZeros) return undefined;
  return ip;
}
