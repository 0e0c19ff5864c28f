// IP and CIDR parsing as Kubernetes does it for its legacy fields: the
// "sloppy" parser (k8s.io/utils/net ParseIPSloppy, which tolerates leading
// zeros in IPv4 octets) tells valid from invalid, and the caller decides whether
// the leading zeros and IPv4-mapped forms that strict validation rejects are
// allowed. Also: the address classes validation rejects for endpoints and
// external IPs.

export interface ParsedIP {
  family: 4 | 6;
  /** 4 bytes for IPv4; 16 for IPv6 (an IPv4-mapped IPv6 address stays IPv6 here). */
  bytes: Uint8Array;
  /** An IPv4 octet (possibly embedded in IPv6) was written with a leading 0, e.g. "010.0.0.1". */
  leadingZeros: boolean;
}

const IPV4_OCTET = /^[0-9]{1,3}$/;

function parseIPv4Octets(s: string): { bytes: Uint8Array; leadingZeros: boolean } | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  let leadingZeros = false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!IPV4_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    if (p.length > 1 && p.startsWith("0")) leadingZeros = true;
    bytes[i] = n;
  }
  return { bytes, leadingZeros };
}

/**
 * A dotted-quad IPv4 address with octets 0-255 and no leading zeros: the check the agent makes
 * per endpoint on every sync, as one regular expression (parseIP is ten times slower, and
 * gives what this does not need: the bytes).
 */
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
export const isIPv4 = (s: string): boolean => DOTTED_QUAD.test(s);

/** An IPv4 address as an unsigned 32-bit number (the allocators' arithmetic); undefined for anything else. */
export function ipv4ToNumber(s: string): number | undefined {
  const b = parseIPv4Octets(s)?.bytes;
  return b ? ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]! : undefined;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function parseIPv6(s: string): { bytes: Uint8Array; leadingZeros: boolean } | undefined {
  if (s.length < 2 || s.includes("%")) return undefined;
  let leadingZeros = false;
  const out = new Uint8Array(16);
  let head = s;
  let tail = "";
  const dbl = s.indexOf("::");
  if (dbl >= 0) {
    if (s.indexOf("::", dbl + 1) >= 0) return undefined;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const words = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    const res: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const parsed = parseIPv4Octets(g);
        if (!parsed) return undefined;
        const v4 = parsed.bytes;
        leadingZeros ||= parsed.leadingZeros;
        res.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!HEXTET.test(g)) return undefined;
        res.push(parseInt(g, 16));
      }
    }
    return res;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return undefined;
  // An embedded IPv4 address is only allowed at the very end.
  if (dbl >= 0 && head.includes(".")) return undefined;
  if (dbl >= 0 ? h.length + t.length > 7 : h.length !== 8) return undefined;
  const all = dbl >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return { bytes: out, leadingZeros };
}

export function parseIP(s: string): ParsedIP | undefined {
  const v6 = s.includes(":");
  const p = v6 ? parseIPv6(s) : parseIPv4Octets(s);
  return p ? { family: v6 ? 6 : 4, bytes: p.bytes, leadingZeros: p.leadingZeros } : undefined;
}

/** ::ffff:a.b.c.d, which some software reads as IPv4 and some as IPv6. */
export const isIPv4MappedIPv6 = (ip: ParsedIP): boolean => ip.family === 6 && asIPv4(ip) !== undefined;

/** Go's view of a family: an IPv4-mapped IPv6 address counts as IPv4 (net.IP.To4). */
export const familyOf = (ip: ParsedIP): 4 | 6 => (asIPv4(ip) ? 4 : 6);
export function ipFamilyOfString(s: string): 4 | 6 | undefined {
  const ip = parseIP(s);
  return ip ? familyOf(ip) : undefined;
}

export interface ParsedCIDR {
  ip: ParsedIP;
  prefix: number;
  /** The prefix length was written with a leading 0, e.g. "/08". */
  prefixLeadingZeros: boolean;
}

export function parseCIDR(s: string): ParsedCIDR | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return { ip, prefix, prefixLeadingZeros: p.length > 1 && p.startsWith("0") };
}

/** Bits set after the prefix length ("10.0.0.1/8" rather than "10.0.0.0/8"). */
export function hasHostBits(c: ParsedCIDR): boolean {
  const b = c.ip.bytes;
  for (let bit = c.prefix; bit < b.length * 8; bit++) {
    if ((b[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  }
  return false;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), as Go's To4 sees it. */
function asIPv4(ip: ParsedIP): Uint8Array | undefined {
  if (ip.family === 4) return ip.bytes;
  const b = ip.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  return b[10] === 0xff && b[11] === 0xff ? b.slice(12) : undefined;
}

export function isUnspecified(ip: ParsedIP): boolean {
  return ip.bytes.every((x) => x === 0) || (asIPv4(ip)?.every((x) => x === 0) ?? false);
}
export function isLoopback(ip: ParsedIP): boolean {
  const v4 = asIPv4(ip);
  if (v4) return v4[0] === 127;
  return ip.bytes.slice(0, 15).every((x) => x === 0) && ip.bytes[15] === 1;
}
export function isLinkLocalUnicast(ip: ParsedIP): boolean {
  const v4 = asIPv4(ip);
  if (v4) return v4[0] === 169 && v4[1] === 254;
  return ip.bytes[0] === 0xfe && (ip.bytes[1]! & 0xc0) === 0x80;
}
export function isLinkLocalMulticast(ip: ParsedIP): boolean {
  const v4 = asIPv4(ip);
  if (v4) return v4[0] === 224 && v4[1] === 0 && v4[2] === 0;
  return ip.bytes[0] === 0xff && (ip.bytes[1]! & 0x0f) === 0x02;
}

/** An address in the form Go's net.IP.String() writes: dotted quad, or IPv6 as RFC 5952 (lower case, the longest run of two or more zero groups as "::"). */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** An address as one unsigned integer (the allocators' arithmetic, either family). */
export function ipToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** The `length`-byte address of `n` (4 or 16). */
export function bigIntToIP(n: bigint, length: 4 | 16): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 255n);
    n >>= 8n;
  }
  return out;
}
