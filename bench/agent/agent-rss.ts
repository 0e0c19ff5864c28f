// The memory of a real agent process (nftables backend) at N Services x E endpoints: the
// Worker (wrangler dev) on the root side of a veth pair into a throwaway namespace,
// selector-less Services and hand-written EndpointSlices created through the admin API, the
// agent CLI inside the namespace (through scripts/agent.mjs, as `npm run agent`), and its
// VmRSS and VmHWM (peak) from /proc once the first full sync is logged, and again SETTLE_MS
// later. Every wait is bounded; the Worker and the agent end with this process.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAME_LABEL } from "../../src/api/types";
import { startLocalWorker, type LocalWorker } from "../../test/e2e/local-worker";
import { mustRun, NetnsLab } from "../../scripts/lab/netns";
import { NODE_BIN } from "../pods";
import { startProcess, type Proc } from "../processes";
import { endpointIP } from "./cluster";
import { BENCH_NETNS_PREFIX } from "./netns";

const ROOT = join(import.meta.dirname, "../..");
const NODE = "rss-node";
/** The veth pair between the root namespace (the Worker) and the agent's namespace. */
const HOST_IP = "198.18.200.1";
const AGENT_IP = "198.18.200.2";
const PREFIX_LEN = 30;
/** Admin API writes in flight while filling the Worker. */
const CONCURRENCY = 32;
/** VmHWM sampling while the agent starts, to place its peak. */
const SAMPLE_INTERVAL_MS = 20;
const PEAK_SLACK_MB = 1;
/** How long the garbage of the first sync is given before the second reading. */
export const SETTLE_MS = 5_000;

export interface AgentRssOptions {
  services: number;
  endpointsPerService: number;
  /** Bound on creating the objects through the admin API. */
  createTimeoutMs: number;
  /** Bound on the agent's start-up and first full sync. */
  firstSyncTimeoutMs: number;
  /** Extra Node flags for the agent, before the launcher. */
  nodeFlags?: string[];
  /** Extra agent flags (bench/dns.ts: cluster DNS on); `{agentIP}` stands for the agent's address. */
  agentArgs?: string[];
  log?: (msg: string) => void;
}

export interface AgentRssResult {
  services: number;
  endpointsPerService: number;
  createS: number;
  /** Agent start to the first full sync logged. */
  startToSyncS: number;
  /** The full sync itself, as the agent logged it (it ended just before it was logged). */
  firstSyncMs: number;
  /** When the peak was reached, from the agent's start (within a sampling interval). */
  peakAtS: number;
  afterSync: { vmRssMb: number; vmHwmMb: number };
  later: { vmRssMb: number; vmHwmMb: number };
}

/** Seconds since t0. */
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

