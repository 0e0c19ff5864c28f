// Applies iptables rules with `iptables-restore --noflush` and implements the Proxier
// interface. The built-in chains get our jump rules once each (check, then insert);
// everything else lives in SVCEDGE-* chains that the restore rewrites whole.
import { commandRunner, failure, type CommandOptions, type Result, type RunCommand } from "../command";
import type { Proxier, SyncResult } from "../proxier";
import type { ProxyState } from "../state";
import { CHAIN_PREFIX, JUMP_RULES, type IptablesTable } from "./chains";
import { renderIptables, type IptablesOptions } from "./render";

/** Seconds to wait for the xtables lock, as kube-proxy's -w 5. */
const XTABLES_WAIT_SECONDS = "5";
/** Bounds the removal loop if a jump rule was somehow inserted many times. */
const MAX_DUPLICATE_JUMPS = 100;
const TABLES: IptablesTable[] = ["filter", "nat"];

/** Our chains the kernel holds now, per table. */
export async function listOwnedChains(run: RunCommand): Promise<Record<IptablesTable, string[]> | { error: string }> {
  const out: Record<IptablesTable, string[]> = { filter: [], nat: [] };
  for (const table of TABLES) {
    const r = await run(["iptables-save", "-t", table]);
    if (r.code !== 0) return { error: `iptables-save -t ${table}: exit ${r.code}: ${r.stderr.trim()}` };
    out[table] = [...r.stdout.matchAll(/^:(\S+)/gm)].map((m) => m[1]!).filter((c) => c.startsWith(CHAIN_PREFIX));
  }
  return out;
}

export async function applyIptables(restoreText: string, opts: CommandOptions = {}): Promise<Result> {
  const r = await commandRunner(opts)(["iptables-restore", "--noflush", "-w", XTABLES_WAIT_SECONDS], restoreText);
  return r.code === 0 ? { ok: true } : failure("iptables-restore", r);
}

/** Inserts each jump rule at the top of its built-in chain unless it is already there. */
export async function ensureJumpRules(opts: CommandOptions = {}): Promise<Result> {
  const run = commandRunner(opts);
  for (const j of JUMP_RULES) {
    const check = await run(["iptables", "-w", XTABLES_WAIT_SECONDS, "-t", j.table, "-C", j.chain, ...j.args]);
    if (check.code === 0) continue;
    const insert = await run(["iptables", "-w", XTABLES_WAIT_SECONDS, "-t", j.table, "-I", j.chain, "1", ...j.args]);
    if (insert.code !== 0) return failure(`iptables -t ${j.table} -I ${j.chain}`, insert);
  }
  return { ok: true };
}

/** Removes the jump rules, then flushes and deletes every SVCEDGE-* chain. */
export async function cleanupIptables(opts: CommandOptions = {}): Promise<Result> {
  const run = commandRunner(opts);
  for (const j of JUMP_RULES) {
    for (let i = 0; i < MAX_DUPLICATE_JUMPS; i++) {
      const del = await run(["iptables", "-w", XTABLES_WAIT_SECONDS, "-t", j.table, "-D", j.chain, ...j.args]);
      if (del.code !== 0) break;
    }
  }
  const owned = await listOwnedChains(run);
  if ("error" in owned) return { ok: false, error: owned.error };
  const text = TABLES.flatMap((table) => {
    if (owned[table].length === 0) return [];
    return [`*${table}`, ...owned[table].map((c) => `:${c} - [0:0]`), ...owned[table].map((c) => `-X ${c}`), "COMMIT"];
  });
  return text.length ? applyIptables(text.join("\n") + "\n", { run }) : { ok: true };
}

export class IptablesProxier implements Proxier {
  readonly backend = "iptables";
  private readonly run: RunCommand;

  constructor(private readonly opts: CommandOptions & Omit<IptablesOptions, "existingChains"> = {}) {
    this.run = commandRunner(opts);
  }

  /** Always a full restore of our chains: iptables has no cheap per-element update. */
  async sync(state: ProxyState): Promise<SyncResult> {
    const existingChains = await listOwnedChains(this.run);
    if ("error" in existingChains) return { ok: false, error: existingChains.error };
    const restored = await applyIptables(renderIptables(state, { ...this.opts, existingChains }), { run: this.run });
    if (!restored.ok) return restored;
    // Chains exist now, so the jumps into them can be added.
    const jumps = await ensureJumpRules({ run: this.run });
    return jumps.ok ? { ok: true, mode: "full" } : jumps;
  }

  cleanup(): Promise<Result> {
    return cleanupIptables({ run: this.run });
  }
}
