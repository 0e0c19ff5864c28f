// Applies nftables rulesets and implements the Proxier interface on top: incremental
// transactions (through a long-lived `nft -i`, see session.ts) while the kernel is known to
// hold the previous state; a full refill (after listing the table's chains and sets, to
// delete stale ones) at start, on request and after any failure; and a table replacement
// when even a refill fails. Full syncs go to the kernel as one netlink batch compiled by the
// agent (netlink/), which is still one atomic transaction; `nft -f -` applies the same text
// when that path is unavailable, cannot encode the transaction, or the kernel rejects it.
import { commandRunner, failure, type CommandOptions, type Outcome, type RunCommand, type Stdin } from "../command";
import type { Proxier, SyncOptions, SyncResult } from "../proxier";
import type { IPFamily, ProxyState } from "../state";
import { nftFamily } from "./layout";
import { applyNftablesNetlink } from "./netlink";
import { listNftablesObjectsNetlink } from "./netlink/list";
import { NftSession } from "./session";
import { buildIndex, type TableIndex } from "./table-index";
import { NameHashes } from "../chain-names";
import { nftText, type NftPiece } from "./element-list";
import { NFT_TABLE, renderNftablesPieces, renderNftablesReplacement, renderNftablesUpdate, type ExistingObjects, type NftablesOptions } from "./render";

export async function applyNftables(ruleset: Stdin, opts: CommandOptions = {}): Promise<Outcome> {
  const r = await commandRunner(opts)(["nft", "-f", "-"], ruleset);
  return r.code === 0 ? { ok: true } : failure("nft -f", r);
}

/**
 * Deletes the agent's table of `opts.family`, or of both families when none is named; a
 * table that is not there is already clean.
 */
export async function cleanupNftables(opts: CommandOptions & { table?: string; family?: IPFamily } = {}): Promise<Outcome> {
  const run = commandRunner(opts);
  const table = opts.table ?? NFT_TABLE;
  for (const family of opts.family ? [opts.family] : (["IPv4", "IPv6"] as const)) {
    const f = nftFamily(family).table;
    const r = await run(["nft", "delete", "table", f, table]);
    if (r.code === 0) continue;
    const list = await run(["nft", "list", "table", f, table]);
    if (list.code === 0) return failure("nft delete table", r);
  }
  return { ok: true };
}

/** Bound on the remembered reasons (each is one line of text). */
const MAX_REMEMBERED_REASONS = 100;

type Listed = { nftables?: Record<string, { table?: string; name?: string; timeout?: number }>[] };

/**
 * The chains and sets the table holds, names only (`-t` leaves set elements out), so a
 * full sync can delete stale ones. A missing table holds nothing.
 */
