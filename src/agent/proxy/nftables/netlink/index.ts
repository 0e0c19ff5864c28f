// The netlink fast path for full syncs: the transaction nft would apply, compiled by the
// agent (compile.ts) and sent as one netlink batch (socket.ts), so it is still one
// atomic kernel transaction, without nft's per-element cost.
import type { Outcome } from "../../command";
import { compileNftTransaction, Unsupported } from "./compile";
import { netlinkUnavailable, sendBatch } from "./socket";
import type { NftPiece } from "../element-list";

export { netlinkUnavailable } from "./socket";

/** `unsupported`: the transaction holds something only nft can apply (nothing was sent). */
export type NetlinkResult = Outcome | { ok: false; unsupported: true; error: string };

export function applyNftablesNetlink(pieces: Iterable<NftPiece>, opts: { netns?: string } = {}): NetlinkResult {
  const unavailable = netlinkUnavailable();
  if (unavailable) return { ok: false, unsupported: true, error: unavailable };
  let compiled: ReturnType<typeof compileNftTransaction>;
  try {
    compiled = compileNftTransaction(pieces);
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, unsupported: true, error: `not encodable: ${e.message}` };
    throw e;
  }
  return sendBatch(compiled.chunks, { ...(opts.netns ? { netns: opts.netns } : {}), describe: compiled.describe });
}
