// A fast 53-bit hash of a string (cyrb53: two 32-bit multiply-xorshift lanes), for change
// detection where keeping the string itself would cost memory: the registry remembers each
// route record's hash, not its JSON, to write KV only when a record really changed. Two
// different records share a hash with a chance of about 2^-53 per comparison. The host
// filter (host-filter.ts) derives its Bloom probes from it, on both sides of KV.
export function contentHash(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
