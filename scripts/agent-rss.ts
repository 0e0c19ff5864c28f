// Measures the memory of a real agent process (nftables backend) at N Services x E
// endpoints: starts the Worker (wrangler dev, on the root side of a veth pair into a
// throwaway namespace), creates selector-less Services and hand-written EndpointSlices
// through the admin API, runs the agent CLI inside the namespace (through scripts/agent.mjs,
// as `npm run agent` does), and reads its VmRSS and
// VmHWM from /proc once the first full sync is logged. A measuring script, not a test.
//
//   node --experimental-transform-types --disable-warning=ExperimentalWarning \
//     --import ./src/agent/ts-resolve.mjs scripts/agent-rss.ts [services] [--endpoints 10] [-- agent node flags]
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { SERVICE_NAME_LABEL } from "../src/api/types";
import { startLocalWorker } from "../test/e2e/local-worker";

const ROOT = resolve(import.meta.dirname, "..");
const argv = process.argv.slice(2);
const dashes = argv.indexOf("--");
const nodeFlags = dashes >= 0 ? argv.splice(dashes).slice(1) : [];
const epFlag = argv.indexOf("--endpoints");
const perService = epFlag >= 0 ? Number(argv.splice(epFlag, 2)[1]) : 10;
const count = Number(argv[0] ?? 10_000);
const NODE = "rss-node";
const HOST_IP = "198.18.200.1";
const NS_IP = "198.18.200.2";
/** Admin API writes in flight while filling the Worker. */
const CONCURRENCY = 32;
/** How long the agent may take to list and apply the first full sync. */
const FIRST_SYNC_TIMEOUT_MS = 300_000;

const id = randomBytes(3).toString("hex");
const netns = `svcedge-rss-${id}`;
const hostIf = `rss${id}h`;
execFileSync("ip", ["netns", "add", netns]);
const teardown: (() => Promise<void> | void)[] = [() => void execFileSync("ip", ["netns", "del", netns])];
try {
  execFileSync("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  execFileSync("ip", ["addr", "add", `${HOST_IP}/30`, "dev", hostIf]);
  execFileSync("ip", ["link", "set", hostIf, "up"]);
  for (const cmd of [["ip", "addr", "add", `${NS_IP}/30`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"], ["ip", "link", "set", "lo", "up"]]) execFileSync("ip", ["netns", "exec", netns, ...cmd]);

  const worker = await startLocalWorker({ ip: HOST_IP });
  teardown.unshift(() => worker.stop());
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${worker.url}${path}`, { method, headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const token = (await admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${NODE}/token`)).status.token;

  let t0 = performance.now();
  let next = 0;
  const create = async (s: number) => {
    const ns = "default";
    const name = `svc-${s}`;
    await admin("POST", `/api/v1/namespaces/${ns}/services`, { metadata: { name }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }], ...(s % 100 === 1 ? { sessionAffinity: "ClientIP" } : {}) } });
    const endpoints = [];
    for (let e = 0; e < perService; e++) {
      const n = s * perService + e;
      endpoints.push({ addresses: [`10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`], conditions: { ready: true }, nodeName: e % 3 === 0 ? NODE : "other-node" });
    }
    await admin("POST", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      metadata: { name: `${name}-hand`, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await create(next++);
  }));
  console.log(`created ${count} Services and EndpointSlices (${perService} endpoints each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const node = resolve(ROOT, "node_modules/.bin/node");
  // The launcher `npm run agent` uses; it builds the bundle if needed and execs Node on it,
  // with any extra node flags after its own.
  const agentArgs = [...nodeFlags, "scripts/agent.mjs", "--api", worker.url, "--node", NODE, "--node-ip", NS_IP, "--backend", "nftables"];
  t0 = performance.now();
  const agent = spawn("ip", ["netns", "exec", netns, node, ...agentArgs], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, SVCEDGE_TOKEN: token } });
  teardown.unshift(() => void agent.kill("SIGTERM"));
  const synced = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error("no full sync logged in time")), FIRST_SYNC_TIMEOUT_MS);
    let buffer = "";
    agent.stderr!.on("data", (d: Buffer) => {
      buffer += d;
      const line = buffer.split("\n").find((l) => l.includes('"synced"') && l.includes('"full"'));
      if (line) {
        clearTimeout(timer);
        done(line);
      }
    });
    agent.on("exit", (code) => fail(new Error(`agent exited (${code}): ${buffer.slice(-2000)}`)));
  });
  const firstSync = performance.now() - t0;
  // `ip netns exec` execs node and the launcher execs the bundle, so the pid is the agent's.
  const status = (field: string) => readFileSync(`/proc/${agent.pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1];
  const mb = (kb: string | undefined) => `${(Number(kb) / 1024).toFixed(0)} MB`;
  console.log(`agent started -> first full sync logged: ${(firstSync / 1000).toFixed(1)} s (${synced.match(/"ms":\d+/)?.[0] ?? ""})`);
  console.log(`agent after the first full sync: VmRSS ${mb(status("VmRSS"))}, VmHWM ${mb(status("VmHWM"))}`);
  // And once the garbage of the first sync has had time to go.
  await new Promise((r) => setTimeout(r, 5_000));
  console.log(`agent 5 s later: VmRSS ${mb(status("VmRSS"))}, VmHWM ${mb(status("VmHWM"))}`);
} finally {
  for (const step of teardown) {
    try {
      await step();
    } catch (e) {
      console.error(`teardown: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
