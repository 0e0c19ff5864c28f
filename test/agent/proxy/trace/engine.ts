// A tiny netfilter interpreter for the rule shapes our renderers emit, as kube-proxy's
// tests do (tracePacket): each backend's tracer parses its generated text into chains
// of match+action rules, and this engine walks them, forking on random choices so the
// answer lists every endpoint a packet may reach.

export type L4Protocol = "TCP" | "UDP" | "SCTP";

export interface Packet {
  src: string;
  dst: string;
  proto: L4Protocol;
  dport: number;
  /** The packet originates on this node (OUTPUT path) rather than arriving on an interface. */
  local?: boolean;
}

export interface TraceResult {
  /** Sorted "ip:port" DNAT targets joined by ", ", or "ACCEPT", "DROP" or "REJECT" (kube-proxy's test notation). */
  output: string;
  masquerade: boolean;
}

/** The packet as rules see it at some hook: the destination changes after DNAT. */
export interface TraceContext {
  daddr: string;
  dport: number;
  mark: number;
  dnat?: string;
  masquerade?: boolean;
}

export type Verdict = "accept" | "drop" | "reject";

export type Action =
  | { kind: "jump" | "goto"; chain: string }
  | { kind: "verdict"; verdict: Verdict | "return" }
  | { kind: "dnat"; to: string }
  | { kind: "mark"; op: "or" | "xor"; value: number }
  | { kind: "masquerade" }
  /** numgen random vmap: any one of these chains (goto). */
  | { kind: "random"; chains: string[] }
  /** Any one of these actions (a random index into a map): every branch is followed. */
  | { kind: "fork"; actions: Action[] }
  /** A vmap lookup: the action found for this packet, if any. */
  | { kind: "lookup"; resolve: (p: Packet, ctx: TraceContext) => Action | undefined }
  | { kind: "continue" };

export interface Rule {
  text: string;
  /** "maybe" for probabilistic matches (iptables statistic): both outcomes are followed. */
  match: (p: Packet, ctx: TraceContext) => boolean | "maybe";
  action: Action;
}

export type Program = Map<string, Rule[]>;

export interface Outcome {
  ctx: TraceContext;
  /** "return" when the chain fell off its end or returned. */
  end: Verdict | "return";
}

/** Guards against a jump loop in generated rules. */
const MAX_CHAIN_DEPTH = 32;

type Step = { ctx: TraceContext; next: true } | (Outcome & { next?: false });

export function runChain(program: Program, chain: string, p: Packet, ctx: TraceContext, depth = 0): Outcome[] {
  if (depth > MAX_CHAIN_DEPTH) throw new Error(`trace: chain depth exceeded at ${chain}`);
  const rules = program.get(chain);
  if (!rules) throw new Error(`trace: no chain ${chain}`);
  return runFrom(program, rules, 0, p, ctx, depth);
}

function runFrom(program: Program, rules: Rule[], start: number, p: Packet, ctx: TraceContext, depth: number): Outcome[] {
  for (let i = start; i < rules.length; i++) {
    const rule = rules[i]!;
    const m = rule.match(p, ctx);
    if (m === false) continue;
    const results: Outcome[] = [];
    for (const step of act(program, rule.action, p, ctx, depth)) {
      if (step.next) results.push(...runFrom(program, rules, i + 1, p, step.ctx, depth));
      else results.push(step);
    }
    if (m === "maybe") results.push(...runFrom(program, rules, i + 1, p, ctx, depth));
    return results;
  }
  return [{ ctx, end: "return" }];
}

function act(program: Program, action: Action, p: Packet, ctx: TraceContext, depth: number): Step[] {
  switch (action.kind) {
    case "continue":
      return [{ ctx, next: true }];
    case "jump":
      return runChain(program, action.chain, p, ctx, depth + 1).map((o) => (o.end === "return" ? { ctx: o.ctx, next: true } : o));
    case "goto":
      return runChain(program, action.chain, p, ctx, depth + 1);
    case "random":
      return action.chains.flatMap((chain) => runChain(program, chain, p, ctx, depth + 1));
    case "fork":
      return action.actions.flatMap((a) => act(program, a, p, ctx, depth));
    case "verdict":
      return [{ ctx, end: action.verdict }];
    case "dnat": {
      const [ip, port] = action.to.split(":");
      return [{ ctx: { ...ctx, daddr: ip!, dport: Number(port), dnat: action.to }, end: "accept" }];
    }
    case "mark":
      return [{ ctx: { ...ctx, mark: action.op === "or" ? ctx.mark | action.value : ctx.mark ^ action.value }, next: true }];
    case "masquerade":
      return [{ ctx: { ...ctx, masquerade: true }, end: "accept" }];
    case "lookup": {
      const found = action.resolve(p, ctx);
      return found ? act(program, found, p, ctx, depth) : [{ ctx, next: true }];
    }
  }
}

