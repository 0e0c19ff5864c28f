// IP and CIDR parsing with the strictness of Go's net/netip (no zones, no
// leading zeros in IPv4 octets), plus the address classes that Kubernetes
// validation rejects for endpoints and external IPs.

export interface ParsedIP {
  family: 4 | 6;
  /** 4 bytes for IPv4; 16 for IPv6 (an IPv4-mapped IPv6 address stays IPv6 here). */
  bytes: Uint8Array;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;

export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!IPV4_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.includes("%")) return undefined;
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
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
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
  return out;
}

export function parseIP(s: string): ParsedIP | undefined {
  if (s.includes(":")) {
    const b = parseIPv6(s);
    return b ? { family: 6, bytes: b } : undefined;
  }
  const b = parseIPv4(s);
  return b ? { family: 4, bytes: b } : undefined;
}

/** Go's view of a family: an IPv4-mapped IPv6 address counts as IPv4 (net.IP.To4). */
export const familyOf = (ip: ParsedIP): 4 | 6 => (asIPv4(ip) ? 4 : 6);
export function ipFamilyOfString(s: string): 4 | 6 | undefined {
  const ip = parseIP(s);
  return ip ? familyOf(ip) : undefined;
}

export function parseCIDR(s: string): { ip: ParsedIP; prefix: number } | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]*)$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return { ip, prefix };
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
