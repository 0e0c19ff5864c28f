// A full-sync transaction, as render.ts writes it for `nft -f`, compiled into one netlink
// batch by the agent itself: nft's parser and evaluation cost about 7 µs per map element
// (docs/agent.md), and a full sync at 10,000 Services holds about 150,000. The batch holds
// what nft 1.0.6 would send for the same text (the same messages, expressions and set
// userdata, so `nft list` prints the table back as written), and the kernel runs it as one
// transaction. Only the commands, declarations and rule shapes the renderer writes are
// known here; anything else throws Unsupported and the caller applies the text with nft.
import { endianness } from "node:os";
import { NFT_MSG, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST, NetlinkBatch } from "./batch";
import { ipv4, L4PROTO, l4proto, parseRule, Unsupported, writeExpressions, writeVerdict, type AnonymousVmap, type SetIds } from "./rules";
import type { ElementCommand, NftPiece } from "../element-list";

export { Unsupported } from "./rules";

// linux/netfilter/nf_tables.h
const NFT_SET_ANONYMOUS = 0x1;
const NFT_SET_CONSTANT = 0x2;
const NFT_SET_INTERVAL = 0x4;
const NFT_SET_MAP = 0x8;
const NFT_SET_TIMEOUT = 0x10;
const NFT_SET_EVAL = 0x20;
const NFT_SET_ELEM_INTERVAL_END = 0x1;
const NFT_DATA_VERDICT = 0xffffff00;
/** nft datatypes (nftables datatype.h): concatenations pack them 6 bits each. */
const TYPE_INTEGER = 4;
const TYPE_IPADDR = 7;
const TYPE_INET_PROTOCOL = 12;
const TYPE_INET_SERVICE = 13;
const concatType = (...types: number[]): number => types.reduce((acc, t) => (acc << 6) | t, 0);
/** An element message's elements stay under netlink's 64 KiB attribute length. */
const MAX_ELEMENTS_BYTES = 60_000;

/** How one key or data field is written: each is padded to 4 bytes in a concatenation. */
type Field = "ipv4" | "proto" | "port" | "index";

interface SetShape {
  flags: number;
  keyType: number;
  key: Field[];
  /** Map data: a verdict, or fields. */
  data?: "verdict" | Field[];
  dataType?: number;
  /** nft's set userdata (byte orders, typeof expressions) without the comment, as nft 1.0.6 writes it on a little-endian host. */
  udata: string;
  timeoutMs?: bigint;
}

const VERDICT_MAP_UDATA = "000400000000010400000000030800040d0000000100060400000000";
/**
 * The `typeof` userdata of an endpoint map: the key's and the data's expressions. The port's
 * expression names its protocol header (nft's proto_tcp, proto_udp, proto_sctp descriptions,
 * 8, 6 and 10), which appears once in the key and once in the data.
 */
const PORT_DESC = "0c000408000000010402";
const PROTO_DESC_IDS: Record<string, string> = { tcp: "08", udp: "06", sctp: "0a" };
const ENDPOINT_DATA_UDATA = "043400040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c000408000000010402000000060400000000";
const ENDPOINT_MAP_UDATA = {
  ip: `000400000000010400000000036000040d00000001580014000407000000010c00040c00000001040c000000010e00040900000001060004100000000214000407000000010c000408000000010402000000031a0004170000000112000401000000010401000000020400000000${ENDPOINT_DATA_UDATA}`,
  nodePort: `000400000000010400000000034a00040d0000000142000e00040900000001060004100000000114000407000000010c000408000000010402000000021a0004170000000112000401000000010401000000020400000000${ENDPOINT_DATA_UDATA}`,
};
const endpointUdata = (entry: "ip" | "nodePort", proto: string): string =>
  ENDPOINT_MAP_UDATA[entry].replaceAll(PORT_DESC, `0c0004${PROTO_DESC_IDS[proto]}000000010402`);
/** NFTNL_UDATA_SET_KEYBYTEORDER = big endian. */
const ADDRESS_SET_UDATA = "000402000000";

