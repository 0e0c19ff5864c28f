// One DNS message in, one out: decode (dns-packet), check, answer from the cluster records
// or the forwarder, encode, and fit the reply to the transport (RFC 1035 4.2.1: 512 bytes
// over UDP, or what EDNS0 allows, RFC 6891; TC set when the answer does not fit).
//
// Hot path: cluster answers for UDP are kept encoded, keyed by the query's bytes after its
// ID (flags, question, EDNS), and dropped whenever the records change; a hit costs one Map
// lookup and a copy with the new ID, no decode or encode. A malformed message gets FORMERR
// when it has a header to answer to, else it is dropped; nothing a client sends can throw
// out of here.
import * as dnsPacket from "dns-packet";
import type { Answer, DecodedPacket, Question } from "dns-packet";
import type { AgentMetrics } from "../metrics";
import { resolveCluster, soaRecord, type ClusterZone, type Resolution } from "./cluster-answer";
import type { ClusterRecords } from "./cluster-records";
import { EDNS_UDP_PAYLOAD, type Forwarder } from "./forwarder";
import { normalizeName, relativeToZone } from "./names";

/** RFC 1035 4.2.1: a UDP message without EDNS0 is at most 512 bytes. */
export const CLASSIC_UDP_SIZE = 512;
/** Largest DNS message over TCP (RFC 7766: the length prefix is 16 bits). */
export const MAX_TCP_SIZE = 65_535;
/** Queries waiting on an upstream at once; beyond it, REFUSED (as CoreDNS forward's max_concurrent). */
export const MAX_IN_FLIGHT = 1_000;
/** Encoded cluster answers kept (FIFO past this): 10,000 Services' A queries and then some. */
export const ANSWER_CACHE_ENTRIES = 20_000;
/** CNAMEs followed for one question (an ExternalName pointing at another, and so on). */
const MAX_CNAME_CHAIN = 8;
const HEADER_BYTES = 12;
/** RFC 6891 6.1.3: a version we do not implement gets BADVERS (extended rcode 16 = 1 << 4). */
const BADVERS_EXTENDED = 1;
const OPCODE_QUERY = 0;

export type Transport = "udp" | "tcp";

export interface QueryHandlerOptions {
  records: ClusterRecords;
  zone: ClusterZone;
  forwarder?: Forwarder;
  metrics: AgentMetrics;
  maxInFlight?: number;
  answerCacheEntries?: number;
}

const RCODE_NUMBER: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const KNOWN_CLASSES = new Set(["IN", "CS", "CH", "HS", "ANY"]);

interface Edns {
  present: boolean;
  version: number;
  payload: number;
  dnssecOk: boolean;
}

interface Reply {
  rcode: string;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  authoritative: boolean;
  /** Cluster answers that depend on nothing but the records: the UDP answer cache may keep them. */
  cacheable: boolean;
  badVersion?: boolean;
}

