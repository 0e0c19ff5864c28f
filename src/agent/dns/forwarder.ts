// Names outside the cluster go to the node's upstream resolvers, as CoreDNS's `forward`
// plugin sends them, with answers kept in a bounded cache as its `cache` plugin does:
// UDP first, TCP when the answer is truncated; the next upstream on a timeout; TTLs counted
// down on every cached hit. The agent never forwards to itself: upstreams that are its own
// listening address are dropped at start, and a probe query per upstream (CoreDNS's `loop`
// plugin) finds resolvers that send our queries back to us.
import { createSocket, type Socket } from "node:dgram";
import { randomBytes, randomInt } from "node:crypto";
import { networkInterfaces } from "node:os";
import * as dnsPacket from "dns-packet";
import type { Answer, DecodedPacket } from "dns-packet";
import { TtlMap } from "../../api/ttl-map";
import { silentLogger, type Logger } from "../log";
import type { HostPort } from "./resolv-conf";
import { normalizeName } from "./names";
import { exchangeTcp } from "./tcp-exchange";

/** CoreDNS forward's default read timeout per upstream try is 2 s. */
export const FORWARD_TIMEOUT_MS = 2_000;
/** kubeadm's Corefile: `cache 30`, so nothing is kept longer than 30 s. */
export const MAX_CACHE_TTL_SECONDS = 30;
/** Entries in the forward cache (CoreDNS's `cache` defaults to 9,984 per kind). */
export const FORWARD_CACHE_ENTRIES = 10_000;
/** The UDP payload we advertise upstream (DNS flag day 2020: 1232 avoids fragmentation). */
export const EDNS_UDP_PAYLOAD = 1232;

export interface ForwardAnswer {
  rcode: string;
  flags: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  fromCache: boolean;
}

export interface ForwarderOptions {
  upstreams: HostPort[];
  /** The agent's own DNS address: never an upstream. */
  self?: HostPort;
  timeoutMs?: number;
  cacheEntries?: number;
  log?: Logger;
  /** Seconds one upstream exchange took, and whether it answered. */
  onExchange?: (seconds: number, ok: boolean) => void;
  onCache?: (hit: boolean) => void;
}

interface Pending {
  resolve: (p: DecodedPacket | undefined) => void;
  name: string;
  type: string;
}