const endpointMapShapes = (proto: string): [string, SetShape][] => [
  [
    `map:typeof ip daddr . meta l4proto . ${proto} dport . numgen random mod 1 : ip daddr . ${proto} dport`,
    {
      flags: NFT_SET_MAP,
      keyType: concatType(TYPE_IPADDR, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_INTEGER),
      key: ["ipv4", "proto", "port", "index"],
      data: ["ipv4", "port"],
      dataType: concatType(TYPE_IPADDR, TYPE_INET_SERVICE),
      udata: endpointUdata("ip", proto),
    },
  ],
  [
    `map:typeof meta l4proto . ${proto} dport . numgen random mod 1 : ip daddr . ${proto} dport`,
    {
      flags: NFT_SET_MAP,
      keyType: concatType(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_INTEGER),
      key: ["proto", "port", "index"],
      data: ["ipv4", "port"],
      dataType: concatType(TYPE_IPADDR, TYPE_INET_SERVICE),
      udata: endpointUdata("nodePort", proto),
    },
  ],
];

/** The declarations the layout writes (layout.ts BASE_CONTAINERS and affinity sets), without their comments. */
const SHAPES = new Map<string, SetShape>([
  [
    "map:type ipv4_addr . inet_proto . inet_service : verdict",
    {
      flags: NFT_SET_MAP,
      keyType: concatType(TYPE_IPADDR, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE),
      key: ["ipv4", "proto", "port"],
      data: "verdict",
      dataType: NFT_DATA_VERDICT,
      udata: VERDICT_MAP_UDATA,
    },
  ],
  [
    "map:type inet_proto . inet_service : verdict",
    {
      flags: NFT_SET_MAP,
      keyType: concatType(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE),
      key: ["proto", "port"],
      data: "verdict",
      dataType: NFT_DATA_VERDICT,
      udata: VERDICT_MAP_UDATA,
    },
  ],
  ...Object.keys(PROTO_DESC_IDS).flatMap(endpointMapShapes),
  ["set:type ipv4_addr", { flags: 0, keyType: TYPE_IPADDR, key: ["ipv4"], udata: ADDRESS_SET_UDATA }],
  ["set:type ipv4_addr; flags interval", { flags: NFT_SET_INTERVAL, keyType: TYPE_IPADDR, key: ["ipv4"], udata: ADDRESS_SET_UDATA }],
  [
    "set:type ipv4_addr . ipv4_addr",
    { flags: 0, keyType: concatType(TYPE_IPADDR, TYPE_IPADDR), key: ["ipv4", "ipv4"], udata: "000400000000030800040d0000000100" },
  ],
]);
/** The anonymous map of `numgen random mod N vmap { … }`. */
const ANONYMOUS_VMAP_UDATA = "00040100000001040000000004080004010000000100060400000000";
const AFFINITY_SET = /^type ipv4_addr; flags dynamic,timeout; timeout (\d+)s$/;

function shapeOf(kind: string, definition: string): SetShape {
  const affinity = kind === "set" ? definition.match(AFFINITY_SET) : null;
  if (affinity) {
    return { flags: NFT_SET_TIMEOUT | NFT_SET_EVAL, keyType: TYPE_IPADDR, key: ["ipv4"], udata: ADDRESS_SET_UDATA, timeoutMs: BigInt(affinity[1]!) * 1000n };
  }
  const shape = SHAPES.get(`${kind}:${definition}`);
  if (!shape) throw new Unsupported(`${kind} declaration: ${definition}`);
  return shape;
}

const fieldBytes = (fields: Field[]): number => fields.length * 4;

/**
 * Parses `text[from, to)` as the concatenation `fields` ("a . b . c") straight into `out` at
 * `at`, each field padded to 4 bytes. Element text is most of a full sync (about 150,000
 * keys and values at 10,000 Services), so this reads characters instead of splitting strings.
 */