/** Folds the per-branch outcomes into kube-proxy's notation; branches must agree on masquerading. */
export function summarize(outcomes: { verdict: Verdict; ctx: TraceContext }[]): TraceResult {
  const rejected = outcomes.filter((o) => o.verdict !== "accept");
  if (rejected.length > 0) {
    const verdicts = new Set(rejected.map((o) => o.verdict.toUpperCase()));
    if (rejected.length !== outcomes.length || verdicts.size > 1) throw new Error(`trace: mixed verdicts ${[...verdicts].join(",")}`);
    return { output: [...verdicts][0]!, masquerade: false };
  }
  const masq = new Set(outcomes.map((o) => o.ctx.masquerade === true));
  if (masq.size > 1) throw new Error("trace: branches disagree on masquerading");
  const targets = [...new Set(outcomes.map((o) => o.ctx.dnat ?? ""))];
  if (targets.includes("")) {
    if (targets.length > 1) throw new Error("trace: some branches are not DNATed");
    return { output: "ACCEPT", masquerade: [...masq][0]! };
  }
  return { output: targets.sort().join(", "), masquerade: [...masq][0]! };
}

// ---- address matching shared by both tracers ----

const toNumber = (ip: string): number => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);

/** ip or CIDR membership, IPv4 only. */
export function inCIDR(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (bits === 0) return true;
  const mask = bits === 32 ? 0xffffffff : ~((1 << (32 - bits)) - 1) >>> 0;
  return (toNumber(ip) & mask) >>> 0 === (toNumber(base!) & mask) >>> 0;
}

export interface NodeAddresses {
  nodeIPs: string[];
}

/** What `fib daddr type local` / `addrtype --dst-type LOCAL` answer: node IPs and loopback. */
export const isLocalAddress = (ip: string, node: NodeAddresses): boolean => node.nodeIPs.includes(ip) || inCIDR(ip, "127.0.0.0/8");

// ---- packet flow through the netfilter hooks ----

export type Hook = "prerouting" | "input" | "forward" | "output" | "postrouting";

export interface BaseChain {
  hook: Hook;
  priority: number;
  chain: string;
}

/** Runs one hook's base chains in priority order; accept passes the packet to the next one. */
function runHook(program: Program, bases: BaseChain[], hook: Hook, p: Packet, ctxs: TraceContext[]): { verdict: Verdict; ctx: TraceContext }[] {
  let live = ctxs;
  const stopped: { verdict: Verdict; ctx: TraceContext }[] = [];
  const chains = bases.filter((b) => b.hook === hook).sort((a, b) => a.priority - b.priority);
  for (const base of chains) {
    const next: TraceContext[] = [];
    for (const ctx of live) {
      for (const o of runChain(program, base.chain, p, ctx)) {
        if (o.end === "drop" || o.end === "reject") stopped.push({ verdict: o.end, ctx: o.ctx });
        else next.push(o.ctx);
      }
    }
    live = next;
  }
  return [...stopped, ...live.map((ctx) => ({ verdict: "accept" as const, ctx }))];
}

/**
 * Where a new connection's first packet goes. Local packets: output, postrouting, then
 * input when the (translated) destination is this node. Others: prerouting, then input
 * or forward + postrouting.
 */
export function traceFlow(program: Program, bases: BaseChain[], p: Packet, node: NodeAddresses): TraceResult {
  const start: TraceContext = { daddr: p.dst, dport: p.dport, mark: 0 };
  const done: { verdict: Verdict; ctx: TraceContext }[] = [];
  const continueWith = (results: { verdict: Verdict; ctx: TraceContext }[]): TraceContext[] => {
    done.push(...results.filter((r) => r.verdict !== "accept"));
    return results.filter((r) => r.verdict === "accept").map((r) => r.ctx);
  };
  let live = continueWith(runHook(program, bases, p.local ? "output" : "prerouting", p, [start]));
  const toLocal = live.filter((ctx) => isLocalAddress(ctx.daddr, node));
  const toRemote = live.filter((ctx) => !isLocalAddress(ctx.daddr, node));
  if (p.local) {
    live = continueWith(runHook(program, bases, "postrouting", p, live));
    const local = live.filter((ctx) => isLocalAddress(ctx.daddr, node));
    const remote = live.filter((ctx) => !isLocalAddress(ctx.daddr, node));
    live = [...continueWith(runHook(program, bases, "input", p, local)), ...remote];
  } else {
    live = [
      ...continueWith(runHook(program, bases, "input", p, toLocal)),
      ...continueWith(runHook(program, bases, "postrouting", p, continueWith(runHook(program, bases, "forward", p, toRemote)))),
    ];
  }
  return summarize([...done, ...live.map((ctx) => ({ verdict: "accept" as const, ctx }))]);
}