const localAddresses = (): Set<string> => {
  const out = new Set<string>(["127.0.0.1", "::1"]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
};

/** Whether `upstream` is the agent's own listener (the same address, or any local one when it listens on all). */
export function isSelf(upstream: HostPort, self: HostPort | undefined): boolean {
  if (!self || upstream.port !== self.port) return false;
  if (upstream.host === self.host) return true;
  return (self.host === "0.0.0.0" || self.host === "::") && localAddresses().has(upstream.host);
}

function cacheTtlSeconds(p: { rcode: string; answers: Answer[]; authorities: Answer[] }): number {
  if (p.rcode !== "NOERROR" && p.rcode !== "NXDOMAIN") return 0;
  let ttl = MAX_CACHE_TTL_SECONDS;
  if (p.answers.length) for (const a of p.answers) ttl = Math.min(ttl, (a as { ttl?: number }).ttl ?? 0);
  else {
    // RFC 2308 section 5: a negative answer lives as long as its SOA's TTL and minimum allow.
    const soa = p.authorities.find((a) => a.type === "SOA") as (Answer & { ttl?: number; data: { minimum?: number } }) | undefined;
    if (!soa) return 0;
    ttl = Math.min(ttl, soa.ttl ?? 0, soa.data.minimum ?? 0);
  }
  return Math.max(0, ttl);
}

const withTtlLess = (records: Answer[], seconds: number): Answer[] =>
  records.map((r) => ("ttl" in r && typeof r.ttl === "number" ? ({ ...r, ttl: Math.max(0, r.ttl - seconds) } as Answer) : r));

export class Forwarder {
  private upstreams: HostPort[];
  private readonly opts: ForwarderOptions;
  private readonly log: Logger;
  private readonly cache: TtlMap<{ answer: ForwardAnswer; storedAt: number }>;
  private readonly sockets = new Map<4 | 6, Socket>();
  private readonly pending = new Map<number, Pending>();
  private readonly loopProbes = new Map<string, HostPort>();
  private closed = false;

  constructor(opts: ForwarderOptions) {
    this.opts = opts;
    this.log = (opts.log ?? silentLogger).with({ component: "dns-forward" });
    this.upstreams = opts.upstreams.filter((u) => {
      if (!isSelf(u, opts.self)) return true;
      this.log.warn("dropping an upstream that is this server", { upstream: `${u.host}:${u.port}` });
      return false;
    });
    this.cache = new TtlMap(opts.cacheEntries ?? FORWARD_CACHE_ENTRIES);
  }

  get upstreamCount(): number {
    return this.upstreams.length;
  }

  /**
   * Asks every upstream for a random name no one else asks for (HINFO, as CoreDNS's
   * `loop`): if that name then reaches this server, the upstream sends our queries back.
   */
  probeForLoops(): void {
    for (const u of this.upstreams) {
      const name = `${randomBytes(8).toString("hex")}.${randomBytes(8).toString("hex")}.svcedge-loop-probe`;
      this.loopProbes.set(name, u);
      void this.exchangeWith(u, name, "HINFO" as never, false);
    }
  }

  /** Called for every query the server receives: true when it is our loop probe come back (the caller refuses it). */
  sawOwnProbe(name: string): boolean {
    const u = this.loopProbes.get(normalizeName(name));
    if (!u) return false;
    this.loopProbes.delete(normalizeName(name));
    this.upstreams = this.upstreams.filter((x) => x !== u);
    this.log.error("forwarding loop: an upstream sends our queries back to us; no longer forwarding to it", { upstream: `${u.host}:${u.port}` });
    return true;
  }

  /** The upstream's answer (or the cached one), or undefined when none answered. */
  async resolve(name: string, type: string, klass: string, checkingDisabled: boolean): Promise<ForwardAnswer | undefined> {
    const key = `${normalizeName(name)}|${type}|${klass}|${checkingDisabled ? 1 : 0}`;
    const hit = this.cache.get(key);
    this.opts.onCache?.(hit !== undefined);
    if (hit) {
      const age = Math.floor((Date.now() - hit.storedAt) / 1000);
      const a = hit.answer;
      return {
        ...a,
        answers: withTtlLess(a.answers, age),
        authorities: withTtlLess(a.authorities, age),
        additionals: withTtlLess(a.additionals, age),
        fromCache: true,
      };
    }
    for (const u of this.upstreams) {
      const started = performance.now();
      const packet = await this.exchangeWith(u, name, type, checkingDisabled, klass);
      this.opts.onExchange?.((performance.now() - started) / 1000, packet !== undefined);
      if (!packet) continue;
      const answer: ForwardAnswer = {
        rcode: (packet as { rcode?: string }).rcode ?? "NOERROR",
        flags: packet.flags ?? 0,
        answers: packet.answers ?? [],
        authorities: packet.authorities ?? [],
        additionals: (packet.additionals ?? []).filter((a) => a.type !== "OPT"),
        fromCache: false,
      };
      const ttl = cacheTtlSeconds(answer);
      if (ttl > 0) this.cache.set(key, { answer, storedAt: Date.now() }, ttl * 1000);
      return answer;
    }
    return undefined;
  }

  close(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
  }

  private socket(family: 4 | 6): Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = createSocket(family === 4 ? "udp4" : "udp6");
    s.on("message", (msg) => this.onMessage(msg));
    s.on("error", (e) => this.log.warn("upstream socket error", { error: e }));
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private onMessage(msg: Buffer): void {
    let packet: DecodedPacket;
    try {
      packet = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const p = this.pending.get(packet.id ?? -1);
    const q = packet.questions?.[0];
    // An answer must be to the question we asked (RFC 5452): anything else is ignored.
    if (!p || !q || normalizeName(q.name) !== normalizeName(p.name) || q.type !== p.type) return;
    this.pending.delete(packet.id!);
    p.resolve(packet);
  }

  private query(id: number, name: string, type: string, checkingDisabled: boolean, klass: string): Buffer {
    return dnsPacket.encode({
      type: "query",
      id,
      flags: dnsPacket.RECURSION_DESIRED | (checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
      questions: [{ name, type: type as never, class: klass as never }],
      additionals: [
        {
          name: ".",
          type: "OPT",
          udpPayloadSize: EDNS_UDP_PAYLOAD,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        } as unknown as Answer,
      ],
    });
  }

  private async exchangeWith(u: HostPort, name: string, type: string, checkingDisabled: boolean, klass = "IN"): Promise<DecodedPacket | undefined> {
    if (this.closed) return undefined;
    let id = randomInt(0, 65536);
    for (let i = 0; this.pending.has(id) && i < 16; i++) id = randomInt(0, 65536);
    if (this.pending.has(id)) return undefined;
    const timeoutMs = this.opts.timeoutMs ?? FORWARD_TIMEOUT_MS;
    const packet = await new Promise<DecodedPacket | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(id, {
        name,
        type,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
      this.socket(u.host.includes(":") ? 6 : 4).send(this.query(id, name, type, checkingDisabled, klass), u.port, u.host, (e) => {
        if (!e) return;
        this.pending.delete(id);
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    if (packet && (packet.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE)
      return this.exchangeTcp(u, this.query(id, name, type, checkingDisabled, klass), timeoutMs);
    return packet;
  }

  private async exchangeTcp(u: HostPort, query: Buffer, timeoutMs: number): Promise<DecodedPacket | undefined> {
    const reply = await exchangeTcp(u, query, timeoutMs);
    if (!reply) return undefined;
    try {
      return dnsPacket.decode(reply);
    } catch {
      return undefined;
    }
  }
}
