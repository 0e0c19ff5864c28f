// Packet tracer over the iptables-restore text renderIptables emits, plus the jump rules
// the applier installs in the built-in chains. Like kube-proxy's iptables tracer it only
// knows the matches and targets we write and throws on anything else.
import {
  inCIDR,
  isLocalAddress,
  traceFlow,
  type Action,
  type BaseChain,
  type NodeAddresses,
  type Packet,
  type Program,
  type TraceContext,
  type TraceResult,
} from "./engine";
import { JUMP_RULES, type IptablesTable } from "../../../../src/agent/proxy/iptables/chains";

type Match = (p: Packet, ctx: TraceContext) => boolean | "maybe";

/** Where each built-in chain hooks in; nat runs before filter except at postrouting. */
const BUILTIN: { table: IptablesTable; chain: string; base: Omit<BaseChain, "chain"> }[] = [
  { table: "nat", chain: "PREROUTING", base: { hook: "prerouting", priority: -100 } },
  { table: "nat", chain: "OUTPUT", base: { hook: "output", priority: -100 } },
  { table: "filter", chain: "INPUT", base: { hook: "input", priority: 0 } },
  { table: "filter", chain: "FORWARD", base: { hook: "forward", priority: 0 } },
  { table: "filter", chain: "OUTPUT", base: { hook: "output", priority: 0 } },
  { table: "nat", chain: "POSTROUTING", base: { hook: "postrouting", priority: 100 } },
];

/** Splits a rule into arguments, honouring the double quotes iptables-save writes. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!);
  return out;
}

export class IptablesModel {
  readonly program: Program = new Map();
  private node: NodeAddresses = { nodeIPs: [] };

  constructor(restoreText: string, withJumps = true) {
    for (const b of BUILTIN) this.program.set(`${b.table}/${b.chain}`, []);
    if (withJumps) for (const j of JUMP_RULES) this.addRule(j.table, j.chain, j.args);
    let table: IptablesTable | undefined;
    for (const raw of restoreText.split("\n")) {
      const line = raw.trim();
      let m: RegExpMatchArray | null;
      if (!line || line.startsWith("#") || line === "COMMIT") continue;
      if ((m = line.match(/^\*(nat|filter)$/))) table = m[1] as IptablesTable;
      else if (!table) throw new Error(`iptables trace: rule outside a table: ${line}`);
      else if ((m = line.match(/^:(\S+) \S+ \[\d+:\d+\]$/))) this.program.set(`${table}/${m[1]}`, []);
      else if ((m = line.match(/^-X (\S+)$/))) {
        if (this.program.get(`${table}/${m[1]}`)?.length) throw new Error(`iptables: deleting non-empty chain ${m[1]}`);
        this.program.delete(`${table}/${m[1]}`);
      } else if ((m = line.match(/^-A (\S+) (.*)$/))) this.addRule(table, m[1]!, splitArgs(m[2]!));
      else throw new Error(`iptables trace: unknown line: ${line}`);
    }
  }

  trace(p: Packet, node: NodeAddresses): TraceResult {
    this.node = node;
    const bases = BUILTIN.map((b) => ({ ...b.base, chain: `${b.table}/${b.chain}` }));
    return traceFlow(this.program, bases, p, node);
  }

  /** Rule texts per chain, for comparisons. */
  chains(): Record<string, number> {
    return Object.fromEntries([...this.program].map(([name, rules]) => [name, rules.length]));
  }

  private addRule(table: IptablesTable, chain: string, args: string[]): void {
    const rules = this.program.get(`${table}/${chain}`);
    if (!rules) throw new Error(`iptables: no chain ${table}/${chain}`);
    const matches: Match[] = [];
    let action: Action | undefined;
    for (let i = 0; i < args.length; ) {
      const negate = args[i] === "!";
      if (negate) i++;
      const opt = args[i++]!;
      const val = (): string => {
        const v = args[i++];
        if (v === undefined) throw new Error(`iptables trace: ${opt} needs a value: ${args.join(" ")}`);
        return v;
      };
      switch (opt) {
        case "-m": {
          const mod = val();
          if (mod === "statistic") {
            if (val() !== "--mode" || val() !== "random" || val() !== "--probability") throw new Error(`iptables trace: statistic: ${args.join(" ")}`);
            val();
            matches.push(() => "maybe");
          } else if (mod === "recent") {
            // A new client is in no recent list; --set only records it.
            val(); // --name
            val();
            if (args[i] === "--rcheck") {
              i += 4; // --rcheck --seconds N --reap
              matches.push(() => false);
            } else i += 1; // --set
          }
          break; // comment, tcp, udp, sctp, addrtype, mark, conntrack: their options follow
        }
        case "--comment":
          val();
          break;
        case "-s":
        case "-d": {
          const cidr = val();
          matches.push((pk, ctx) => inCIDR(opt === "-s" ? pk.src : ctx.daddr, cidr) !== negate);
          break;
        }
        case "-p": {
          const proto = val().toUpperCase();
          matches.push((pk) => pk.proto === proto);
          break;
        }
        case "--dport": {
          const port = Number(val());
          matches.push((_pk, ctx) => ctx.dport === port);
          break;
        }
        case "--dst-type":
        case "--src-type": {
          if (val() !== "LOCAL") throw new Error(`iptables trace: addrtype: ${args.join(" ")}`);
          matches.push((pk, ctx) => (opt === "--src-type" ? pk.local === true || isLocalAddress(pk.src, this.node) : isLocalAddress(ctx.daddr, this.node)));
          break;
        }
        case "--mark": {
          const [value, mask] = val().split("/").map(Number);
          matches.push((_pk, ctx) => ((ctx.mark & mask!) === value) !== negate);
          break;
        }
        case "--ctstate": {
          const states = val().split(",");
          // The tracer follows a connection's first packet: NEW, and DNAT once translated.
          matches.push((_pk, ctx) => states.some((s) => s === "NEW" || (s === "DNAT" && ctx.dnat !== undefined)) !== negate);
          break;
        }
        case "-j":
          action = this.target(table, val(), args.slice(i));
          i = args.length;
          break;
        default:
          throw new Error(`iptables trace: unknown option ${opt} in: ${args.join(" ")}`);
      }
    }
    if (!action) throw new Error(`iptables trace: no target: ${args.join(" ")}`);
    const rule = args.join(" ");
    rules.push({
      text: rule,
      action,
      match: (pk, ctx) => {
        let maybe = false;
        for (const m of matches) {
          const r = m(pk, ctx);
          if (r === false) return false;
          if (r === "maybe") maybe = true;
        }
        return maybe ? "maybe" : true;
      },
    });
  }

  private target(table: IptablesTable, target: string, rest: string[]): Action {
    switch (target) {
      case "ACCEPT":
      case "DROP":
      case "REJECT":
      case "RETURN":
        return { kind: "verdict", verdict: target === "RETURN" ? "return" : (target.toLowerCase() as "accept" | "drop" | "reject") };
      case "MARK":
        return { kind: "mark", op: rest[0] === "--or-mark" ? "or" : "xor", value: Number(rest[1]) };
      case "MASQUERADE":
        return { kind: "masquerade" };
      case "DNAT":
        return { kind: "dnat", to: rest[1]! };
      default:
        return { kind: "jump", chain: `${table}/${target}` };
    }
  }
}

/** Where a packet goes under the given iptables-restore text (with our jump rules installed). */
export function traceIptables(restoreText: string, p: Packet, node: NodeAddresses): TraceResult {
  return new IptablesModel(restoreText).trace(p, node);
}
