// Stable short hashes for chain names, as kube-proxy derives them: base32 of the
// SHA-256 of the service port name (+ protocol, + endpoint), so names survive restarts
// and never depend on list order.
import { hash } from "node:crypto";

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** Each 5 hex digits (20 bits) become 4 base32 digits. */
const HEX_DIGITS_PER_GROUP = 5;

/** Bounds a proxier's memo: a few syncs' worth of 10,000 services × 10 endpoints. */
const MEMO_LIMIT = 500_000;

/** How a renderer hashes a name: base32Hash, or a proxier's NameHashes. */
export type HashName = (input: string, length: number) => string;

/**
 * A proxier's memo of base32Hash: the same names come back every sync (110,000 of them at
 * 10,000 Services × 10 endpoints), and hashing them all again would cost each full sync.
 */
export class NameHashes {
  private readonly memo = new Map<string, string>();

  readonly hash: HashName = (input, length) => {
    const key = `${length}:${input}`;
    let out = this.memo.get(key);
    if (out === undefined) {
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      out = base32Hash(input, length);
      this.memo.set(key, out);
    }
    return out;
  };
}

/** First `length` base32 characters (length a multiple of 4, at most 48) of sha256(input). */
export function base32Hash(input: string, length: number): string {
  const hex = hash("sha256", input, "hex");
  let out = "";
  for (let i = 0; out.length < length; i += HEX_DIGITS_PER_GROUP) {
    const group = parseInt(hex.slice(i, i + HEX_DIGITS_PER_GROUP), 16);
    out += BASE32_ALPHABET[(group >>> 15) & 31]! + BASE32_ALPHABET[(group >>> 10) & 31]! + BASE32_ALPHABET[(group >>> 5) & 31]! + BASE32_ALPHABET[group & 31]!;
  }
  return out.slice(0, length);
}
