// One DNS exchange over TCP (RFC 7766): the query with its 2-byte length, then the reply's
// length and bytes. The forwarder falls back to it when an upstream's UDP answer is truncated.
import { connect } from "node:net";
import type { HostPort } from "./resolv-conf";

/** The reply's bytes, or undefined on a connection error, a timeout or a reply cut short. */
export function exchangeTcp(server: HostPort, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on("error", () => done(undefined));
    sock.on("connect", () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}
