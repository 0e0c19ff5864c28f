// Applies iptables rules with `iptables-restore --noflush` and implements the Proxier
// interface. The built-in chains get our jump rules once each (check, then insert);
// everything else lives in SVCEDGE-* chains: a full sync rewrites them all, a partial one
// only those whose rules changed since the last sync that worked. When NodePorts answer on
// 127.0.0.1, the first full sync sets route_localnet, as kube-proxy does at start.
import { NameHashes } from "../chain-names";
import { commandRunner, failure, type CommandOptions, type Outcome, type RunCommand } from "../command";
import { servesLocalhostNodePorts } from "../nodeport-addresses";
import type { Proxier, SyncOptions, SyncResult } from "../proxier";
import type { IPFamily, ProxyState } from "../state";
import { CHAIN_PREFIX, JUMP_RULES, type IptablesTable } from "./chains";
import { iptablesChains, renderIptablesChanges, renderIptablesSync, type IptablesChains, type IptablesOptions } from "./render";

/** Lets 127.0.0.1:<nodePort> be DNATed to a pod: without it the kernel drops the packet as a martian (kube-proxy sets it too). */
const ROUTE_LOCALNET_SYSCTL = "net.ipv4.conf.all.route_localnet=1";
/** Seconds to wait for the xtables lock, as kube-proxy's -w 5. */
const XTABLES_WAIT_SECONDS = "5";
/** Bounds the removal loop if a jump rule was somehow inserted many times. */
const MAX_DUPLICATE_JUMPS = 100;
const TABLES: IptablesTable[] = ["filter", "nat"];

/** The family's tool: iptables, iptables-save and iptables-restore, or their ip6tables twins. */
const tool = (name: "iptables" | "iptables-save" | "iptables-restore", family: IPFamily | undefined): string =>
  family === "IPv6" ? name.replace("iptables", "ip6tables") : name;

/** Which family's tables a command works on (default IPv4). */
export type FamilyOption = { family?: IPFamily };

/** Our chains the kernel holds now, per table. */
export async function listOwnedChains(run: RunCommand, family?: IPFamily): Promise<Record<IptablesTable, string[]> | { error: string }> {
  const out: Record<IptablesTable, string[]> = { filter: [], nat: [] };
  const save = tool("iptables-save", family);
  for (const table of TABLES) {
    const r = await run([save, "-t", table]);
    if (r.code !== 0) return { error: `${save} -t ${table}: exit ${r.code}: ${r.stderr.trim()}` };
    out[table] = [...r.stdout.matchAll(/^:(\S+)/gm)].map((m) => m[1]!).filter((c) => c.startsWith(CHAIN_PREFIX));
  }
  return out;
}

export async function applyIptables(restoreText: string, opts: CommandOptions & FamilyOption = {}): Promise<Outcome> {
  const restore = tool("iptables-restore", opts.family);
  const r = await commandRunner(opts)([restore, "--noflush", "-w", XTABLES_WAIT_SECONDS], restoreText);
  return r.code === 0 ? { ok: true } : failure(restore, r);
}

/** Inserts each jump rule at the top of its built-in chain unless it is already there. */
export async function ensureJumpRules(opts: CommandOptions & FamilyOption = {}): Promise<Outcome> {
  const run = commandRunner(opts);
  const iptables = tool("iptables", opts.family);
  for (const j of JUMP_RULES) {
    const check = await run([iptables, "-w", XTABLES_WAIT_SECONDS, "-t", j.table, "-C", j.chain, ...j.args]);
    if (check.code === 0) continue;
    const insert = await run([iptables, "-w", XTABLES_WAIT_SECONDS, "-t", j.table, "-I", j.chain, "1", ...j.args]);
    if (insert.code !== 0) return failure(`${iptables} -t ${j.table} -I ${j.chain}`, insert);
  }
  return { ok: true };
}

/** Removes the jump rules, then flushes and deletes every SVCEDGE-* chain. */
export async function cleanupIptables(opts: CommandOptions & FamilyOption = {}): Promise<Outcome> {
  const run = commandRunner(opts);
  const iptables = tool("iptables", opts.family);
  for (const j of JUMP_RULES) {
    for (let i = 0; i < MAX_DUPLICATE_JUMPS; i++) {
      const del = await run([iptables, "-w", XTABLES_WAIT_SECONDS, "-t", j.table, "-D", j.chain, ...j.args]);
      if (del.code !== 0) break;
    }
  }
  const owned = await listOwnedChains(run, opts.family);
  if ("error" in owned) return { ok: false, error: owned.error };
  const text = TABLES.flatMap((table) => {
    if (owned[table].length === 0) return [];
    return [`*${table}`, ...owned[table].map((c) => `:${c} - [0:0]`), ...owned[table].map((c) => `-X ${c}`), "COMMIT"];
  });
  return text.length ? applyIptables(`${text.join("\n")}\n`, { run, family: opts.family }) : { ok: true };
}

export class IptablesProxier implements Proxier {
  readonly backend = "iptables";
  private readonly run: RunCommand;
  /** Our chains as the kernel holds them, when known (after a sync that worked). */
  private applied: IptablesChains | undefined;
  /** route_localnet is set (once: kube-proxy sets it at start and never clears it). */
  private localnetRouted = false;

  /** The runner and family every command of this proxier uses. */
  private readonly tools: { run: RunCommand; family?: IPFamily };

  private readonly opts: CommandOptions & Omit<IptablesOptions, "existingChains">;

  constructor(opts: CommandOptions & Omit<IptablesOptions, "existingChains"> = {}) {
    // Chain names are hashed through this proxier's own memo: they come back every sync.
    this.opts = { hashName: new NameHashes().hash, ...opts };
    this.run = commandRunner(opts);
    this.tools = opts.family ? { run: this.run, family: opts.family } : { run: this.run };
  }

  async sync(state: ProxyState, syncOpts: SyncOptions = {}): Promise<SyncResult> {
    if (this.applied && !syncOpts.full) {
      const chains = iptablesChains(state, this.opts);
      const changes = renderIptablesChanges(this.applied, chains);
      if (changes === "") return { ok: true, mode: "unchanged" };
      const restored = await applyIptables(changes, this.tools);
      const jumps = restored.ok ? await ensureJumpRules(this.tools) : restored;
      if (jumps.ok) {
        this.applied = chains;
        return { ok: true, mode: "partial" };
      }
      // The kernel is not what we thought (someone else's change, a failed restore): rewrite it all.
    }
    this.applied = undefined;
    if (!this.localnetRouted && servesLocalhostNodePorts(this.opts.nodePortIPs, this.opts.family)) {
      const r = await this.run(["sysctl", "-q", "-w", ROUTE_LOCALNET_SYSCTL]);
      const set: Outcome = r.code === 0 ? { ok: true } : failure(`sysctl -w ${ROUTE_LOCALNET_SYSCTL}`, r);
      if (!set.ok) return set;
      this.localnetRouted = true;
    }
    const existingChains = await listOwnedChains(this.run, this.opts.family);
    if ("error" in existingChains) return { ok: false, error: existingChains.error };
    const { text, chains } = renderIptablesSync(state, { ...this.opts, existingChains });
    const restored = await applyIptables(text, this.tools);
    if (!restored.ok) return restored;
    // Chains exist now, so the jumps into them can be added.
    const jumps = await ensureJumpRules(this.tools);
    if (!jumps.ok) return jumps;
    this.applied = chains;
    return { ok: true, mode: "full" };
  }

  cleanup(): Promise<Outcome> {
    this.applied = undefined;
    return cleanupIptables(this.tools);
  }
}
