// The sockets of cluster DNS: one UDP socket and one TCP listener on the --dns-addr address.
// TCP carries length-prefixed messages (RFC 7766), several per connection and pipelined;
// connections are bounded in number and closed when idle. Whatever a client sends, the
// listener keeps serving: a bad message costs at most its own connection.
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { silentLogger, type Logger } from "../log";
import type { HostPort } from "./resolv-conf";
import { MAX_TCP_SIZE, type QueryHandler } from "./query-handler";

/** CoreDNS closes a TCP connection idle for 10 s (its read timeout). */
export const TCP_IDLE_TIMEOUT_MS = 10_000;
/** Open TCP connections at once; more are closed at accept. */
export const MAX_TCP_CONNECTIONS = 256;
/** Picks of a free port (listen port 0) before start() gives up: each pick is taken on UDP and TCP both. */
const PORT_0_ATTEMPTS = 10;

export interface DnsServerOptions {
  listen: HostPort;
  handler: QueryHandler;
  log?: Logger;
}

export class DnsServer {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<TcpSocket>();
  private readonly log: Logger;

  constructor(private readonly opts: DnsServerOptions) {
    this.log = (opts.log ?? silentLogger).with({ component: "dns" });
  }

  /** The bound UDP address (the port, when 0 was asked for). */
  get address(): HostPort {
    const a = this.udp!.address();
    return { host: a.address, port: a.port };
  }

  async start(): Promise<void> {
    // Port 0: UDP picks a free port and TCP takes the same number, which another program may hold
    // on TCP; then both are tried again with a new pick (a fixed port fails at once, as it should).
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.bind();
      } catch (e) {
        const retry = this.opts.listen.port === 0 && (e as NodeJS.ErrnoException).code === "EADDRINUSE" && attempt < PORT_0_ATTEMPTS;
        if (!retry) throw e;
      }
    }
  }

  private async bind(): Promise<void> {
    const { host, port } = this.opts.listen;
    const udp = createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    udp.on("message", (msg, rinfo) => this.onDatagram(udp, msg, rinfo.port, rinfo.address));
    udp.on("error", (e) => this.log.warn("udp socket error", { error: e }));
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, host, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    // TCP on the same port as UDP (when 0 was asked for, the one UDP got).
    const tcp = createServer((sock) => this.onConnection(sock));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(udp.address().port, host, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      throw e;
    }
    this.udp = udp;
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve()));
    this.tcp = undefined;
    this.udp = undefined;
  }

  private onDatagram(udp: Socket, msg: Buffer, port: number, address: string): void {
    const send = (out: Buffer | undefined) => {
      if (out) udp.send(out, port, address);
    };
    const r = this.opts.handler.handle(msg, "udp");
    if (r instanceof Promise) r.then(send, () => undefined);
    else send(r);
  }

  private onConnection(sock: TcpSocket): void {
    this.conns.add(sock);
    sock.setTimeout(TCP_IDLE_TIMEOUT_MS, () => sock.destroy());
    sock.on("close", () => this.conns.delete(sock));
    sock.on("error", () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const reply = (out: Buffer | undefined) => {
          if (!out || sock.destroyed) return;
          if (out.length > MAX_TCP_SIZE) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          sock.write(Buffer.concat([prefix, out]));
        };
        const r = this.opts.handler.handle(Buffer.from(msg), "tcp");
        if (r instanceof Promise) r.then(reply, () => undefined);
        else reply(r);
      }
    });
  }
}
