// Fast pod servers for the data-plane benchmarks: one Node process per pod (so pods do not
// share an event loop), keep-alive, a fixed small body, no per-request allocation beyond
// Node's own. `wrap` runs a pod inside a network namespace.
import { join } from "node:path";
import { startProcess, waitUntil, type Proc } from "./processes";

export const NODE_BIN = join(import.meta.dirname, "../node_modules/.bin/node");

const POD_SERVER = `
const http = require("node:http");
const [ip, port, name] = process.argv.slice(1);
const body = Buffer.from("pod " + name + "\\n");
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(Number(port), ip, () => console.log("listening"));
`;

export interface Pod {
  name: string;
  ip: string;
  port: number;
  url: string;
  proc: Proc;
}

export async function startPod(name: string, ip: string, port: number, wrap: string[] = []): Promise<Pod> {
  const proc = startProcess([...wrap, NODE_BIN, "-e", POD_SERVER, ip, String(port), name]);
  await waitUntil(`pod ${name} on ${ip}:${port}`, 10_000, () =>
    proc.output().includes("listening") ? true : proc.child.exitCode !== null ? Promise.reject(new Error(proc.output())) : undefined,
  );
  return { name, ip, port, url: `http://${ip}:${port}`, proc };
}