function writeConcat(out: Buffer, at: number, fields: Field[], text: string, from: number, to: number): void {
  let p = from;
  for (let f = 0; f < fields.length; f++) {
    if (f > 0) {
      if (text.charCodeAt(p) !== 32 || text.charCodeAt(p + 1) !== 46 || text.charCodeAt(p + 2) !== 32) throw bad(text, from, to);
      p += 3;
    }
    let end = text.indexOf(" ", p);
    if (end < 0 || end > to) end = to;
    const o = at + f * 4;
    // The field's padding must be zero; reserve() leaves the bytes as they were.
    out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
    switch (fields[f]!) {
      case "ipv4": {
        let octet = 0;
        let digits = 0;
        let part = 0;
        for (let i = p; i <= end; i++) {
          const c = i === end ? 46 : text.charCodeAt(i);
          if (c === 46) {
            if (digits === 0 || octet > 255 || part > 3) throw bad(text, from, to);
            out[o + part++] = octet;
            octet = 0;
            digits = 0;
          } else if (c >= 48 && c <= 57 && digits < 3) {
            octet = octet * 10 + c - 48;
            digits++;
          } else throw bad(text, from, to);
        }
        if (part !== 4) throw bad(text, from, to);
        break;
      }
      case "proto":
        out[o] = protoAt(text, p, end);
        break;
      case "port":
      case "index": {
        let v = 0;
        if (end === p || end - p > 10) throw bad(text, from, to);
        for (let i = p; i < end; i++) {
          const c = text.charCodeAt(i);
          if (c < 48 || c > 57) throw bad(text, from, to);
          v = v * 10 + c - 48;
        }
        if (fields[f] === "port") {
          if (v > 65535) throw bad(text, from, to);
          out[o] = v >> 8;
          out[o + 1] = v & 255;
        } else {
          if (v > 0xffffffff) throw bad(text, from, to);
          // Host byte order; the compiler runs on little-endian hosts only.
          out.writeUInt32LE(v, o);
        }
        break;
      }
    }
    p = end;
  }
  if (p !== to) throw bad(text, from, to);
}

/** The protocol named at `text[p, end)`, read without slicing a string per element. */
function protoAt(text: string, p: number, end: number): number {
  const n = end - p;
  const c = text.charCodeAt(p);
  if (n === 3 && c === 116 && text.startsWith("tcp", p)) return L4PROTO.tcp!;
  if (n === 3 && c === 117 && text.startsWith("udp", p)) return L4PROTO.udp!;
  return l4proto(text.slice(p, end));
}

const bad = (text: string, from: number, to: number) => new Unsupported(`element: ${text.slice(from, to)}`);

/** A set's element layout: its shape, the key's and data's sizes, and the key's fields before a trailing index. */
interface ElementShape {
  shape: SetShape;
  keyBytes: number;
  dataBytes: number;
  entryFields?: Field[];
}

interface Declared {
  shape: SetShape;
  id: number;
}

interface Block {
  comment?: string;
  sets: { kind: string; name: string; definition: string; comment?: string }[];
  chains: { name: string; hook?: string; rules: string[] }[];
}

const CHAIN_HOOK = /^type (nat|filter) hook (prerouting|input|forward|output|postrouting) priority (-?\d+); policy (accept|drop);$/;
const HOOKS: Record<string, number> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 };
const DECLARATION = /^(map|set) (\S+) \{ (.*?); (?:comment "([^"]*)"; )?\}$/;
/** A declaration's definition that ends with a size (layout.ts containerDefinition). */
const SIZED = /^(.*); size (\d+)$/;

/** Compiles nft transaction text (render.ts's full sync, in its pieces) into one batch. Throws Unsupported. */
export class TransactionCompiler {
  private readonly batch = new NetlinkBatch();
  private readonly sets = new Map<string, Declared>();
  private nextSetId = 1;
  private table: string | undefined;
  private block: Block | undefined;
  private chain: Block["chains"][number] | undefined;
  private readonly ids: SetIds = (name) => this.sets.get(name)?.id;

  constructor() {
    if (endianness() !== "LE") throw new Unsupported("set userdata is known for little-endian hosts only");
  }

