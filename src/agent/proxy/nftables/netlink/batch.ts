// A netfilter netlink batch: BATCH_BEGIN, nf_tables messages, BATCH_END, written into 1 MiB
// chunks (a message never spans two), which one sendmsg gathers into one kernel message. The
// kernel runs the messages between BEGIN and END as one transaction (all or nothing), which
// is what keeps a full sync atomic. Chunks rather than one growing buffer: the batch of a
// full sync at 10,000 Services is about 7.5 MB, and doubling a buffer to that size would
// hold 12 MB at its peak, in an agent that counts its megabytes (docs/agent.md).
// Layout: linux/netlink.h (nlmsghdr, nlattr), linux/netfilter/nfnetlink.h (nfgenmsg).

const NLMSG_HDRLEN = 16;
const NFGENMSG_LEN = 4;
const NLA_HDRLEN = 4;
const NLA_F_NESTED = 0x8000;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFNL_SUBSYS_NFTABLES = 10;
/** NFPROTO_IPV4: the agent's table is `ip`. */
export const NFPROTO_IPV4 = 2;

/** nf_tables message types (linux/netfilter/nf_tables.h enum nf_tables_msg_types). */
export const NFT_MSG = {
  NEWTABLE: 0,
  DELTABLE: 2,
  NEWCHAIN: 3,
  DELCHAIN: 5,
  NEWRULE: 6,
  DELRULE: 8,
  NEWSET: 9,
  DELSET: 11,
  NEWSETELEM: 12,
} as const;

const align4 = (n: number): number => (n + 3) & ~3;
const CHUNK_BYTES = 1 << 20;
/** A message starts in a fresh chunk unless this much is left (element messages stay under 64 KiB). */
const MESSAGE_ROOM = 128 << 10;

export class NetlinkBatch {
  private readonly chunks: Buffer[] = [];
  private buf: Buffer;
  private off = 0;
  private seq: number;
  private msgStart = -1;
  /** Sequence number of each message, in order, so an error reply can name its message. */
  readonly messages: { seq: number; what: string }[] = [];

  constructor(firstSeq = 1) {
    this.buf = Buffer.alloc(CHUNK_BYTES);
    this.seq = firstSeq;
    this.header(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
    this.finishMessage("batch begin");
  }

  /** Where the writer is in the current chunk (offsets within one message stay valid). */
  get length(): number {
    return this.off;
  }

  /** A message grows its chunk if it must (a chunk holds many messages normally). */
  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  private header(type: number, flags: number, family: number, resId: number): void {
    if (this.buf.length - this.off < MESSAGE_ROOM) {
      this.chunks.push(this.buf.subarray(0, this.off));
      this.buf = Buffer.alloc(CHUNK_BYTES);
      this.off = 0;
    }
    this.ensure(NLMSG_HDRLEN + NFGENMSG_LEN);
    const b = this.buf;
    this.msgStart = this.off;
    b.writeUInt32LE(0, this.off);
    b.writeUInt16LE(type, this.off + 4);
    b.writeUInt16LE(flags, this.off + 6);
    b.writeUInt32LE(this.seq, this.off + 8);
    b.writeUInt32LE(0, this.off + 12);
    b.writeUInt8(family, this.off + 16);
    b.writeUInt8(0, this.off + 17);
    b.writeUInt16BE(resId, this.off + 18);
    this.off += NLMSG_HDRLEN + NFGENMSG_LEN;
  }

  private finishMessage(what: string): void {
    this.buf.writeUInt32LE(this.off - this.msgStart, this.msgStart);
    this.messages.push({ seq: this.seq++, what });
    this.msgStart = -1;
  }

  /** Starts an nf_tables message; its attributes follow, `end` closes it. */
  begin(msg: number, flags: number): this {
    if (this.msgStart >= 0) throw new Error("netlink batch: message not ended");
    this.header((NFNL_SUBSYS_NFTABLES << 8) | msg, flags, NFPROTO_IPV4, 0);
    return this;
  }

  end(what: string): void {
    this.finishMessage(what);
  }

  /** Drops what was written from `at` on (an attribute opened for an element that was not there). */
  truncate(at: number): void {
    this.off = at;
  }

  /** Drops the message begun last (nothing to send in it). */
  abandon(): void {
    this.off = this.msgStart;
    this.msgStart = -1;
  }

  /** Closes the batch and returns its chunks, in order. */
  finish(): Buffer[] {
    this.header(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
    this.finishMessage("batch end");
    return [...this.chunks, this.buf.subarray(0, this.off)];
  }

  bytes(type: number, data: Uint8Array): this {
    const len = NLA_HDRLEN + data.length;
    this.ensure(align4(len));
    this.buf.writeUInt16LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.set(data, this.off + NLA_HDRLEN);
    this.buf.fill(0, this.off + len, this.off + align4(len));
    this.off += align4(len);
    return this;
  }

  /** A NUL-terminated string attribute. */
  str(type: number, s: string): this {
    const n = Buffer.byteLength(s);
    const len = NLA_HDRLEN + n + 1;
    this.ensure(align4(len));
    this.buf.writeUInt16LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.write(s, this.off + NLA_HDRLEN);
    this.buf.fill(0, this.off + NLA_HDRLEN + n, this.off + align4(len));
    this.off += align4(len);
    return this;
  }

  /** A big-endian u32 attribute (netlink's nf_tables integers are network order). */
  u32(type: number, v: number): this {
    this.ensure(8);
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32BE(v >>> 0, this.off + 4);
    this.off += 8;
    return this;
  }

  u64(type: number, v: bigint): this {
    this.ensure(12);
    this.buf.writeUInt16LE(12, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeBigUInt64BE(v, this.off + 4);
    this.off += 12;
    return this;
  }

  /**
   * An attribute of `len` bytes (a multiple of 4) for the caller to fill in place, every
   * byte of it: returns its data offset in `buffer` (valid until the next write grows it).
   */
  reserve(type: number, len: number): number {
    const size = NLA_HDRLEN + len;
    this.ensure(size);
    this.buf.writeUInt16LE(size, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    const at = this.off + NLA_HDRLEN;
    this.off += size;
    return at;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  u8(type: number, v: number): this {
    return this.bytes(type, Uint8Array.of(v));
  }

  /** Opens a nested attribute; returns the token `close` needs. */
  open(type: number): number {
    this.ensure(NLA_HDRLEN);
    const at = this.off;
    this.buf.writeUInt16LE(type | NLA_F_NESTED, at + 2);
    this.off += NLA_HDRLEN;
    return at;
  }

  close(at: number): this {
    this.buf.writeUInt16LE(this.off - at, at);
    return this;
  }
}
