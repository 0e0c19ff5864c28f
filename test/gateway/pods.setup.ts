// Global setup for the worker tests (runs in Node): real HTTP servers on loopback act
// as pods. Tests inside workerd reach them by port (`inject("pods")`) and can stop or
// restart one for real through a small control server (`inject("podControlPort")`).
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TestProject } from "vitest/node";

/** Pods every worker test may use. "victim*" pods are stopped by the passive-health tests; "guarded" counts requests that must never come (origin-guard.test.ts). */
export const POD_NAMES = ["a", "b", "c", "d", "e", "f", "victim1", "victim2", "victim3", "guarded"] as const;
export type PodName = (typeof POD_NAMES)[number];

declare module "vitest" {
  export interface ProvidedContext {
    /** Loopback port of each pod server. */
    pods: Record<PodName, number>;
    /** Control server: POST /stop/<pod> closes a pod's server (and its sockets), POST /start/<pod> reopens it on the same port. */
    podControlPort: number;
    /** A loopback port on which nothing listens: connections to it are refused. */
    refusedPort: number;
  }
}

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Upper bound on /slow delays so that a broken test cannot hold a socket for long. */
const MAX_SLOW_MS = 10_000;

interface Pod {
  name: PodName;
  port: number;
  server: Server;
  sockets: Set<Socket>;
  requests: number;
}

/** Answers every request with what the pod saw, or with a behaviour chosen by the path. */
function handle(pod: Pod, req: IncomingMessage, res: ServerResponse): void {
  pod.requests += 1;
  const url = new URL(req.url ?? "/", "http://pod");
  const path = url.pathname;
  res.setHeader("x-pod", pod.name);
  if (path === "/echo-body") {
    // Streams the body back as it arrives, counting bytes on the way.
    res.writeHead(200, { "content-type": "application/octet-stream", "x-request-content-length": req.headers["content-length"] ?? "" });
    req.pipe(res);
    return;
  }
  if (path === "/download") {
    const bytes = Math.min(Number(url.searchParams.get("bytes") ?? "0"), 16 * 1024 * 1024);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes) });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!res.write(part)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
    return;
  }
  if (path.startsWith("/status/")) {
    req.resume();
    res.writeHead(Number(path.slice("/status/".length)), { "content-type": "text/plain" });
    res.end(`status from ${pod.name}\n`);
    return;
  }
  if (path === "/reset") {
    // The request reached the pod, which then drops the connection without answering.
    req.socket.destroy();
    return;
  }
  if (path === "/hop-by-hop") {
    // A response that marks one of its own fields as hop-by-hop (RFC 9110 §7.6.1).
    req.resume();
    res.writeHead(200, { connection: "keep-alive, X-Pod-Hop", "x-pod-hop": "for this connection only", "keep-alive": "timeout=5", "x-pod-end-to-end": "kept" });
    res.end("hop\n");
    return;
  }
  if (path === "/redirect") {
    req.resume();
    res.writeHead(302, { location: "/elsewhere" });
    res.end();
    return;
  }
  if (path === "/slow") {
    const ms = Math.min(Number(url.searchParams.get("ms") ?? "0"), MAX_SLOW_MS);
    const timer = setTimeout(() => res.end(`slow ${pod.name}\n`), ms);
    res.on("close", () => clearTimeout(timer));
    req.resume();
    return;
  }
  if (path === "/count") {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ pod: pod.name, requests: pod.requests }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        pod: pod.name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString("utf8"),
      }),
    );
  });
}

/** A minimal RFC 6455 server side: handshake, then echo unfragmented text frames with a prefix. */
function upgradeWebSocket(pod: Pod, req: IncomingMessage, socket: Socket): void {
  const key = req.headers["sec-websocket-key"];
  if (req.headers.upgrade?.toLowerCase() !== "websocket" || typeof key !== "string") {
    socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    return;
  }
  const accept = createHash("sha1")
    .update(key + WEBSOCKET_GUID)
    .digest("base64");
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nx-pod: ${pod.name}\r\n\r\n`,
  );
  let buffered = Buffer.alloc(0);
  socket.on("data", (data: Buffer) => {
    buffered = Buffer.concat([buffered, data]);
    for (;;) {
      const frame = readClientFrame(buffered);
      if (!frame) return;
      buffered = buffered.subarray(frame.length);
      if (frame.opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0x00]));
        return;
      }
      if (frame.opcode === 0x1) socket.write(serverTextFrame(`${pod.name}:${frame.payload.toString("utf8")}`));
    }
  });
  socket.on("error", () => socket.destroy());
}

function readClientFrame(buf: Buffer): { opcode: number; payload: Buffer; length: number } | null {
  if (buf.length < 2) return null;
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  // Client frames are always masked (RFC 6455 §5.3).
  if (buf.length < offset + 4 + len) return null;
  const mask = buf.subarray(offset, offset + 4);
  const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + len));
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return { opcode, payload, length: offset + 4 + len };
}

function serverTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  if (payload.length < 126) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const head = Buffer.alloc(4);
  head[0] = 0x81;
  head[1] = 126;
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function makeServer(pod: Pod): Server {
  const server = createServer((req, res) => handle(pod, req, res));
  server.on("upgrade", (req, socket) => upgradeWebSocket(pod, req, socket as Socket));
  server.on("connection", (socket) => {
    pod.sockets.add(socket);
    socket.on("close", () => pod.sockets.delete(socket));
  });
  return server;
}

async function startPod(name: PodName, port = 0): Promise<Pod> {
  const pod: Pod = { name, port, server: undefined as unknown as Server, sockets: new Set(), requests: 0 };
  pod.server = makeServer(pod);
  pod.port = await listen(pod.server, port);
  return pod;
}

function stopPod(pod: Pod): Promise<void> {
  return new Promise((resolve) => {
    if (!pod.server.listening) return resolve();
    pod.server.close(() => resolve());
    for (const socket of pod.sockets) socket.destroy();
  });
}

async function reopenPod(pod: Pod): Promise<void> {
  if (pod.server.listening) return;
  pod.server = makeServer(pod);
  await listen(pod.server, pod.port);
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pods = new Map<PodName, Pod>();
  for (const name of POD_NAMES) pods.set(name, await startPod(name));

  const control = createServer((req, res) => {
    const [, verb, name] = (req.url ?? "").split("/");
    const pod = pods.get(name as PodName);
    req.resume();
    if (req.method !== "POST" || !pod || (verb !== "stop" && verb !== "start")) {
      res.writeHead(404).end();
      return;
    }
    const done = verb === "stop" ? stopPod(pod) : reopenPod(pod);
    done.then(
      () => res.writeHead(204).end(),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  const podControlPort = await listen(control, 0);

  project.provide("pods", Object.fromEntries([...pods].map(([name, pod]) => [name, pod.port])) as Record<PodName, number>);
  project.provide("podControlPort", podControlPort);
  project.provide("refusedPort", await freePort());

  return async () => {
    await Promise.all([...pods.values()].map(stopPod));
    await new Promise<void>((resolve) => control.close(() => resolve()));
  };
}
