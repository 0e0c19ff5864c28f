// nft rule text -> nf_tables expressions, for the rule shapes the layout (layout.ts) writes,
// encoded as nft 1.0.6 encodes them (the same expressions, registers and attributes, so
// `nft list` prints the rules back as written). Matching is strict: a statement this file
// does not know throws Unsupported, and the caller falls back to `nft -f`. A new rule
// shape in the layout therefore costs speed until it is added here, never correctness.
import { endianness } from "node:os";
import type { NetlinkBatch } from "./batch";

export class Unsupported extends Error {}

// linux/netfilter/nf_tables.h
const REG_VERDICT = 0;
const REG_1 = 1;
/** NFT_REG32_00: the 32-bit registers; concatenations fill REG32_00, 01, 02... */
const REG32 = 8;
const NFT_JUMP = -3;
const NFT_GOTO = -4;
const NFT_RETURN = -5;
const NF_DROP = 0;
const NF_ACCEPT = 1;
const META_MARK = 3;
const META_L4PROTO = 16;
const CT_STATE = 0;
const CT_STATUS = 2;
const BASE_NETWORK = 1;
const BASE_TRANSPORT = 2;
const CMP_EQ = 0;
const CMP_NEQ = 1;
const FIB_F_SADDR = 1;
const FIB_F_DADDR = 2;
const FIB_RESULT_ADDRTYPE = 3;
/** RTN_LOCAL, as fib's `type local`. */
const RTN_LOCAL = 2;
const CT_STATE_NEW = 8;
const IPS_DST_NAT = 0x20;
const NAT_DNAT = 1;
const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 0x10;
const NUMGEN_RANDOM = 1;
const DYNSET_OP_UPDATE = 1;
const LOOKUP_F_INV = 1;
const NFPROTO_IPV4 = 2;
/** ip header offsets. */
const IP_SADDR = 12;
const IP_DADDR = 16;
/** tcp, udp and sctp put the destination port at the same offset. */
const TH_DPORT = 2;

export const L4PROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

const LE = endianness() === "LE";

/** A value in host byte order, as nft writes meta, ct and numgen values. */
export function hostU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function ipv4(text: string): Buffer {
  if (!IPV4.test(text)) throw new Unsupported(`not an IPv4 address: ${text}`);
  return Buffer.from(text.split(".").map(Number));
}

