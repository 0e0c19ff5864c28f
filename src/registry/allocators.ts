// ClusterIP and NodePort allocation, collision-free because the single Registry
// Durable Object owns both, in its SQLite (a primary key per allocated value). Like kube-apiserver, each range is split into a
// static band (low end, for users who pick a value) and a dynamic band that random
// allocation prefers (KEP-3070, KEP-3668), falling back to the static band when full.
import { MAX_SERVICE_CIDR_HOST_BITS } from "../api/service-rules";
import { bigIntToIP, familyOf, formatIP, hasHostBits, ipToBigInt, parseCIDR, parseIP } from "../api/ip";

export class AllocationError extends Error {}

/** Random probes before a search for the first gap: allocation stays O(1) while a band is sparse. */
const RANDOM_PROBES = 8;

/**
 * A set of small integers [0, size) with random allocation from a preferred band, kept in
 * the Durable Object's SQLite (one row per allocated offset, unique by construction), so
 * nothing about it is rebuilt or held in memory.
 */
class Bitmap {
  private readonly staticSize: number;

  constructor(
    private readonly sql: SqlStorage,
    private readonly pool: string,
    readonly size: number,
    staticSize: number,
  ) {
    // A range smaller than its static band is all static (kube-apiserver's calculateRangeOffset).
    this.staticSize = Math.min(staticSize, size);
    sql.exec("CREATE TABLE IF NOT EXISTS allocations (pool TEXT NOT NULL, offset INTEGER NOT NULL, PRIMARY KEY (pool, offset)) WITHOUT ROWID");
  }

  has(i: number): boolean {
    return this.sql.exec("SELECT 1 FROM allocations WHERE pool = ? AND offset = ?", this.pool, i).toArray().length > 0;
  }
  take(i: number): void {
    this.sql.exec("INSERT OR IGNORE INTO allocations (pool, offset) VALUES (?, ?)", this.pool, i);
  }
  release(i: number): void {
    this.sql.exec("DELETE FROM allocations WHERE pool = ? AND offset = ?", this.pool, i);
  }
  /** Random free offset, dynamic band first. Returns -1 when the range is full. */
  allocateRandom(): number {
    return this.pick(this.staticSize, this.size) ?? this.pick(0, this.staticSize) ?? -1;
  }
  private pick(lo: number, hi: number): number | undefined {
    const n = hi - lo;
    if (n <= 0) return undefined;
    for (let k = 0; k < RANDOM_PROBES; k++) {
      const i = lo + Math.floor(Math.random() * n);
      if (!this.has(i)) return i;
    }
    // Crowded: the first gap after a random start, then from the band's start.
    const start = lo + Math.floor(Math.random() * n);
    return this.firstFree(start, hi) ?? this.firstFree(lo, start);
  }
  private firstFree(from: number, below: number): number | undefined {
    if (from >= below) return undefined;
    if (!this.has(from)) return from;
    const row = this.sql
      .exec<{ free: number }>(
        "SELECT a.offset + 1 AS free FROM allocations a WHERE a.pool = ?1 AND a.offset >= ?2 AND NOT EXISTS (SELECT 1 FROM allocations b WHERE b.pool = ?1 AND b.offset = a.offset + 1) ORDER BY a.offset LIMIT 1",
        this.pool,
        from,
      )
      .toArray()[0];
    return row && row.free < below ? row.free : undefined;
  }
}

export type IPFamily = "IPv4" | "IPv6";

/** One family's ClusterIPs: the offsets of a service CIDR, minus its network address (and, for IPv4, broadcast address). */
export class ClusterIPAllocator {
  readonly family: IPFamily;
  private readonly base: bigint;
  private readonly width: 4 | 16;
  private readonly bits: Bitmap;