export async function listNftablesObjects(run: RunCommand, table = NFT_TABLE, family?: IPFamily): Promise<ExistingObjects> {
  const existing: ExistingObjects = { chains: [], sets: new Map() };
  for (const kind of ["chains", "sets"] as const) {
    const r = await run(["nft", "-j", "-t", "list", kind, nftFamily(family).table]);
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

export interface NftablesProxierOptions extends CommandOptions, NftablesOptions {
  /** Full syncs through the agent's own netlink batch (default: on unless a runner is injected). */
  netlink?: boolean;
  /** Where a full sync that fell back to nft says why. */
  log?: (message: string) => void;
  /** The netlink path (injected by tests to make the kernel reject a batch). */
  applyNetlink?: typeof applyNftablesNetlink;
}

export class NftablesProxier implements Proxier {
  readonly backend = "nftables";
  /** How the last full sync reached the kernel (benchmarks report it). */
  lastFullSync: "netlink" | "nft" | undefined;
  /** What the kernel holds, when known. */
  private applied: ProxyState | undefined;
  /** The reference counts over `applied` (table-index.ts), once counted. */
  private index: TableIndex | undefined;
  private readonly run: RunCommand;
  /** Incremental transactions; absent when a runner is injected (everything then goes through it). */
  private readonly session: NftSession | undefined;
  private readonly netlink: boolean;
  /** Reasons the netlink path was not used that were logged already. */
  private readonly said = new Set<string>();
  private readonly log: (message: string) => void;

  private readonly opts: NftablesProxierOptions;

  constructor(opts: NftablesProxierOptions = {}) {
    // Names are hashed through this proxier's own memo: they come back every sync.
    this.opts = { hashName: new NameHashes().hash, ...opts };
    this.run = commandRunner(opts);
    if (!opts.run) this.session = new NftSession(opts.netns ? { netns: opts.netns } : {});
    // The netlink path encodes the `ip` family only: the IPv6 table's full syncs go through nft -f.
    this.netlink = opts.family !== "IPv6" && (opts.netlink ?? !opts.run);
    this.log = opts.log ?? ((message) => console.error(message));
  }

  /** Ends the `nft -i` process (it also ends with this process). */
  close(): void {
    this.session?.close();
  }

  async sync(state: ProxyState, syncOpts: SyncOptions = {}): Promise<SyncResult> {
    if (this.applied && !syncOpts.full) {
      const index = this.index ?? buildIndex(this.applied);
      const update = renderNftablesUpdate(this.applied, state, this.opts, index);
      if (update === "") {
        this.index = index;
        return { ok: true, mode: "unchanged" };
      }
      if (update !== undefined) {
        const r = this.session ? await this.session.apply(update) : await applyNftables(update, { run: this.run });
        if (r.ok) {
          this.applied = state;
          this.index = index;
          return { ok: true, mode: "partial" };
        }
      }
      // A change an update cannot express, or the kernel drifted from what we think it holds: refill.
    }
    this.applied = undefined;
    this.index = undefined;
    const existing = await this.listExisting();
    let r = await this.applyFull(() => renderNftablesPieces(state, this.opts, existing));
    // A table left by another version (a map of another type, say) cannot be refilled: replace it.
    if (!r.ok) r = await this.applyFull(() => renderNftablesReplacement(state, this.opts));
    if (!r.ok) return r;
    this.applied = state;
    // The next change then finds the reference counts (table-index.ts, about 100 ms at
    // 10,000 Services) and the nft process ready. Both are made just after this sync has
    // answered, since the rules are in the kernel already; a change that comes first counts
    // for itself.
    setImmediate(() => {
      if (this.applied === state) this.index ??= buildIndex(state);
      this.session?.warm();
    });
    return { ok: true, mode: "full" };
  }

  /** The table's chains and sets: by netlink when the full sync goes that way, else (or when that fails) by nft. */
  private async listExisting(): Promise<ExistingObjects> {
    if (this.netlink) {
      const listed = listNftablesObjectsNetlink(this.opts.table ?? NFT_TABLE, this.opts.netns ? { netns: this.opts.netns } : {});
      if (typeof listed !== "string") return listed;
      if (!this.said.has(listed) && this.said.size < MAX_REMEMBERED_REASONS) {
        this.said.add(listed);
        this.log(`nftables: listing the table by netlink failed, asking nft: ${listed}`);
      }
    }
    return listNftablesObjects(this.run, this.opts.table, this.opts.family);
  }

  /**
   * One full-sync transaction: as a netlink batch when possible, else (and after any
   * netlink failure, which the kernel applied none of) with `nft -f`. Both are atomic.
   */
  private async applyFull(pieces: () => Iterable<NftPiece>): Promise<Outcome> {
    if (this.netlink) {
      const r = (this.opts.applyNetlink ?? applyNftablesNetlink)(pieces(), this.opts.netns ? { netns: this.opts.netns } : {});
      if (r.ok) {
        this.lastFullSync = "netlink";
        return r;
      }
      // A path that is unavailable or cannot encode this layout says so once, not every sync.
      const quiet = "unsupported" in r && this.said.has(r.error);
      if (!quiet) this.log(`nftables: full sync ${"unsupported" in r ? "not sent" : "rejected"} as a netlink batch, applying it with nft -f: ${r.error}`);
      if ("unsupported" in r && this.said.size < MAX_REMEMBERED_REASONS) this.said.add(r.error);
    }
    this.lastFullSync = "nft";
    return applyNftables(nftText(pieces()), { run: this.run });
  }

  async cleanup(): Promise<Outcome> {
    this.applied = undefined;
    this.index = undefined;
    const opts: CommandOptions & { table?: string; family?: IPFamily } = { run: this.run, family: this.opts.family ?? "IPv4" };
    if (this.opts.table) opts.table = this.opts.table;
    return cleanupNftables(opts);
  }
}
