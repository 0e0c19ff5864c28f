// The two-node lab's network (`npm run lab`, test/e2e/lab.test.ts), all in 198.18.0.0/15
// (RFC 2544 benchmarking space):
//
//   root ns (lab process, 198.18.100.254) ──┐
//   api     198.18.100.2  (wrangler dev)     │
//   node1   198.18.100.11 ── pod-a1 198.18.101.2   (node1 198.18.101.1)
//   node2   198.18.100.12 ── pod-b1 198.18.102.2   (node2 198.18.102.1)
//   client  198.18.100.100                   │
//           └────────── bridge in the "sw" namespace ┘
//
// The lab process reaches the lab through one veth into the bridge, so it can start the
// Worker with startLocalWorker and call the admin API; nothing routes beyond 198.18.0.0/15.
// Each node routes the other's pod range through it, and so does the api namespace (the
// gateway fetches pods by address). Services get ClusterIPs from 198.19.0.0/16.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { spawnCommand } from "../../src/agent/proxy/command";
import { httpGetIn, NetnsLab, type HttpAnswer } from "./netns";

export const LAN_PREFIX = 24;
export const ROOT_IP = "198.18.100.254";
export const API_IP = "198.18.100.2";
export const CLIENT_IP = "198.18.100.100";
export const SERVICE_CIDR = "198.19.0.0/16";

export interface LabNode {
  role: string;
  lanIP: string;
  podGatewayIP: string;
  podCIDR: string;
}

export interface LabPod {
  role: string;
  node: LabNode;
  ip: string;
}

export const NODES: LabNode[] = [
  { role: "node1", lanIP: "198.18.100.11", podGatewayIP: "198.18.101.1", podCIDR: "198.18.101.0/24" },
  { role: "node2", lanIP: "198.18.100.12", podGatewayIP: "198.18.102.1", podCIDR: "198.18.102.0/24" },
];
export const PODS: LabPod[] = [
  { role: "pod-a1", node: NODES[0]!, ip: "198.18.101.2" },
  { role: "pod-b1", node: NODES[1]!, ip: "198.18.102.2" },
];
/** Every namespace role of the lab. */
export const ROLES = ["sw", "api", "client", ...NODES.map((n) => n.role), ...PODS.map((p) => p.role)];

async function must(argv: string[]): Promise<void> {
  const r = await spawnCommand(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
}

/** One port of the bridge: a veth whose other end is in `ns` (or the root namespace when undefined). */
async function bridgePort(lab: NetnsLab, ns: string | undefined, cidr: string): Promise<void> {
  const base = `sl${randomBytes(3).toString("hex")}`;
  const [inside, onBridge] = [`${base}i`, `${base}b`];
  const sw = lab.ns("sw");
  if (ns) await must(["ip", "link", "add", inside, "netns", ns, "type", "veth", "peer", "name", onBridge, "netns", sw]);
  else await must(["ip", "link", "add", inside, "type", "veth", "peer", "name", onBridge, "netns", sw]);
  await must(["ip", "netns", "exec", sw, "ip", "link", "set", onBridge, "master", "br0", "up"]);
  const exec = ns ? ["ip", "netns", "exec", ns] : [];
  await must([...exec, "ip", "addr", "add", cidr, "dev", inside]);
  await must([...exec, "ip", "link", "set", inside, "up"]);
}

/** Builds the namespaces (named with `prefix`, see NetnsLab.create) and links; on failure tears down what it built. */
export async function buildLab(prefix?: string): Promise<NetnsLab> {
  const lab = NetnsLab.create(prefix);
  try {
    for (const role of ROLES) await lab.addNamespace(role);
    await lab.must("sw", ["ip", "link", "add", "br0", "type", "bridge"]);
    await lab.must("sw", ["ip", "link", "set", "br0", "up"]);
    await bridgePort(lab, undefined, `${ROOT_IP}/${LAN_PREFIX}`);
    await bridgePort(lab, lab.ns("api"), `${API_IP}/${LAN_PREFIX}`);
    await bridgePort(lab, lab.ns("client"), `${CLIENT_IP}/${LAN_PREFIX}`);
    for (const node of NODES) {
      await bridgePort(lab, lab.ns(node.role), `${node.lanIP}/${LAN_PREFIX}`);
      await lab.must(node.role, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      // Pods behind the other nodes are reached through those nodes.
      for (const other of NODES) if (other !== node) await lab.must(node.role, ["ip", "route", "add", other.podCIDR, "via", other.lanIP]);
      await lab.must("api", ["ip", "route", "add", node.podCIDR, "via", node.lanIP]);
    }
    for (const pod of PODS) {
      const prefix = pod.node.podCIDR.split("/")[1]!;
      await lab.link({ ns: pod.node.role, cidr: `${pod.node.podGatewayIP}/${prefix}` }, { ns: pod.role, cidr: `${pod.ip}/${prefix}` });
      await lab.must(pod.role, ["ip", "route", "add", "default", "via", pod.node.podGatewayIP]);
    }
    return lab;
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/** A pod's HTTP server: answers with its address and the caller's; /healthz fails while `failFile` exists. */
export const POD_SERVER = `
const http = require("node:http");
const fs = require("node:fs");
const [host, port, failFile] = process.argv.slice(1);
http.createServer((req, res) => {
  if (req.url === "/healthz") {
    const failing = fs.existsSync(failFile);
    res.writeHead(failing ? 503 : 200);
    return res.end(failing ? "failing" : "ok");
  }
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ server: host + ":" + port, remote: req.socket.remoteAddress }));
}).listen(Number(port), host, () => console.log("ready"));
`;

/** Kills what still runs inside the lab's namespaces (wrangler, workerd, servers): they die with the lab. */
export function killNamespaceProcesses(namespaces: string[]): void {
  for (const ns of namespaces) {
    let pids: string[] = [];
    try {
      pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .split(/\s+/)
        .filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}

/** `count` GETs, each on a new connection (so each is a new DNAT decision): the shared netns helper. */
export async function getsFrom(lab: NetnsLab, role: string, url: string, count: number, timeoutMs = 2000): Promise<HttpAnswer[]> {
  return httpGetIn(lab, role, url, count, timeoutMs);
}
