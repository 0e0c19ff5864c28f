// The table's chain and set names (and set timeouts), which a full sync needs to delete
// stale ones, read with two netlink dumps instead of two `nft -j -t list` processes.
// Maps are left out, as `nft list sets` leaves them out (the full sync recreates its own),
// and so are anonymous sets, which nft lists only inside their rules.
import type { ExistingObjects } from "../render";
import { dumpObjects } from "./socket";

const NFT_MSG_GETCHAIN = 4;
const NFT_MSG_GETSET = 10;
const NFT_SET_ANONYMOUS = 0x1;
const NFT_SET_MAP = 0x8;

/** Top-level attributes of one object: type -> bytes. */
function attributes(b: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let o = 0; o + 4 <= b.length; ) {
    const len = b.readUInt16LE(o);
    if (len < 4) break;
    out.set(b.readUInt16LE(o + 2) & 0x3fff, b.subarray(o + 4, o + len));
    o += (len + 3) & ~3;
  }
  return out;
}

const text = (b: Buffer | undefined): string | undefined => (b ? b.toString("utf8", 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)) : undefined);

/** What `table` holds, or why it could not be read (the caller then asks nft). */
export function listNftablesObjectsNetlink(table: string, opts: { netns?: string } = {}): ExistingObjects | string {
  const chains = dumpObjects(NFT_MSG_GETCHAIN, opts);
  if (typeof chains === "string") return chains;
  const sets = dumpObjects(NFT_MSG_GETSET, opts);
  if (typeof sets === "string") return sets;
  const existing: ExistingObjects = { chains: [], sets: new Map() };
  for (const chain of chains) {
    const a = attributes(chain);
    // NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME
    const name = text(a.get(3));
    if (text(a.get(1)) === table && name) existing.chains.push(name);
  }
  for (const set of sets) {
    const a = attributes(set);
    // NFTA_SET_TABLE, NAME, FLAGS (big endian), TIMEOUT (ms, u64 big endian)
    const name = text(a.get(2));
    const flags = a.get(3)?.readUInt32BE(0) ?? 0;
    if (text(a.get(1)) !== table || !name || flags & (NFT_SET_ANONYMOUS | NFT_SET_MAP)) continue;
    const timeout = a.get(11);
    existing.sets.set(name, timeout ? Number(timeout.readBigUInt64BE(0) / 1000n) : undefined);
  }
  return existing;
}
