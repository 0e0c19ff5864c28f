// Stable short hashes for chain names, as kube-proxy derives them: base32 of the
// SHA-256 of the service port name (+ protocol, + endpoint), so names survive restarts
// and never depend on list order.
import { hash } from "node:crypto";

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** Each 5 hex digits (20 bits) become 4 base32 digits. */
const HEX_DIGITS_PER_GROUP = 5;

/** Bounds the memo below: about ten syncs' worth of 10,000 services x 10 endpoints. */
const MEMO_LIMIT = 1_000_000;
const memo = new Map<string, string>();

/** First `length` base32 characters (length a multiple of 4, at most 48) of sha256(input), memoized: names repeat every sync. */
export function base32Hash(input: string, length: number): string {
  const key = `${length}:${input}`;
  let out = memo.get(key);
  if (out === undefined) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    out = computeHash(input, length);
    memo.set(key, out);
  }
  return out;
}

function computeHash(input: string, length: number): string {
  const hex = hash("sha256", input, "hex");
  let out = "";
  for (let i = 0; out.length < length; i += HEX_DIGITS_PER_GROUP) {
    const group = parseInt(hex.slice(i, i + HEX_DIGITS_PER_GROUP), 16);
    out += BASE32_ALPHABET[(group >>> 15) & 31]! + BASE32_ALPHABET[(group >>> 10) & 31]! + BASE32_ALPHABET[(group >>> 5) & 31]! + BASE32_ALPHABET[group & 31]!;
  }
  return out.slice(0, length);
}
