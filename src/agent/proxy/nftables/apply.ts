// Applies nftables rulesets with `nft -f -` and implements the Proxier interface on top:
// incremental transactions (through a long-lived `nft -i`, see session.ts) while the
// kernel is known to hold the previous state; a full
// refill (after listing the table's chains and sets, to delete stale ones) at start, on
// request and after any failure; and a table replacement when even a refill fails.
import { commandRunner, failure, type CommandOptions, type Result, type RunCommand, type Stdin } from "../command";
import type { Proxier, SyncOptions, SyncResult } from "../proxier";
import type { ProxyState } from "../state";
import { NftSession } from "./session";
import { keepIndex, takeIndex } from "./table-index";
import { NFT_TABLE, renderNftablesPieces, renderNftablesReplacement, renderNftablesUpdate, type ExistingObjects, type NftablesOptions } from "./render";

export async function applyNftables(ruleset: Stdin, opts: CommandOptions = {}): Promise<Result> {
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

type Listed = { nftables?: Record<string, { table?: string; name?: string; timeout?: number }>[] };

/**
 * The chains and sets the table holds, names only (`-t` leaves set elements out), so a
 * full sync can delete stale ones. A missing table holds nothing.
 */
export async function listNftablesObjects(run: RunCommand, table = NFT_TABLE): Promise<ExistingObjects> {
  const existing: ExistingObjects = { chains: [], sets: new Map() };
  for (const kind of ["chains", "sets"] as const) {
    const r = await run(["nft", "-j", "-t", "list", kind, "ip"]);
    if (r.code !== 0) continue;
    for (const item of (JSON.parse(r.stdout) as Listed).nftables ?? []) {
      const chain = item.chain;
      const set = item.set;
      if (chain?.table === table && chain.name) existing.chains.push(chain.name);
      if (set?.table === table && set.name) existing.sets.set(set.name, set.timeout);
    }
  }
  return existing;
}

export class NftablesProxier implements Proxier {
  readonly backend = "nftables";
  /** What the kernel holds, when known. */
  private applied: ProxyState | undefined;
  private readonly run: RunCommand;
  /** Incremental transactions; absent when a runner is injected (everything then goes through it). */
  private readonly session: NftSession | undefined;

  constructor(private readonly opts: CommandOptions & NftablesOptions = {}) {
    this.run = commandRunner(opts);
    if (!opts.run) this.session = new NftSession(opts.netns ? { netns: opts.netns } : {});
  }

  /** Ends the `nft -i` process (it also ends with this process). */
  close(): void {
    this.session?.close();
  }

  async sync(state: ProxyState, syncOpts: SyncOptions = {}): Promise<SyncResult> {
    if (this.applied && !syncOpts.full) {
      const update = renderNftablesUpdate(this.applied, state, this.opts);
      if (update === "") return { ok: true, mode: "unchanged" };
      if (update !== undefined) {
        const r = this.session ? await this.session.apply(update) : await applyNftables(update, { run: this.run });
        if (r.ok) {
          this.applied = state;
          return { ok: true, mode: "partial" };
        }
      }
      // A change an update cannot express, or the kernel drifted from what we think it holds: refill.
    }
    this.applied = undefined;
    const existing = await listNftablesObjects(this.run, this.opts.table);
    let r = await applyNftables(renderNftablesPieces(state, this.opts, existing), { run: this.run });
    // A table left by another version (a map of another type, say) cannot be refilled: replace it.
    if (!r.ok) r = await applyNftables(renderNftablesReplacement(state, this.opts), { run: this.run });
    if (!r.ok) return r;
    this.applied = state;
    // The next change then finds the reference counts and the nft process ready.
    keepIndex(state, takeIndex(state));
    this.session?.warm();
    return { ok: true, mode: "full" };
  }

  async cleanup(): Promise<Result> {
    this.applied = undefined;
    const opts: CommandOptions & { table?: string } = { run: this.run };
    if (this.opts.table) opts.table = this.opts.table;
    return cleanupNftables(opts);
  }
}
