// Packet tracer over the nftables text renderNftables/renderNftablesUpdate emit. It
// understands only the statements those renderers write and throws on anything else,
// so a renderer change that the tracer cannot follow fails the tests loudly.
import {
  inCIDR,
  isLocalAddress,
  traceFlow,
  type Action,
  type BaseChain,
  type Hook,
  type NodeAddresses,
  type Packet,
  type Program,
  type Rule,
  type TraceContext,
  type TraceResult,
} from "./engine";

type Match = (p: Packet, ctx: TraceContext) => boolean;

/** The table as the kernel would hold it after applying a sequence of transactions. */
export class NftModel {
  readonly chains: Program = new Map();
  /** Chain name -> its rule texts, for comparing models. */
  readonly ruleText = new Map<string, string[]>();
  /** Maps and sets by name; a set's elements map to "". */
  readonly maps = new Map<string, Map<string, string>>();
  readonly bases: BaseChain[] = [];
  private node: NodeAddresses = { nodeIPs: [] };

  constructor(text?: string) {
    if (text) this.apply(text);
  }

  /** Inside `table ip T { ... }` / `chain C { ... }` blocks of a full render. */
  private inTable = false;
  private inChain: string | undefined;

  apply(text: string): this {
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line) this.inTable ? this.blockLine(line) : this.command(line);
    }
    return this;
  }

  private blockLine(line: string): void {
    let m: RegExpMatchArray | null;
    if (this.inChain !== undefined) {
      if (line === "}") this.inChain = undefined;
      else if ((m = line.match(/^type (?:nat|filter) hook (\w+) priority (-?\d+); policy accept;$/))) {
        this.addBase({ hook: m[1] as Hook, priority: Number(m[2]), chain: this.inChain });
      } else this.command(`add rule ip - ${this.inChain} ${line}`);
    } else if (line === "}") this.inTable = false;
    else if ((m = line.match(/^chain (\S+) \{$/))) {
      this.command(`add chain ip - ${m[1]}`);
      this.inChain = m[1]!;
    } else if ((m = line.match(/^(?:map|set) (\S+) \{.*\}$/))) this.command(`add map ip - ${m[1]} {}`);
    else if (!/^comment ".*"$/.test(line)) throw new Error(`nft trace: unknown line in table block: ${line}`);
  }

  trace(p: Packet, node: NodeAddresses): TraceResult {
    this.node = node;
    return traceFlow(this.chains, this.bases, p, node);
  }

  private command(line: string): void {
    let m: RegExpMatchArray | null;
    if (/^table ip \S+ \{$/.test(line)) {
      this.inTable = true;
      return;
    }
    if (/^add table ip \S+/.test(line) || /^delete table ip \S+$/.test(line)) {
      if (line.startsWith("delete")) this.reset();
      return;
    }
    if (/^flush table ip \S+$/.test(line)) {
      for (const [name, rules] of this.chains) {
        rules.length = 0;
        this.ruleText.set(name, []);
      }
      return;
    }
    if ((m = line.match(/^add (?:map|set) ip \S+ (\S+) /))) {
      if (!this.maps.has(m[1]!)) this.maps.set(m[1]!, new Map());
      return;
    }
    if ((m = line.match(/^delete (?:map|set) ip \S+ (\S+)$/))) {
      if (!this.maps.delete(m[1]!)) throw new Error(`nft: no set ${m[1]}`);
      return;
    }
    if ((m = line.match(/^add chain ip \S+ (\S+)(?: \{ (.*) \})?$/))) {
      const [, name, spec] = m;
      if (!this.chains.has(name!)) {
        this.chains.set(name!, []);
        this.ruleText.set(name!, []);
      }
      const hook = spec?.match(/type (?:nat|filter) hook (\w+) priority (-?\d+);/);
      if (hook) this.addBase({ hook: hook[1] as Hook, priority: Number(hook[2]), chain: name! });
      return;
    }
    if ((m = line.match(/^flush chain ip \S+ (\S+)$/))) {
      this.chainRules(m[1]!).length = 0;
      this.ruleText.set(m[1]!, []);
      return;
    }
    if ((m = line.match(/^delete chain ip \S+ (\S+)$/))) {
      if (this.chainRules(m[1]!).length) throw new Error(`nft: deleting non-empty chain ${m[1]}`);
      this.chains.delete(m[1]!);
      this.ruleText.delete(m[1]!);
      return;
    }
    if ((m = line.match(/^add rule ip \S+ (\S+) (.*)$/))) {
      this.chainRules(m[1]!).push(this.parseRule(m[2]!));
      this.ruleText.get(m[1]!)!.push(m[2]!);
      return;
    }
    // Keys hold " . ", values are verdicts or "ip . port": neither contains ", ". Set elements have no value.
    if ((m = line.match(/^add element ip \S+ (\S+) \{ (.*) \}$/))) {
      const map = this.maps.get(m[1]!);
      if (!map) throw new Error(`nft: no map ${m[1]}`);
      for (const element of m[2]!.split(", ")) {
        const [key, value] = element.split(" : ");
        if (map.has(key!)) throw new Error(`nft: duplicate element ${element} in ${m[1]}`);
        map.set(key!, value ?? "");
      }
      return;
    }
    if ((m = line.match(/^delete element ip \S+ (\S+) \{ (.*) \}$/))) {
      for (const key of m[2]!.split(", ")) if (!this.maps.get(m[1]!)?.delete(key)) throw new Error(`nft: no element ${key} in ${m[1]}`);
      return;
    }
    throw new Error(`nft trace: unknown command: ${line}`);
  }

  /** A block re-declaring an existing base chain does not add a second hook. */
  private addBase(base: BaseChain): void {
    if (!this.bases.some((b) => b.chain === base.chain)) this.bases.push(base);
  }

  private reset(): void {
    this.chains.clear();
    this.ruleText.clear();
    this.maps.clear();
    this.bases.length = 0;
  }

  private chainRules(name: string): Rule[] {
    const rules = this.chains.get(name);
    if (!rules) throw new Error(`nft: no chain ${name}`);
    return rules;
  }

  private parseRule(text: string): Rule {
    const matches: Match[] = [];
    let rest = text;
    let m: RegExpMatchArray | null;
    for (;;) {
      if ((m = rest.match(/^ct state new /))) {
        // The tracer follows the first packet of a connection.
      } else if ((m = rest.match(/^ct status dnat ip saddr \. ip daddr @(\S+) /))) {
        const set = m[1]!;
        matches.push((p, ctx) => ctx.dnat !== undefined && this.maps.get(set)?.has(`${p.src} . ${ctx.daddr}`) === true);
      } else if ((m = rest.match(/^ip (saddr|daddr) (!= )?(\{ [^}]* \}|@\S+|\d[\d./]*) /))) {
        matches.push(this.addressMatch(m[1] as "saddr" | "daddr", m[2] !== undefined, m[3]!));
      } else if ((m = rest.match(/^(tcp|udp|sctp) dport (\d+) /))) {
        const [proto, port] = [m[1]!.toUpperCase(), Number(m[2])];
        matches.push((p, ctx) => p.proto === proto && ctx.dport === port);
      } else if ((m = rest.match(/^fib (saddr|daddr) type local /))) {
        const which = m[1];
        matches.push((p, ctx) => (which === "saddr" ? p.local === true || isLocalAddress(p.src, this.node) : isLocalAddress(ctx.daddr, this.node)));
      } else if ((m = rest.match(/^meta l4proto (tcp|udp|sctp) (?=dnat )/))) {
        const proto = m[1]!.toUpperCase();
        matches.push((p) => p.proto === proto);
      } else if ((m = rest.match(/^mark and (0x[0-9a-f]+) == 0 /))) {
        const bit = Number(m[1]);
        matches.push((_p, ctx) => (ctx.mark & bit) === 0);
      } else break;
      rest = rest.slice(m[0].length);
    }
    const action = this.parseAction(rest, text);
    return { text, action, match: (p, ctx) => matches.every((f) => f(p, ctx)) };
  }

  private parseAction(text: string, rule: string): Action {
    let m: RegExpMatchArray | null;
    if ((m = text.match(/^ip daddr \. meta l4proto \. th dport vmap @(\S+)$/))) {
      const map = m[1]!;
      return { kind: "lookup", resolve: (p, ctx) => this.lookup(map, `${ctx.daddr} . ${p.proto.toLowerCase()} . ${ctx.dport}`) };
    }
    if ((m = text.match(/^meta l4proto \. th dport vmap @(\S+)$/))) {
      const map = m[1]!;
      return { kind: "lookup", resolve: (p, ctx) => this.lookup(map, `${p.proto.toLowerCase()} . ${ctx.dport}`) };
    }
    if ((m = text.match(/^numgen random mod (\d+) vmap \{ (.*) \}$/))) {
      const arms = m[2]!.split(", ").map((arm) => arm.match(/^(\d+) : goto (\S+)$/));
      if (arms.length !== Number(m[1]) || arms.some((a, i) => !a || Number(a[1]) !== i)) throw new Error(`nft trace: bad numgen: ${rule}`);
      return { kind: "random", chains: arms.map((a) => a![2]!) };
    }
    if ((m = text.match(/^dnat ip to (ip daddr \. )?meta l4proto \. th dport \. numgen random mod (\d+) map @(\S+)$/))) {
      const [byAddress, n, map] = [m[1] !== undefined, Number(m[2]), m[3]!];
      return {
        kind: "lookup",
        resolve: (p, ctx) => {
          const entry = `${byAddress ? `${ctx.daddr} . ` : ""}${p.proto.toLowerCase()} . ${ctx.dport}`;
          // A missing index makes the lookup fail: the rule does not apply and the next one runs.
          const actions: Action[] = [];
          for (let i = 0; i < n; i++) {
            const target = this.maps.get(map)?.get(`${entry} . ${i}`);
            actions.push(target === undefined ? { kind: "continue" } : { kind: "dnat", to: target.replace(" . ", ":") });
          }
          return { kind: "fork", actions };
        },
      };
    }
    if ((m = text.match(/^dnat to ([\d.]+:\d+)$/))) return { kind: "dnat", to: m[1]! };
    if ((m = text.match(/^mark set mark (or|xor) (0x[0-9a-f]+)$/))) return { kind: "mark", op: m[1] as "or" | "xor", value: Number(m[2]) };
    if (text === "masquerade fully-random") return { kind: "masquerade" };
    if (/^update @\S+ \{ ip saddr \}$/.test(text)) return { kind: "continue" };
    return verdictAction(text, rule);
  }

  /** Named sets are read when the packet is traced; dynamic (affinity) sets start empty, so they never match a new client. */
  private addressMatch(field: "saddr" | "daddr", negate: boolean, value: string): Match {
    const literal = value.startsWith("{") ? value.slice(2, -2).split(", ") : [value];
    return (p, ctx) => {
      const ip = field === "saddr" ? p.src : ctx.daddr;
      const cidrs = value.startsWith("@") ? [...(this.maps.get(value.slice(1))?.keys() ?? [])] : literal;
      return cidrs.some((c) => inCIDR(ip, c)) !== negate;
    };
  }

  private lookup(map: string, key: string): Action | undefined {
    const value = this.maps.get(map)?.get(key);
    return value === undefined ? undefined : verdictAction(value, `${map} { ${key} }`);
  }
}

function verdictAction(text: string, rule: string): Action {
  const m = text.match(/^(jump|goto) (\S+)$/);
  if (m) return { kind: m[1] as "jump" | "goto", chain: m[2]! };
  if (text === "reject" || text === "drop" || text === "accept" || text === "return") return { kind: "verdict", verdict: text };
  throw new Error(`nft trace: unknown statement "${text}" in: ${rule}`);
}

/** Where a packet goes under the given ruleset text. */
export function traceNftables(ruleset: string, p: Packet, node: NodeAddresses): TraceResult {
  return new NftModel(ruleset).trace(p, node);
}