export async function measureAgentRss(opts: AgentRssOptions): Promise<AgentRssResult> {
  const log = opts.log ?? (() => {});
  const lab = NetnsLab.create(BENCH_NETNS_PREFIX);
  let worker: LocalWorker | undefined;
  let agent: Proc | undefined;
  try {
    const netns = await lab.addNamespace("rss");
    await vethIntoNamespace(lab, netns);
    // The Worker is a process group of its own (wrangler, workerd): a parent-death signal
    // stops it even when this process is killed without running its exit hooks.
    worker = await startLocalWorker({ ip: HOST_IP, wrap: ["setpriv", "--pdeathsig", "TERM", "--"] });
    const admin = adminClient(worker);
    const token = (await admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${NODE}/token`)).status.token;

    let t0 = performance.now();
    await createObjects(admin, opts);
    const createS = seconds(t0);
    log(`agent rss: created ${opts.services} Services and EndpointSlices in ${createS.toFixed(1)} s`);

    const argv = [
      NODE_BIN,
      ...(opts.nodeFlags ?? []),
      "scripts/agent.mjs",
      "--api",
      worker.url,
      "--node",
      NODE,
      "--node-ip",
      AGENT_IP,
      "--backend",
      "nftables",
      ...(opts.agentArgs ?? []).map((a) => a.replace("{agentIP}", AGENT_IP)),
    ];
    t0 = performance.now();
    const started = startProcess(["ip", "netns", "exec", netns, ...argv], { cwd: ROOT, env: { SVCEDGE_TOKEN: token } });
    agent = started;
    // `ip netns exec` execs node, and the launcher execs the bundle: the pid is the agent's.
    const { line: synced, peakAtS } = await watchStartUp(started, opts.firstSyncTimeoutMs);
    const startToSyncS = seconds(t0);
    const firstSyncMs = Number(synced.match(/"ms":(\d+)/)?.[1] ?? NaN);
    const afterSync = memory(started.child.pid!);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const later = memory(started.child.pid!);
    return { services: opts.services, endpointsPerService: opts.endpointsPerService, createS, startToSyncS, firstSyncMs, peakAtS, afterSync, later };
  } finally {
    await agent?.stop();
    await worker?.stop();
    await lab.destroy();
  }
}

const lastLine = (text: string): string => text.trim().split("\n").slice(-1)[0] ?? "";

/**
 * Waits for the agent's first full sync to be logged, sampling its VmHWM meanwhile, and
 * tells when the peak (to within PEAK_SLACK_MB) was reached, in seconds from the start.
 */
async function watchStartUp(agent: Proc, timeoutMs: number): Promise<{ line: string; peakAtS: number }> {
  const t0 = performance.now();
  const samples: { atS: number; hwmMb: number }[] = [];
  for (;;) {
    try {
      samples.push({ atS: seconds(t0), hwmMb: memory(agent.child.pid!).vmHwmMb });
    } catch {
      // Not started yet, or gone (the exit check below says so).
    }
    const line = agent
      .output()
      .split("\n")
      .find((l) => l.includes('"synced"') && l.includes('"full"'));
    if (line) {
      const final = memory(agent.child.pid!).vmHwmMb;
      const peak = samples.find((s) => s.hwmMb >= final - PEAK_SLACK_MB);
      return { line, peakAtS: peak?.atS ?? seconds(t0) };
    }
    if (agent.child.exitCode !== null) throw new Error(`agent exited ${agent.child.exitCode}: ${lastLine(agent.output())}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`no full sync logged within ${timeoutMs / 1000} s: ${lastLine(agent.output())}`);
    await new Promise((r) => setTimeout(r, SAMPLE_INTERVAL_MS));
  }
}

/** A veth pair from the root namespace into the lab's; deleting the namespace deletes both ends. */
async function vethIntoNamespace(lab: NetnsLab, netns: string): Promise<void> {
  // IFNAMSIZ: at most 15 characters.
  const hostIf = `sebr${randomBytes(3).toString("hex")}`;
  await mustRun(["ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  await mustRun(["ip", "addr", "add", `${HOST_IP}/${PREFIX_LEN}`, "dev", hostIf]);
  await mustRun(["ip", "link", "set", hostIf, "up"]);
  await lab.must("rss", ["ip", "addr", "add", `${AGENT_IP}/${PREFIX_LEN}`, "dev", "eth0"]);
  await lab.must("rss", ["ip", "link", "set", "eth0", "up"]);
}

type Admin = <T>(method: string, path: string, body?: unknown) => Promise<T>;

function adminClient(worker: LocalWorker): Admin {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${worker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as T;
  };
}

/** Selector-less Services (every 100th with ClientIP affinity), each with a hand-written slice. */
async function createObjects(admin: Admin, opts: AgentRssOptions): Promise<void> {
  const deadline = Date.now() + opts.createTimeoutMs;
  const ns = "default";
  const create = async (s: number) => {
    const name = `svc-${s}`;
    await admin("POST", `/api/v1/namespaces/${ns}/services`, {
      metadata: { name },
      spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }], ...(s % 100 === 1 ? { sessionAffinity: "ClientIP" } : {}) },
    });
    const endpoints = [];
    for (let e = 0; e < opts.endpointsPerService; e++) {
      endpoints.push({ addresses: [endpointIP(s * opts.endpointsPerService + e)], conditions: { ready: true }, nodeName: e % 3 === 0 ? NODE : "other-node" });
    }
    await admin("POST", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      metadata: { name: `${name}-hand`, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < opts.services) {
        if (Date.now() > deadline) throw new Error(`creating ${opts.services} Services took over ${opts.createTimeoutMs / 1000} s (${next} started)`);
        await create(next++);
      }
    }),
  );
}

function memory(pid: number): { vmRssMb: number; vmHwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { vmRssMb: kb("VmRSS") / 1024, vmHwmMb: kb("VmHWM") / 1024 };
}