  constructor(
    sql: SqlStorage,
    readonly cidr: string,
  ) {
    const parsed = parseCIDR(cidr);
    const width = parsed?.ip.bytes.length === 4 ? 4 : 16;
    const hostBits = width * 8 - (parsed?.prefix ?? 0);
    if (!parsed || hasHostBits(parsed) || hostBits < 2 || hostBits > (width === 4 ? 24 : MAX_SERVICE_CIDR_HOST_BITS))
      throw new Error(`invalid service CIDR ${cidr}`);
    this.family = width === 4 ? "IPv4" : "IPv6";
    this.width = width;
    // The network address is never handed out, nor is IPv4's broadcast address (kube-apiserver's NewAllocatorCIDRRange).
    this.base = ipToBigInt(parsed.ip.bytes) + 1n;
    const size = 2 ** hostBits - (width === 4 ? 2 : 1);
    // kube-apiserver: static band = min(max(16, size/16), 256).
    this.bits = new Bitmap(sql, `clusterip/${cidr}`, size, Math.min(Math.max(16, Math.floor(size / 16)), 256));
  }

  /** The allocator's offset of `ip`, when it is an address of this range. */
  private offset(ip: string): number | undefined {
    const parsed = parseIP(ip);
    if (!parsed || (familyOf(parsed) === 4) !== (this.width === 4)) return undefined;
    // An IPv4-mapped IPv6 address counts as IPv4, as in Go.
    const bytes = parsed.bytes.length === this.width ? parsed.bytes : parsed.bytes.slice(12);
    const off = ipToBigInt(bytes) - this.base;
    return off >= 0n && off < BigInt(this.bits.size) ? Number(off) : undefined;
  }

  isAllocated(ip: string): boolean {
    const off = this.offset(ip);
    return off !== undefined && this.bits.has(off);
  }

  /** Marks an IP already held by a stored Service (used when rebuilding state). */
  restore(ip: string): void {
    const off = this.offset(ip);
    if (off !== undefined) this.bits.take(off);
  }

  allocate(requested?: string): string {
    if (requested) {
      const off = this.offset(requested);
      if (off === undefined)
        throw new AllocationError(
          `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr}`,
        );
      if (this.bits.has(off)) throw new AllocationError(`failed to allocate IP ${requested}: provided IP is already allocated`);
      this.bits.take(off);
      return requested;
    }
    const off = this.bits.allocateRandom();
    if (off < 0) throw new AllocationError("failed to allocate a serviceIP: range is full");
    this.bits.take(off);
    return formatIP(bigIntToIP(this.base + BigInt(off), this.width));
  }

  release(ip: string): void {
    const off = this.offset(ip);
    if (off !== undefined) this.bits.release(off);
  }
}

export class NodePortAllocator {
  readonly min: number;
  readonly max: number;
  private readonly bits: Bitmap;

  constructor(
    sql: SqlStorage,
    readonly range: string,
  ) {
    const m = /^(\d+)-(\d+)$/.exec(range.trim());
    if (!m) throw new Error(`invalid node port range ${range}`);
    this.min = Number(m[1]);
    this.max = Number(m[2]);
    if (!(this.min >= 1 && this.max <= 65535 && this.min <= this.max)) throw new Error(`invalid node port range ${range}`);
    const size = this.max - this.min + 1;
    // kube-apiserver: static band = min(max(16, size/32), 128).
    this.bits = new Bitmap(sql, `nodeport/${range.trim()}`, size, Math.min(Math.max(16, Math.floor(size / 32)), 128));
  }

  isAllocated(port: number): boolean {
    return port >= this.min && port <= this.max && this.bits.has(port - this.min);
  }

  restore(port: number): void {
    if (port >= this.min && port <= this.max) this.bits.take(port - this.min);
  }

  allocate(requested?: number): number {
    if (requested) {
      if (requested < this.min || requested > this.max)
        throw new AllocationError(`provided port is not in the valid range. The range of valid ports is ${this.range}`);
      if (this.bits.has(requested - this.min)) throw new AllocationError("provided port is already allocated");
      this.bits.take(requested - this.min);
      return requested;
    }
    const off = this.bits.allocateRandom();
    if (off < 0) throw new AllocationError("range is full");
    this.bits.take(off);
    return this.min + off;
  }

  release(port: number): void {
    if (port >= this.min && port <= this.max) this.bits.release(port - this.min);
  }
}