export function port(text: string): Buffer {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new Unsupported(`not a port: ${text}`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function l4proto(text: string): number {
  const p = L4PROTO[text];
  if (p === undefined) throw new Unsupported(`unknown protocol: ${text}`);
  return p;
}

/** Set and map references resolve to the id a set got when declared in this batch. */
export type SetIds = (name: string) => number | undefined;

/** One expression: its name and a writer for its attributes. */
type Expr = [name: string, write: (b: NetlinkBatch) => void];

/** An anonymous map a rule declares inline (`numgen … vmap { … }`): sent before the rule. */
export interface AnonymousVmap {
  keys: Buffer[];
  verdicts: string[];
}

function dataValue(b: NetlinkBatch, attr: number, data: Uint8Array): void {
  const at = b.open(attr);
  b.bytes(1, data);
  b.close(at);
}

/** NFTA_DATA_VERDICT for `jump c`, `goto c`, `return`, `drop`, `accept`. */
export function writeVerdict(b: NetlinkBatch, attr: number, verdict: string): void {
  const [code, chain] = verdictCode(verdict);
  const data = b.open(attr);
  const v = b.open(2);
  b.u32(1, code);
  if (chain !== undefined) b.str(2, chain);
  b.close(v);
  b.close(data);
}

function verdictCode(verdict: string): [number, string?] {
  const m = verdict.match(/^(jump|goto) (\S+)$/);
  if (m) return [m[1] === "jump" ? NFT_JUMP : NFT_GOTO, m[2]!];
  if (verdict === "return") return [NFT_RETURN];
  if (verdict === "drop") return [NF_DROP];
  if (verdict === "accept") return [NF_ACCEPT];
  throw new Unsupported(`unknown verdict: ${verdict}`);
}

const payload = (dreg: number, base: number, offset: number, len: number): Expr => ["payload", (b) => b.u32(1, dreg).u32(2, base).u32(3, offset).u32(4, len)];
const metaLoad = (key: number, dreg: number): Expr => ["meta", (b) => b.u32(2, key).u32(1, dreg)];
const cmp = (op: number, data: Uint8Array): Expr => [
  "cmp",
  (b) => {
    b.u32(1, REG_1).u32(2, op);
    dataValue(b, 3, data);
  },
];
/** `(reg & mask) ^ xor`; nft adds NFTA_BITWISE_OP (boolean) only to mark statements. */
const bitwise = (mask: Uint8Array, xor: Uint8Array, withOp: boolean): Expr => [
  "bitwise",
  (b) => {
    b.u32(1, REG_1).u32(2, REG_1);
    if (withOp) b.u32(6, 0);
    b.u32(3, mask.length);
    dataValue(b, 4, mask);
    dataValue(b, 5, xor);
  },
];
const lookup = (set: string, ids: SetIds, sreg: number, dreg?: number, invert = false): Expr => [
  "lookup",
  (b) => {
    b.u32(2, sreg);
    if (dreg !== undefined) b.u32(3, dreg);
    b.str(1, set);
    const id = ids(set);
    if (id !== undefined) b.u32(4, id);
    if (invert) b.u32(5, LOOKUP_F_INV);
  },
];
const immediateVerdict = (verdict: string): Expr => [
  "immediate",
  (b) => {
    b.u32(1, REG_VERDICT);
    writeVerdict(b, 2, verdict);
  },
];
const immediateData = (dreg: number, data: Uint8Array): Expr => [
  "immediate",
  (b) => {
    b.u32(1, dreg);
    dataValue(b, 2, data);
  },
];
const ctLoad = (key: number): Expr => ["ct", (b) => b.u32(2, key).u32(1, REG_1)];
/** ct state/status bits: `(reg & bits) != 0`. */
const ctBits = (key: number, bits: number): Expr[] => [ctLoad(key), bitwise(hostU32(bits), hostU32(0), false), cmp(CMP_NEQ, hostU32(0))];
const fibLocal = (flag: number): Expr[] => [["fib", (b) => b.u32(3, flag).u32(2, FIB_RESULT_ADDRTYPE).u32(1, REG_1)], cmp(CMP_EQ, hostU32(RTN_LOCAL))];
const numgen = (dreg: number, mod: number): Expr => ["numgen", (b) => b.u32(1, dreg).u32(2, mod).u32(3, NUMGEN_RANDOM).u32(4, 0)];
const protoIs = (proto: string): Expr[] => [metaLoad(META_L4PROTO, REG_1), cmp(CMP_EQ, Uint8Array.of(l4proto(proto)))];

/** `ip daddr . meta l4proto . th dport` or `meta l4proto . th dport` into consecutive 32-bit registers. */
function entryKey(withDaddr: boolean): Expr[] {
  const regs = [REG_1, REG32 + 1, REG32 + 2];
  const out: Expr[] = [];
  if (withDaddr) out.push(payload(regs[out.length]!, BASE_NETWORK, IP_DADDR, 4));
  out.push(metaLoad(META_L4PROTO, regs[out.length]!));
  out.push(payload(regs[out.length]!, BASE_TRANSPORT, TH_DPORT, 2));
  return out;
}

interface Statement {
  re: RegExp;
  build: (m: RegExpMatchArray, ids: SetIds, rule: ParsedRule) => Expr[];
}

interface ParsedRule {
  exprs: Expr[];
  anonymous?: AnonymousVmap;
}

const NAME = "([A-Za-z0-9_./:-]+)";
const ADDR = "(\\d+\\.\\d+\\.\\d+\\.\\d+)";

/** Statements in the order they are tried; each consumes a prefix of the rest of the rule. */
const STATEMENTS: Statement[] = [
  { re: /^ip daddr \. meta l4proto \. th dport vmap @(\S+)/, build: (m, ids) => [...entryKey(true), lookup(m[1]!, ids, REG_1, REG_VERDICT)] },
  { re: /^meta l4proto \. th dport vmap @(\S+)/, build: (m, ids) => [...entryKey(false), lookup(m[1]!, ids, REG_1, REG_VERDICT)] },
  {
    re: /^meta l4proto (tcp|udp|sctp) dnat ip to (ip daddr \. )?meta l4proto \. th dport \. numgen random mod (\d+) map @(\S+)/,
    build: (m, ids) => {
      const key = entryKey(m[2] !== undefined);
      const nextReg = REG32 + key.length;
      return [
        ...protoIs(m[1]!),
        ...key,
        numgen(nextReg, Number(m[3])),
        lookup(m[4]!, ids, REG_1, REG_1),
        [
          "nat",
          (b) =>
            b
              .u32(1, NAT_DNAT)
              .u32(2, NFPROTO_IPV4)
              .u32(3, REG_1)
              .u32(5, REG32 + 1),
        ],
      ];
    },
  },
  {
    re: new RegExp(`^meta l4proto (tcp|udp|sctp) dnat to ${ADDR}:(\\d+)`),
    build: (m) => [
      ...protoIs(m[1]!),
      immediateData(REG_1, ipv4(m[2]!)),
      immediateData(2, port(m[3]!)),
      ["nat", (b) => b.u32(1, NAT_DNAT).u32(2, NFPROTO_IPV4).u32(3, REG_1).u32(5, 2).u32(7, NF_NAT_RANGE_PROTO_SPECIFIED)],
    ],
  },
  {
    re: /^numgen random mod (\d+) vmap \{ ([^}]*) \}/,
    build: (m, ids, rule) => {
      const n = Number(m[1]);
      const entries = m[2]!.split(", ").map((e) => e.match(/^(\d+) : (.+)$/) ?? []);
      if (entries.length !== n || entries.some((e, i) => Number(e[1]) !== i || !e[2])) throw new Unsupported(`numgen vmap: ${m[0]}`);
      rule.anonymous = { keys: entries.map((_, i) => hostU32(i)), verdicts: entries.map((e) => e[2]!) };
      return [numgen(REG_1, n), lookup("__map%d", ids, REG_1, REG_VERDICT)];
    },
  },
  { re: /^ct state new\b/, build: () => ctBits(CT_STATE, CT_STATE_NEW) },
  { re: /^ct status dnat\b/, build: () => ctBits(CT_STATUS, IPS_DST_NAT) },
  { re: /^fib daddr type local\b/, build: () => fibLocal(FIB_F_DADDR) },
  { re: /^fib saddr type local\b/, build: () => fibLocal(FIB_F_SADDR) },
  {
    // `ip daddr != 127.0.0.0/8`: nft compares the prefix's whole bytes only.
    re: new RegExp(`^ip daddr != ${ADDR}/(8|16|24)\\b`),
    build: (m) => {
      const bytes = Number(m[2]) / 8;
      const addr = ipv4(m[1]!);
      if (addr.subarray(bytes).some((x) => x !== 0)) throw new Unsupported(`prefix with host bits: ${m[0]}`);
      return [payload(REG_1, BASE_NETWORK, IP_DADDR, bytes), cmp(CMP_NEQ, addr.subarray(0, bytes))];
    },
  },
  {
    re: /^ip saddr \. ip daddr @(\S+)/,
    build: (m, ids) => [payload(REG_1, BASE_NETWORK, IP_SADDR, 4), payload(REG32 + 1, BASE_NETWORK, IP_DADDR, 4), lookup(m[1]!, ids, REG_1)],
  },
  {
    re: /^ip (saddr|daddr) (!= )?@(\S+)/,
    build: (m, ids) => [payload(REG_1, BASE_NETWORK, m[1] === "saddr" ? IP_SADDR : IP_DADDR, 4), lookup(m[3]!, ids, REG_1, undefined, m[2] !== undefined)],
  },
  { re: new RegExp(`^ip daddr ${ADDR}(?= )`), build: (m) => [payload(REG_1, BASE_NETWORK, IP_DADDR, 4), cmp(CMP_EQ, ipv4(m[1]!))] },
  {
    re: /^(tcp|udp|sctp) dport (\d+)\b/,
    build: (m) => [...protoIs(m[1]!), payload(REG_1, BASE_TRANSPORT, TH_DPORT, 2), cmp(CMP_EQ, port(m[2]!))],
  },
  {
    re: /^mark and (0x[0-9a-f]+) == 0\b/,
    build: (m) => [metaLoad(META_MARK, REG_1), bitwise(hostU32(Number(m[1])), hostU32(0), true), cmp(CMP_EQ, hostU32(0))],
  },
  {
    re: /^mark set mark (or|xor) (0x[0-9a-f]+)$/,
    build: (m) => {
      const bits = Number(m[2]);
      const mask = m[1] === "or" ? ~bits >>> 0 : 0xffffffff;
      return [metaLoad(META_MARK, REG_1), bitwise(hostU32(mask), hostU32(bits), true), ["meta", (b) => b.u32(2, META_MARK).u32(3, REG_1)]];
    },
  },
  {
    re: /^update @(\S+) \{ ip saddr \}$/,
    build: (m, ids) => [
      payload(REG_1, BASE_NETWORK, IP_SADDR, 4),
      [
        "dynset",
        (b) => {
          b.u32(4, REG_1).u32(3, DYNSET_OP_UPDATE).str(1, m[1]!);
          const id = ids(m[1]!);
          if (id !== undefined) b.u32(2, id);
        },
      ],
    ],
  },
  { re: /^masquerade fully-random$/, build: () => [["masq", (b) => b.u32(1, NF_NAT_RANGE_PROTO_RANDOM_FULLY)]] },
  // ICMP port unreachable, nft's `reject` in an ip table.
  { re: /^reject$/, build: () => [["reject", (b) => b.u32(1, 0).u8(2, 3)]] },
  { re: new RegExp(`^(jump|goto) ${NAME}$`), build: (m) => [immediateVerdict(`${m[1]} ${m[2]}`)] },
  { re: /^(return|drop|accept)$/, build: (m) => [immediateVerdict(m[1]!)] },
];

/** The expressions of one rule, and the anonymous map it declares, if any. Throws Unsupported. */
export function parseRule(text: string, ids: SetIds): ParsedRule {
  const rule: ParsedRule = { exprs: [] };
  let rest = text.trim();
  while (rest !== "") {
    let matched = false;
    for (const s of STATEMENTS) {
      const m = rest.match(s.re);
      if (!m) continue;
      rule.exprs.push(...s.build(m, ids, rule));
      rest = rest.slice(m[0].length).trimStart();
      matched = true;
      break;
    }
    if (!matched) throw new Unsupported(`rule: ${text}`);
  }
  return rule;
}

/** NFTA_RULE_EXPRESSIONS of a parsed rule. */
export function writeExpressions(b: NetlinkBatch, exprs: Expr[]): void {
  const list = b.open(4);
  for (const [name, write] of exprs) {
    const elem = b.open(1);
    b.str(1, name);
    const data = b.open(2);
    write(b);
    b.close(data);
    b.close(elem);
  }
  b.close(list);
}
