// loadBalancerSourceRanges: a public route that lists CIDRs answers only callers
// inside one of them. The CIDRs are parsed once, when a record enters the isolate
// cache; a request then costs one IP parse and a prefix compare per range.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as IPv4 on both sides, as Go's
// net.IPNet.Contains (and so kube-proxy) treats them.
import { parseCIDR, parseIP } from "../api/ip";

export interface SourceRange {
  family: 4 | 6;
  /** Address bytes (4 or 16); bits after `prefix` are ignored, as Go ignores host bits. */
  bytes: Uint8Array;
  prefix: number;
}

/** ::ffff:0:0/96, the IPv4-mapped block: its low 32 bits are an IPv4 address. */
const MAPPED_PREFIX_BITS = 96;

/** Parses the record's CIDRs; malformed ones are logged and dropped (they match nobody). */
export function compileSourceRanges(cidrs: readonly string[], host: string): SourceRange[] {
  return cidrs.flatMap((raw): SourceRange[] => {
    const cidr = parseCIDR(raw.trim());
    if (!cidr) {
      console.warn(`gateway: ignoring source range ${JSON.stringify(raw)} of ${host}: not a CIDR`);
      return [];
    }
    const v4 = mappedIPv4(cidr.ip.bytes);
    if (v4 && cidr.prefix >= MAPPED_PREFIX_BITS) return [{ family: 4, bytes: v4, prefix: cidr.prefix - MAPPED_PREFIX_BITS }];
    return [{ family: cidr.ip.family, bytes: cidr.ip.bytes, prefix: cidr.prefix }];
  });
}

/** Whether `ip` lies in one of `ranges`. No IP (or an unparsable one) is never inside. */
export function isAllowedSource(ranges: readonly SourceRange[], ip: string | undefined): boolean {
  const parsed = ip === undefined ? undefined : parseIP(ip);
  if (!parsed) return false;
  const v4 = parsed.family === 6 ? mappedIPv4(parsed.bytes) : parsed.bytes;
  const family = v4 ? 4 : 6;
  const bytes = v4 ?? parsed.bytes;
  return ranges.some((range) => range.family === family && samePrefix(range.bytes, bytes, range.prefix));
}

function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

/** The IPv4 address inside ::ffff:a.b.c.d, or undefined for any other IPv6 address. */
function mappedIPv4(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16) return undefined;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined;
  return bytes[10] === 0xff && bytes[11] === 0xff ? bytes.slice(12) : undefined;
}
