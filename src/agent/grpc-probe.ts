// The gRPC readiness probe (kubelet's pkg/probe/grpc): one grpc.health.v1.Health/Check call
// over cleartext HTTP/2 to the pod; success only when the answer is SERVING. The two
// protobuf messages are one string field in and one enum field out, so they are encoded by
// hand rather than through a gRPC library.
import { connect, constants } from "node:http2";

export interface GrpcProbeOutcome {
  result: "success" | "failure";
  message: string;
}

const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
/** grpc.health.v1.HealthCheckResponse.ServingStatus names, by number. */
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
const GRPC_UNIMPLEMENTED = 12;
/** A health answer is a few bytes; anything past this is not one. */
const MAX_RESPONSE_BYTES = 4096;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-prefixed gRPC message holding HealthCheckRequest{service}. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const message = name.length ? Buffer.concat([Buffer.from([0x0a, ...varint(name.length)]), name]) : Buffer.alloc(0);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** A protobuf varint at `at`: [value, the offset after it], or undefined when truncated. */
function readVarint(buf: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  for (let shift = 0; at < buf.length && shift < 35; shift += 7) {
    const b = buf[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, at];
  }
  return undefined;
}

/** The status number of a length-prefixed HealthCheckResponse, or undefined when it is not one. */
export function decodeHealthCheckResponse(frame: Buffer): number | undefined {
  if (frame.length < 5 || frame[0] !== 0) return undefined;
  const length = frame.readUInt32BE(1);
  const message = frame.subarray(5, 5 + length);
  if (message.length !== length) return undefined;
  let status = 0; // proto3: an absent enum field is 0 (UNKNOWN)
  for (let i = 0; i < message.length; ) {
    const tag = readVarint(message, i);
    if (!tag) return undefined;
    const field = readVarint(message, tag[1]);
    if (!field) return undefined;
    const wire = tag[0] & 7;
    if (wire === 0) {
      if (tag[0] >> 3 === 1) status = field[0];
      i = field[1];
    } else if (wire === 2) i = field[1] + field[0];
    else return undefined;
  }
  return status;
}

export function grpcHealthProbe(host: string, port: number, service: string, timeoutMs: number): Promise<GrpcProbeOutcome> {
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    let settled = false;
    const session = connect(`http://${address}`);
    const done = (o: GrpcProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ result: "failure", message: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` }), timeoutMs);
    let connected = false;
    const connectFailed = (why: string) =>
      done({ result: "failure", message: `timeout: failed to connect service "${address}" within ${timeoutMs / 1000}s: ${why}` });
    session.once("connect", () => (connected = true));
    session.on("error", (e: NodeJS.ErrnoException) =>
      connected ? done({ result: "failure", message: `error: health rpc probe failed: ${e.code ?? e.message}` }) : connectFailed(e.code ?? e.message),
    );
    session.once("close", () => connectFailed("connection closed"));
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: HEALTH_CHECK_PATH,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      te: "trailers",
      "user-agent": "kube-probe/svcedge",
    });
    const chunks: Buffer[] = [];
    let read = 0;
    let grpcStatus: number | undefined;
    let grpcMessage = "";
    const takeStatus = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) grpcStatus = Number(h["grpc-status"]);
      if (typeof h["grpc-message"] === "string") grpcMessage = decodeURIComponent(h["grpc-message"]);
    };
    stream.on("response", takeStatus); // trailers-only answers carry the status in the headers
    stream.on("trailers", takeStatus);
    stream.on("data", (b: Buffer) => {
      read += b.length;
      if (read > MAX_RESPONSE_BYTES) done({ result: "failure", message: "error: health rpc probe failed: response too large" });
      else chunks.push(b);
    });
    // Before the session connects, a stream error is the connection's: the session reports it.
    stream.on("error", (e: Error) => connected && done({ result: "failure", message: `error: health rpc probe failed: ${e.message}` }));
    stream.on("close", () => {
      if (!connected) return;
      if (grpcStatus === GRPC_UNIMPLEMENTED)
        return done({ result: "failure", message: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${grpcMessage}` });
      if (grpcStatus !== 0)
        return done({
          result: "failure",
          message: `error: health rpc probe failed: grpc-status ${grpcStatus ?? "missing"}${grpcMessage ? `: ${grpcMessage}` : ""}`,
        });
      const status = decodeHealthCheckResponse(Buffer.concat(chunks));
      if (status === undefined) return done({ result: "failure", message: "error: health rpc probe failed: malformed HealthCheckResponse" });
      if (status !== 1) return done({ result: "failure", message: `service unhealthy (responded with "${SERVING_STATUS[status] ?? status}")` });
      done({ result: "success", message: "SERVING" });
    });
    stream.end(encodeHealthCheckRequest(service));
  });
}
