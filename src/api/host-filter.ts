// A Bloom filter of every host that has a route record, so that the gateway can answer
// an unknown Host without a KV read. The registry builds it from its set of hosts and
// writes it to KV under HOST_FILTER_KEY; the gateway reads it once per cache period.
// No false negatives; about 1 % false positives, each of which costs the one KV read
// that every unknown host used to cost. Format: docs/storage.md.
import { contentHash } from "./content-hash";

export const HOST_FILTER_KEY = "routes/filter";

/** Wanted share of unknown hosts that the filter lets through to a KV read. */
const FALSE_POSITIVE_RATE = 0.01;
/** Optimal size for that rate: m/n = −ln p / (ln 2)² ≈ 9.6 bits per host. */
const BITS_PER_HOST = -Math.log(FALSE_POSITIVE_RATE) / Math.LN2 ** 2;
/** Optimal probes per host: k = (m/n) · ln 2 ≈ 7. */
const PROBES = Math.round(BITS_PER_HOST * Math.LN2);
/** 128 bytes: a small cluster gets a filter well under 1 % (and an empty one, one that rules every host out). */
const MIN_BITS = 1024;
/** contentHash is 53 bits: the low 32 place the first probe, the high 21 step between probes. */
const LOW_BITS = 2 ** 32;
/** KV values stop at 25 MiB and base64 takes 4/3: 16 MiB of bits (≈ 14 million hosts at 1 %; past that the rate rises). */
const MAX_BITS = 16 * 1024 * 1024 * 8;
/** Bytes per String.fromCharCode call when encoding (arguments are limited). */
const ENCODE_CHUNK = 8192;

export interface HostFilter {
  /** Probes per host (k). */
  probes: number;
  /** Filter size in bits (m). */
  bits: number;
  /** ⌈m/8⌉ bytes; bit i is byte i >> 3, mask 1 << (i & 7). */
  data: Uint8Array;
}

/** The stored form: JSON, with the bit array in base64 (RFC 4648 §4, padded). */
interface StoredHostFilter {
  v: 1;
  probes: number;
  bits: number;
  /** Hosts it was built from (informational). */
  hosts: number;
  data: string;
}

/** A filter sized for `count` hosts (lower case, no port: route keys without their prefix). */
export function buildHostFilter(hosts: Iterable<string>, count: number): HostFilter {
  const bits = Math.min(MAX_BITS, Math.max(MIN_BITS, Math.ceil(count * BITS_PER_HOST)));
  const filter: HostFilter = { probes: PROBES, bits, data: new Uint8Array(Math.ceil(bits / 8)) };
  for (const host of hosts) {
    const hash = contentHash(host);
    for (let j = 0; j < filter.probes; j++) {
      const bit = probe(filter, hash, j);
      filter.data[bit >> 3]! |= 1 << (bit & 7);
    }
  }
  return filter;
}

/** False only for hosts that were not in the set; true for every host that was. */
export function mayContainHost(filter: HostFilter, host: string): boolean {
  const hash = contentHash(host);
  for (let j = 0; j < filter.probes; j++) {
    const bit = probe(filter, hash, j);
    if ((filter.data[bit >> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** Double hashing (Kirsch and Mitzenmacher): probe j is (low + j · step) mod m, all from one contentHash. */
function probe(filter: HostFilter, hash: number, j: number): number {
  // The step is odd, so that the probes differ even when the high bits are all zero.
  const step = Math.floor(hash / LOW_BITS) * 2 + 1;
  return ((hash % LOW_BITS) + j * step) % filter.bits;
}

export function encodeHostFilter(filter: HostFilter, hosts: number): string {
  let binary = "";
  for (let i = 0; i < filter.data.length; i += ENCODE_CHUNK) binary += String.fromCharCode(...filter.data.subarray(i, i + ENCODE_CHUNK));
  const stored: StoredHostFilter = { v: 1, probes: filter.probes, bits: filter.bits, hosts, data: btoa(binary) };
  return JSON.stringify(stored);
}

/** The filter in a KV value, or null when it is not one this code can use. */
export function decodeHostFilter(text: string): HostFilter | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { v, probes, bits, data } = value as Partial<StoredHostFilter>;
  if (v !== 1 || typeof data !== "string") return null;
  if (!Number.isInteger(probes) || probes! < 1 || probes! > 32) return null;
  if (!Number.isInteger(bits) || bits! < 1 || bits! > MAX_BITS) return null;
  let binary: string;
  try {
    binary = atob(data);
  } catch {
    return null;
  }
  if (binary.length !== Math.ceil(bits! / 8)) return null;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { probes: probes!, bits: bits!, data: bytes };
}