function ednsOf(query: DecodedPacket): Edns {
  const opt = (query.additionals ?? []).find((a) => a.type === "OPT") as { udpPayloadSize?: number; ednsVersion?: number; flags?: number } | undefined;
  if (!opt) return { present: false, version: 0, payload: CLASSIC_UDP_SIZE, dnssecOk: false };
  return {
    present: true,
    version: opt.ednsVersion ?? 0,
    payload: opt.udpPayloadSize ?? CLASSIC_UDP_SIZE,
    dnssecOk: ((opt.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0,
  };
}

/** What a reply may weigh: the client's EDNS0 size within [512, ours] over UDP (RFC 6891 6.2.5). */
const sizeLimit = (transport: Transport, edns: Edns): number =>
  transport === "tcp" ? MAX_TCP_SIZE : edns.present ? Math.min(Math.max(edns.payload, CLASSIC_UDP_SIZE), EDNS_UDP_PAYLOAD) : CLASSIC_UDP_SIZE;

export class QueryHandler {
  private readonly opts: QueryHandlerOptions;
  private readonly answerCache = new Map<string, { buf: Buffer; rcode: string }>();
  private cacheGeneration = -1;
  private inFlight = 0;
  private readonly requests: Record<Transport, { inc(by?: number): void }>;
  private readonly responses = new Map<string, { inc(by?: number): void }>();
  private readonly clusterHit: { inc(by?: number): void };
  private readonly clusterMiss: { inc(by?: number): void };

  constructor(opts: QueryHandlerOptions) {
    this.opts = opts;
    const m = opts.metrics;
    this.requests = { udp: m.dnsRequests.series({ proto: "udp" }), tcp: m.dnsRequests.series({ proto: "tcp" }) };
    this.clusterHit = m.dnsCacheHits.series({ cache: "cluster" });
    this.clusterMiss = m.dnsCacheMisses.series({ cache: "cluster" });
  }

  get pending(): number {
    return this.inFlight;
  }

  /** The reply to one message, or undefined to send nothing. Never throws. */
  handle(msg: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined> {
    this.requests[transport].inc();
    if (transport === "udp" && msg.length > HEADER_BYTES) {
      if (this.cacheGeneration !== this.opts.records.generation) {
        this.answerCache.clear();
        this.cacheGeneration = this.opts.records.generation;
      }
      const hit = this.answerCache.get(msg.toString("latin1", 2));
      if (hit) {
        this.clusterHit.inc();
        const out = Buffer.from(hit.buf);
        out.writeUInt16BE(msg.readUInt16BE(0), 0);
        this.countResponse(hit.rcode);
        return out;
      }
    }
    try {
      return this.slowPath(msg, transport);
    } catch {
      return this.formErr(msg);
    }
  }

  private countResponse(rcode: string): void {
    let s = this.responses.get(rcode);
    if (!s) this.responses.set(rcode, (s = this.opts.metrics.dnsResponses.series({ rcode })));
    s.inc();
  }

  /** FORMERR for a message with a readable header that is not a query we can parse; nothing for less (or for a response). */
  private formErr(msg: Buffer): Buffer | undefined {
    this.opts.metrics.dnsDropped.inc({ reason: "malformed" });
    if (msg.length < HEADER_BYTES || msg[2]! & 0x80) return undefined;
    const out = Buffer.alloc(HEADER_BYTES);
    out.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, the query's opcode and RD, RA, FORMERR.
    out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | 0x0080 | RCODE_NUMBER.FORMERR!, 2);
    this.countResponse("FORMERR");
    return out;
  }

  private slowPath(msg: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined> {
    if (msg.length < HEADER_BYTES || msg[2]! & 0x80) return this.formErr(msg);
    const query = dnsPacket.decode(msg);
    const edns = ednsOf(query);
    const q = query.questions?.[0];
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    if (opcode !== OPCODE_QUERY) return this.encode(query, edns, transport, this.bare("NOTIMP"), msg);
    if (!q || query.questions!.length !== 1) return this.formErr(msg);
    if (edns.present && edns.version !== 0) return this.encode(query, edns, transport, { ...this.bare("NOERROR"), badVersion: true }, msg);
    if (this.opts.forwarder?.sawOwnProbe(q.name)) {
      this.opts.metrics.dnsDropped.inc({ reason: "loop" });
      return this.encode(query, edns, transport, this.bare("REFUSED"), msg);
    }
    const klass = (q as { class?: string }).class ?? "IN";
    const name = normalizeName(q.name);
    if (klass !== "IN")
      return this.encode(
        query,
        edns,
        transport,
        this.bare(relativeToZone(name, this.opts.zone.zone) === undefined && KNOWN_CLASSES.has(klass) ? "REFUSED" : "NOTIMP"),
        msg,
      );
    const local = resolveCluster(this.opts.records, name, q.name, q.type, this.opts.zone);
    if (local && local.chase === undefined) {
      this.clusterMiss.inc();
      return this.encode(query, edns, transport, this.fromCluster(local), msg);
    }
    if (this.inFlight >= (this.opts.maxInFlight ?? MAX_IN_FLIGHT)) {
      this.opts.metrics.dnsDropped.inc({ reason: "overload" });
      return this.encode(query, edns, transport, this.bare("REFUSED"), msg);
    }
    this.inFlight++;
    const work = local ? this.followAlias(local, q, query) : this.forward(q, query);
    return work
      .then(
        (reply) => this.encode(query, edns, transport, reply, msg),
        () => this.encode(query, edns, transport, this.bare("SERVFAIL"), msg),
      )
      .finally(() => this.inFlight--);
  }

  private bare(rcode: string): Reply {
    return { rcode, answers: [], authorities: [], additionals: [], authoritative: false, cacheable: false };
  }

  private fromCluster(r: Resolution): Reply {
    return {
      rcode: r.rcode,
      answers: r.answers,
      authorities: r.negative ? [soaRecord(this.opts.zone, this.opts.records.serial)] : [],
      additionals: r.additionals,
      authoritative: true,
      cacheable: true,
    };
  }

  private async forward(q: Question, query: DecodedPacket): Promise<Reply> {
    const f = this.opts.forwarder;
    if (!f || f.upstreamCount === 0) return this.bare("REFUSED");
    const a = await f.resolve(q.name, q.type, "IN", ((query.flags ?? 0) & dnsPacket.CHECKING_DISABLED) !== 0);
    if (!a) return this.bare("SERVFAIL");
    return { rcode: a.rcode, answers: a.answers, authorities: a.authorities, additionals: a.additionals, authoritative: false, cacheable: false };
  }

  /** An ExternalName's CNAME, then its target's records of the asked type (RFC 1034 3.6.2), in the cluster or upstream. */
  private async followAlias(first: Resolution, q: Question, query: DecodedPacket): Promise<Reply> {
    const answers = [...first.answers];
    let target = first.chase;
    for (let i = 0; target !== undefined && i < MAX_CNAME_CHAIN; i++) {
      const local = resolveCluster(this.opts.records, target, target, q.type, this.opts.zone);
      if (local) {
        answers.push(...local.answers);
        if (local.chase !== undefined) {
          target = local.chase;
          continue;
        }
        const r = this.fromCluster(local);
        return { ...r, answers, cacheable: false };
      }
      const up = await this.forward({ ...q, name: target }, query);
      // No upstream to ask: the alias alone is the answer.
      if (up.rcode === "REFUSED" && !up.answers.length) return { ...this.bare("NOERROR"), answers, authoritative: true };
      return { ...up, answers: [...answers, ...up.answers], authoritative: true };
    }
    return { ...this.bare("SERVFAIL"), answers };
  }

  private encode(query: DecodedPacket, edns: Edns, transport: Transport, reply: Reply, msg: Buffer): Buffer {
    const q = query.questions?.[0];
    const flags =
      (reply.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
      ((query.flags ?? 0) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED | (0xf << 11))) |
      dnsPacket.RECURSION_AVAILABLE |
      (RCODE_NUMBER[reply.rcode] ?? 0);
    const opt = edns.present
      ? [
          {
            name: ".",
            type: "OPT",
            udpPayloadSize: EDNS_UDP_PAYLOAD,
            extendedRcode: reply.badVersion ? BADVERS_EXTENDED : 0,
            ednsVersion: 0,
            flags: 0,
            options: [],
          } as unknown as Answer,
        ]
      : [];
    const questions = q && KNOWN_CLASSES.has((q as { class?: string }).class ?? "IN") ? [q] : [];
    const packet = {
      type: "response" as const,
      id: query.id ?? 0,
      flags,
      questions,
      answers: reply.answers,
      authorities: reply.authorities,
      additionals: [...reply.additionals, ...opt],
    };
    const limit = sizeLimit(transport, edns);
    let out = dnsPacket.encode(packet);
    if (out.length > limit) {
      // RFC 2181 9: records left out of the additional section do not make a reply truncated.
      out = dnsPacket.encode({ ...packet, additionals: opt });
      if (out.length > limit)
        out = dnsPacket.encode({ ...packet, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: opt });
    }
    this.countResponse(reply.rcode);
    if (reply.cacheable && transport === "udp") {
      if (this.answerCache.size >= (this.opts.answerCacheEntries ?? ANSWER_CACHE_ENTRIES)) {
        const oldest = this.answerCache.keys().next().value;
        if (oldest !== undefined) this.answerCache.delete(oldest);
      }
      this.answerCache.set(msg.toString("latin1", 2), { buf: out, rcode: reply.rcode });
    }
    return out;
  }
}
