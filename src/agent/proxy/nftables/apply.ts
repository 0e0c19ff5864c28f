// Applies nftables rulesets with `nft -f -` and implements the Proxier interface on top:
// incremental transactions while the kernel is known to hold the previous state, a full
// table replacement at start, on request, and after any failure.
import { commandRunner, failure, type CommandOptions, type Result, type RunCommand } from "../command";
import type { Proxier, SyncOptions, SyncResult } from "../proxier";
import type { ProxyState } from "../state";
import { NFT_TABLE, renderNftables, renderNftablesUpdate, type NftablesOptions } from "./render";

export async function applyNftables(ruleset: string, opts: CommandOptions = {}): Promise<Result> {
  const r = await commandRunner(opts)(["nft", "-f", "-"], ruleset);
  return r.code === 0 ? { ok: true } : failure("nft -f", r);
}

/** Deletes the agent's table; a table that is not there is already clean. */
export async function cleanupNftables(opts: CommandOptions & { table?: string } = {}): Promise<Result> {
  const run = commandRunner(opts);
  const table = opts.table ?? NFT_TABLE;
  const r = await run(["nft", "delete", "table", "ip", table]);
  if (r.code === 0) return { ok: true };
  const list = await run(["nft", "list", "table", "ip", table]);
  return list.code !== 0 ? { ok: true } : failure("nft delete table", r);
}

export class NftablesProxier implements Proxier {
  readonly backend = "nftables";
  /** What the kernel holds, when known. */
  private applied: ProxyState | undefined;
  private readonly run: RunCommand;

  constructor(private readonly opts: CommandOptions & NftablesOptions = {}) {
    this.run = commandRunner(opts);
  }

  async sync(state: ProxyState, syncOpts: SyncOptions = {}): Promise<SyncResult> {
    if (this.applied && !syncOpts.full) {
      const update = renderNftablesUpdate(this.applied, state, this.opts);
      if (update === "") return { ok: true, mode: "unchanged" };
      const r = await applyNftables(update, { run: this.run });
      if (r.ok) {
        this.applied = state;
        return { ok: true, mode: "partial" };
      }
      // The kernel drifted from what we think it holds: fall back to a full replacement.
    }
    this.applied = undefined;
    const r = await applyNftables(renderNftables(state, this.opts), { run: this.run });
    if (!r.ok) return r;
    this.applied = state;
    return { ok: true, mode: "full" };
  }

  async cleanup(): Promise<Result> {
    this.applied = undefined;
    const opts: CommandOptions & { table?: string } = { run: this.run };
    if (this.opts.table) opts.table = this.opts.table;
    return cleanupNftables(opts);
  }
}