  add(piece: NftPiece): void {
    if (typeof piece !== "string") return this.elementCommand(piece);
    for (const line of piece.split("\n")) if (line !== "") this.line(line);
  }

  finish(): CompiledBatch {
    if (this.block) throw new Unsupported("unterminated table block");
    const chunks = this.batch.finish();
    const messages = this.batch.messages;
    const first = messages[0]!.seq;
    return { chunks, length: chunks.reduce((n, c) => n + c.length, 0), describe: (seq) => messages[seq - first]?.what ?? `message ${seq}` };
  }

  private tableName(name: string): string {
    this.table ??= name;
    if (name !== this.table) throw new Unsupported(`a second table: ${name}`);
    return name;
  }

  private line(line: string): void {
    if (this.block) return this.blockLine(line);
    let m: RegExpMatchArray | null;
    if (line.startsWith("add element ip ")) {
      // Matched by hand: a regex capture would copy the element list of 1,000 elements.
      m = line.slice(0, 300).match(/^add element ip (\S+) (\S+) \{ /);
      if (!m || !line.endsWith(" }")) throw new Unsupported(`command: ${line.slice(0, 200)}`);
      this.tableName(m[1]!);
      return this.elements(m[2]!, line, m[0].length, line.length - 2);
    }
    if ((m = line.match(/^(add|delete|flush) table ip (\S+)$/))) {
      const table = this.tableName(m[2]!);
      if (m[1] === "add") this.batch.begin(NFT_MSG.NEWTABLE, NLM_F_REQUEST).str(1, table).u32(2, 0).end(line);
      else if (m[1] === "delete") {
        this.batch.begin(NFT_MSG.DELTABLE, NLM_F_REQUEST).str(1, table).end(line);
        this.sets.clear();
      } else this.batch.begin(NFT_MSG.DELRULE, NLM_F_REQUEST).str(1, table).end(line);
      return;
    }
    if ((m = line.match(/^delete (map|set|chain) ip (\S+) (\S+)$/))) {
      const table = this.tableName(m[2]!);
      if (m[1] === "chain") this.batch.begin(NFT_MSG.DELCHAIN, NLM_F_REQUEST).str(1, table).str(3, m[3]!).end(line);
      else {
        this.batch.begin(NFT_MSG.DELSET, NLM_F_REQUEST).str(1, table).str(2, m[3]!).end(line);
        this.sets.delete(m[3]!);
      }
      return;
    }
    if ((m = line.match(/^table ip (\S+) \{$/))) {
      this.tableName(m[1]!);
      this.block = { sets: [], chains: [] };
      return;
    }
    throw new Unsupported(`command: ${line.slice(0, 200)}`);
  }

  private blockLine(line: string): void {
    const block = this.block!;
    if (this.chain) {
      if (line === "\t}") this.chain = undefined;
      else if (line.startsWith("\t\t")) {
        const text = line.slice(2);
        if (this.chain.rules.length === 0 && this.chain.hook === undefined && text.startsWith("type ")) this.chain.hook = text;
        else this.chain.rules.push(text);
      } else throw new Unsupported(`chain line: ${line}`);
      return;
    }
    let m: RegExpMatchArray | null;
    if (line === "}") return this.emitBlock();
    if ((m = line.match(/^\tcomment "([^"]*)"$/))) block.comment = m[1]!;
    else if ((m = line.match(/^\tchain (\S+) \{$/))) block.chains.push((this.chain = { name: m[1]!, rules: [] }));
    else if ((m = line.slice(1).match(DECLARATION)) && line.startsWith("\t")) {
      const set = { kind: m[1]!, name: m[2]!, definition: m[3]! };
      block.sets.push(m[4] === undefined ? set : { ...set, comment: m[4] });
    } else throw new Unsupported(`table block line: ${line.slice(0, 200)}`);
  }

  /** A table block, in nft's order: the table, its chains, its sets, then the chains' rules. */
  private emitBlock(): void {
    const block = this.block!;
    this.block = undefined;
    const table = this.table!;
    const b = this.batch.begin(NFT_MSG.NEWTABLE, NLM_F_REQUEST).str(1, table).u32(2, 0);
    if (block.comment !== undefined) b.bytes(6, udataString(0, block.comment));
    b.end(`table ${table}`);
    for (const chain of block.chains) {
      b.begin(NFT_MSG.NEWCHAIN, NLM_F_REQUEST | NLM_F_CREATE)
        .str(1, table)
        .str(3, chain.name);
      if (chain.hook !== undefined) {
        const h = chain.hook.match(CHAIN_HOOK);
        if (!h) throw new Unsupported(`chain: ${chain.hook}`);
        b.str(7, h[1]!).u32(5, h[4] === "accept" ? 1 : 0);
        const hook = b.open(4);
        b.u32(1, HOOKS[h[2]!]!).u32(2, Number(h[3]));
        b.close(hook);
      }
      b.end(`chain ${chain.name}`);
    }
    for (const set of block.sets) this.declare(set.kind, set.name, set.definition, set.comment);
    for (const chain of block.chains) for (const rule of chain.rules) this.rule(chain.name, rule);
  }

  private declare(kind: string, name: string, definition: string, comment: string | undefined): void {
    const sized = definition.match(SIZED);
    const shape = shapeOf(kind, sized ? sized[1]! : definition);
    const id = this.nextSetId++;
    const b = this.batch
      .begin(NFT_MSG.NEWSET, NLM_F_REQUEST | NLM_F_CREATE)
      .str(1, this.table!)
      .str(2, name);
    b.u32(3, shape.flags).u32(4, shape.keyType).u32(5, fieldBytes(shape.key));
    if (shape.data !== undefined) b.u32(6, shape.dataType!).u32(7, shape.data === "verdict" ? 0 : fieldBytes(shape.data));
    if (sized) {
      // NFTA_SET_DESC { NFTA_SET_DESC_SIZE }, as nft sends `size N`.
      const desc = b.open(9);
      b.u32(1, Number(sized[2]));
      b.close(desc);
    }
    b.u32(10, id);
    if (shape.timeoutMs !== undefined) b.u64(11, shape.timeoutMs);
    const udata = Buffer.from(shape.udata, "hex");
    b.bytes(13, comment === undefined ? udata : Buffer.concat([udata, udataString(7, comment)]));
    b.end(`${kind} ${name}`);
    this.sets.set(name, { shape, id });
  }

  private rule(chain: string, text: string): void {
    const parsed = parseRule(text, this.ids);
    if (parsed.anonymous) this.anonymousVmap(parsed.anonymous);
    const b = this.batch
      .begin(NFT_MSG.NEWRULE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND)
      .str(1, this.table!)
      .str(2, chain);
    writeExpressions(b, parsed.exprs);
    b.end(`rule in ${chain}: ${text}`);
  }

  private anonymousVmap(map: AnonymousVmap): void {
    const id = this.nextSetId++;
    const table = this.table!;
    const b = this.batch
      .begin(NFT_MSG.NEWSET, NLM_F_REQUEST | NLM_F_CREATE)
      .str(1, table)
      .str(2, "__map%d");
    b.u32(3, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP)
      .u32(4, TYPE_INTEGER)
      .u32(5, 4)
      .u32(6, NFT_DATA_VERDICT)
      .u32(7, 0)
      .u32(10, id);
    const desc = b.open(9);
    b.u32(1, map.keys.length);
    b.close(desc);
    b.bytes(13, Buffer.from(ANONYMOUS_VMAP_UDATA, "hex")).end("anonymous vmap");
    this.sets.set("__map%d", { shape: { flags: 0, keyType: TYPE_INTEGER, key: ["index"], data: "verdict", udata: "" }, id });
    let i = 0;
    this.elementMessages("__map%d", (b) => {
      if (i >= map.keys.length) return false;
      const key = b.open(1);
      b.bytes(1, map.keys[i]!);
      b.close(key);
      writeVerdict(b, 2, map.verdicts[i++]!);
      return true;
    });
  }

  /** The set `name` of this transaction, with what its elements are made of. */
  private elementShape(name: string): ElementShape {
    const declared = this.sets.get(name);
    if (!declared) throw new Unsupported(`elements of a set not declared in this transaction: ${name}`);
    const { shape } = declared;
    const last = shape.key.length - 1;
    return {
      shape,
      keyBytes: fieldBytes(shape.key),
      dataBytes: Array.isArray(shape.data) ? fieldBytes(shape.data) : 0,
      ...(shape.key[last] === "index" ? { entryFields: shape.key.slice(0, last) } : {}),
    };
  }

  /**
   * One element: its key from `key[keyFrom, keyTo)` (then `index` as its last field when
   * index ≥ 0) and, in a map, its value from `value[valueFrom, valueTo)`.
   */
  private writeElement(
    b: NetlinkBatch,
    el: ElementShape,
    key: string,
    keyFrom: number,
    keyTo: number,
    index: number,
    value: string,
    valueFrom: number,
    valueTo: number,
  ): void {
    const { shape } = el;
    const keyAttr = b.open(1);
    const keyAt = b.reserve(1, el.keyBytes);
    if (index < 0) writeConcat(b.buffer, keyAt, shape.key, key, keyFrom, keyTo);
    else {
      if (!el.entryFields) throw new Unsupported(`an index in a key of ${shape.key.join(" . ")}`);
      writeConcat(b.buffer, keyAt, el.entryFields, key, keyFrom, keyTo);
      // Host byte order, as writeConcat writes an index.
      b.buffer.writeUInt32LE(index, keyAt + el.entryFields.length * 4);
    }
    b.close(keyAttr);
    const data = shape.data;
    if (data === "verdict") writeVerdict(b, 2, value.slice(valueFrom, valueTo));
    else if (data !== undefined) {
      const valueAttr = b.open(2);
      const valueAt = b.reserve(1, el.dataBytes);
      writeConcat(b.buffer, valueAt, data, value, valueFrom, valueTo);
      b.close(valueAttr);
    }
  }

  /** `add element` items, `text[from, to)` separated by ", ", read in place (no strings per element). */
  private elements(name: string, text: string, from: number, to: number): void {
    const el = this.elementShape(name);
    if (el.shape.flags & NFT_SET_INTERVAL) return this.intervalElements(name, text.slice(from, to).split(", "));
    const isMap = el.shape.data !== undefined;
    let at = from;
    this.elementMessages(name, (b) => {
      if (at >= to) return false;
      let end = text.indexOf(", ", at);
      if (end < 0 || end > to) end = to;
      const start = at;
      at = end + 2;
      let sep = end;
      if (isMap) {
        sep = text.indexOf(" : ", start);
        if (sep < 0 || sep > end) throw new Unsupported(`map element without data: ${text.slice(start, end)}`);
      }
      this.writeElement(b, el, text, start, sep, -1, text, sep + 3, end);
      return true;
    });
  }

  /** An `add element` command given as data (render.ts's full sync): the messages its text would compile to. */
  private elementCommand(cmd: ElementCommand): void {
    const m = cmd.table.match(/^ip (\S+)$/);
    if (this.block || !m) throw new Unsupported(`command: add element ${cmd.table} ${cmd.container}`);
    this.tableName(m[1]!);
    const { list, from, to, container } = cmd;
    const el = this.elementShape(container);
    if (el.shape.flags & NFT_SET_INTERVAL) {
      const items: string[] = [];
      for (let i = from; i < to; i++) items.push(list.key(i));
      return this.intervalElements(container, items);
    }
    const isMap = el.shape.data !== undefined;
    if (isMap && list.values.length === 0) throw new Unsupported(`map elements without data: ${container}`);
    let i = from;
    this.elementMessages(container, (b) => {
      if (i >= to) return false;
      const entry = list.entries[i]!;
      const value = isMap ? list.values[i]! : "";
      this.writeElement(b, el, entry, 0, entry.length, list.indexes[i]!, value, 0, value.length);
      i++;
      return true;
    });
  }

  /**
   * An interval set's elements as nft sends them: the start of each range, and an
   * end-of-interval element just past it; a first range that does not start at 0.0.0.0 is
   * preceded by an end element at 0.0.0.0. Touching ranges keep both the end of one and the
   * start of the next, as nft sends them; ranges that overlap (nft merges or refuses them)
   * and ranges that reach 255.255.255.255 are left to nft.
   */
  private intervalElements(name: string, items: string[]): void {
    const ranges = items
      .map((item) => {
        const [addr, len = "32"] = item.split("/");
        const bits = Number(len);
        if (!/^\d+$/.test(len) || bits < 1 || bits > 32) throw new Unsupported(`prefix: ${item}`);
        const start = ipv4(addr!).readUInt32BE(0);
        const size = 2 ** (32 - bits);
        if (start % size !== 0) throw new Unsupported(`prefix with host bits: ${item}`);
        return [start, start + size] as const;
      })
      .sort((a, b) => a[0] - b[0]);
    const out: { key: Buffer; flags?: number }[] = [];
    const addr = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v);
      return b;
    };
    for (let i = 0; i < ranges.length; i++) {
      const [start, end] = ranges[i]!;
      if (end > 0xffffffff || (i > 0 && start < ranges[i - 1]![1])) throw new Unsupported(`interval set ranges nft would merge: ${items.join(", ")}`);
      if (i === 0 && start !== 0) out.push({ key: addr(0), flags: NFT_SET_ELEM_INTERVAL_END });
      out.push({ key: addr(start) }, { key: addr(end), flags: NFT_SET_ELEM_INTERVAL_END });
    }
    let i = 0;
    this.elementMessages(name, (b) => {
      const el = out[i++];
      if (!el) return false;
      if (el.flags !== undefined) b.u32(3, el.flags);
      const key = b.open(1);
      b.bytes(1, el.key);
      b.close(key);
      return true;
    });
  }

  /**
   * NEWSETELEM messages for the elements `writeNext` writes (one element's attributes per
   * call, false when there are no more), split to keep each message's list under
   * netlink's 64 KiB attribute length.
   */
  private elementMessages(name: string, writeNext: (b: NetlinkBatch) => boolean): void {
    const id = this.sets.get(name)!.id;
    const b = this.batch;
    for (let more = true; more; ) {
      b.begin(NFT_MSG.NEWSETELEM, NLM_F_REQUEST | NLM_F_CREATE)
        .str(1, this.table!)
        .str(2, name)
        .u32(4, id);
      const list = b.open(3);
      const start = b.length;
      let n = 0;
      while (b.length - start < MAX_ELEMENTS_BYTES) {
        const at = b.open(++n);
        if (!writeNext(b)) {
          more = false;
          b.truncate(at);
          n--;
          break;
        }
        b.close(at);
      }
      if (n === 0) {
        b.abandon();
        return;
      }
      b.close(list);
      b.end(`elements of ${name}`);
    }
  }
}

/** A libnftnl userdata string: type, length (with the NUL), bytes. */
function udataString(type: number, s: string): Buffer {
  const bytes = Buffer.from(`${s}\0`);
  if (bytes.length > 255) throw new Unsupported(`comment too long: ${s}`);
  return Buffer.concat([Buffer.of(type, bytes.length), bytes]);
}

export interface CompiledBatch {
  /** The batch's bytes, in pieces that one sendmsg gathers. */
  chunks: Buffer[];
  length: number;
  /** The nft command a message (by sequence number) came from, for error text. */
  describe: (seq: number) => string;
}

/** The whole transaction as one batch. Throws Unsupported when any part of it is not known here. */
export function compileNftTransaction(pieces: Iterable<NftPiece>): CompiledBatch {
  const compiler = new TransactionCompiler();
  for (const piece of pieces) compiler.add(piece);
  return compiler.finish();
}
