// `npm run lab`: the two-node lab of topology.ts brought to life. The Worker (wrangler dev)
// runs in the "api" namespace; a pod server runs in each pod namespace; the Nodes, the Pods
// (with readiness probes) and one LoadBalancer Service are registered through the admin
// API; an agent runs on each node (node1 nftables, node2 iptables) with cluster DNS on its
// pod-side address, and each pod's resolv.conf points there. check() makes one request of
// each kind a user would try; stop() tears everything down.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Service } from "../../src/api/types";
import { podResolvConf } from "../../src/agent/dns/resolv-conf";
import { ROOT, startAgent, waitFor, type AgentProcess } from "./agent-process";
import { startLocalWorker, type LocalWorker } from "./local-worker";
import { type NetnsLab, httpGetIn } from "./netns";
import { API_IP, NODES, PODS, POD_SERVER, ROLES, SERVICE_CIDR, buildLab, killNamespaceProcesses } from "./topology";

/** `ip netns` names of this lab start with it; short, since users type them. */
export const LAB_NS_PREFIX = "svlab-";
export const API_PORT = 8787;
const POD_PORT = 8080;
const CLUSTER_ZONE = "cluster.local";
/** The Service every check goes through: a ClusterIP, a NodePort and an edge hostname at once. */
const SERVICE = { namespace: "default", name: "web" };
/** The Worker's first start compiles it; a busy CI machine needs the margin. */
const WORKER_READY_TIMEOUT_MS = 120_000;
/** Pods probed ready, rules programmed, the route at the edge, DNS serving. */
const SETTLE_TIMEOUT_MS = 90_000;
const REQUEST_TIMEOUT_MS = 3000;

export interface LabCheck {
  kind: string;
  /** The command a user types for the same request. */
  command: string;
  /** What answered: the pod's address, or why it failed. */
  result: string;
  ok: boolean;
}

/** One GET with a Host header from inside a namespace, printed as the pod's JSON answer or {"error": code}. */
const HTTP_GET_HOST = `
const http = require("node:http");
const [url, host, timeout] = process.argv.slice(1);
const req = http.get(url, { headers: { host }, agent: false, timeout: Number(timeout) }, (res) => {
  let body = "";
  res.on("data", (c) => (body += c));
  res.on("end", () => { try { console.log(JSON.stringify(JSON.parse(body))); } catch { console.log(JSON.stringify({ error: res.statusCode + " " + body.slice(0, 80) })); } });
});
req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
req.on("error", (e) => console.log(JSON.stringify({ error: e.code ?? e.message })));
`;

export class Lab {
  readonly agents = new Map<string, AgentProcess>();
  private readonly resolvDirs: string[] = [];
  private worker: LocalWorker | undefined;
  private namespaces: string[] = [];
  private stopped = false;
  clusterIP = "";
  nodePort = 0;
  hostname = "";
  readonly dnsName = `${SERVICE.name}.${SERVICE.namespace}.svc.${CLUSTER_ZONE}`;

  private constructor(
    readonly netns: NetnsLab,
    private readonly dir: string,
    private readonly progress: (line: string) => void,
  ) {}

  /** Builds the namespaces; start() brings them to life. */
  static async create(progress: (line: string) => void = () => {}): Promise<Lab> {
    progress("building the network namespaces");
    const netns = await buildLab(LAB_NS_PREFIX);
    const lab = new Lab(netns, mkdtempSync(join(tmpdir(), "svcedge-lab-")), progress);
    lab.namespaces = ROLES.map((r) => netns.ns(r));
    return lab;
  }

  /** Starts everything and waits until every kind of request works; on failure tears down what it started and rethrows. */
  async start(): Promise<void> {
    try {
      await this.startAll();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  get apiURL(): string {
    return `http://${API_IP}:${API_PORT}`;
  }

  get adminToken(): string {
    return this.worker?.adminToken ?? "";
  }

  private async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.apiURL}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T & { message?: string };
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.message ?? ""}`.trim());
    return json;
  }

  private async startAll(): Promise<void> {
    this.progress("starting the Worker (wrangler dev) in the api namespace");
    this.worker = await startLocalWorker({
      ip: API_IP,
      port: API_PORT,
      wrap: ["ip", "netns", "exec", this.netns.ns("api")],
      // As npm start: a change is routable at the gateway at once.
      vars: { SERVICE_CIDR, GATEWAY_ROUTE_CACHE_TTL_SECONDS: "0" },
      readyTimeoutMs: WORKER_READY_TIMEOUT_MS,
    }).catch((e: unknown) => {
      // Its message ends with wrangler's output: the last line says why.
      throw new Error(`wrangler dev did not start in the api namespace: ${lastLine(e instanceof Error ? e.message : String(e))}`);
    });
    this.progress("starting the pod servers");
    for (const pod of PODS) await this.netns.startNode(pod.role, POD_SERVER, [pod.ip, String(POD_PORT), this.failFile(pod.role)]);

    this.progress("registering the Nodes, Pods and Service through the API");
    const svc = await this.admin<Service>("POST", `/api/v1/namespaces/${SERVICE.namespace}/services`, {
      metadata: { name: SERVICE.name },
      spec: { type: "LoadBalancer", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    this.clusterIP = svc.spec.clusterIP ?? "";
    this.nodePort = svc.spec.ports?.[0]?.nodePort ?? 0;
    this.hostname = svc.status?.loadBalancer?.ingress?.[0]?.hostname ?? "";
    const tokens = new Map<string, string>();
    for (const node of NODES) {
      await this.admin("POST", "/api/v1/nodes", {
        metadata: { name: node.role },
        status: { addresses: [{ type: "InternalIP", address: node.lanIP }] },
      });
      tokens.set(node.role, (await this.admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${node.role}/token`)).status.token);
    }
    for (const pod of PODS)
      await this.admin("POST", `/api/v1/namespaces/${SERVICE.namespace}/pods`, {
        metadata: { name: pod.role, labels: { app: "web" } },
        spec: {
          nodeName: pod.node.role,
          containers: [
            {
              name: "web",
              ports: [{ name: "http", containerPort: POD_PORT }],
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
            },
          ],
        },
        status: { podIP: pod.ip, phase: "Running" },
      });
    // `ip netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf: the pod's resolver is its node's cluster DNS.
    for (const pod of PODS) {
      const dir = `/etc/netns/${this.netns.ns(pod.role)}`;
      mkdirSync(dir, { recursive: true });
      this.resolvDirs.push(dir);
      writeFileSync(join(dir, "resolv.conf"), podResolvConf(SERVICE.namespace, CLUSTER_ZONE, { host: pod.node.podGatewayIP, port: 53 }));
    }

    this.progress("starting an agent on each node (node1 nftables, node2 iptables)");
    for (const [i, node] of NODES.entries()) {
      const agent = startAgent(
        [
          ...["--api", this.apiURL, "--node", node.role, "--backend", i === 0 ? "nftables" : "iptables", "--node-ip", node.lanIP],
          ...NODES.flatMap((n) => ["--cluster-cidr", n.podCIDR]),
          ...["--dns-addr", node.podGatewayIP, "--dns-zone", CLUSTER_ZONE],
        ],
        { netns: this.netns.ns(node.role), env: { SVCEDGE_TOKEN: tokens.get(node.role)! } },
      );
      this.agents.set(node.role, agent);
    }
    this.progress("waiting for the pods to be ready and every kind of request to work");
    await waitFor(
      "every kind of request to work",
      SETTLE_TIMEOUT_MS,
      async () => {
        for (const [role, agent] of this.agents) if (agent.child.exitCode !== null) throw new Error(`the agent on ${role} exited: ${lastLine(agent.output())}`);
        const checks = await this.check();
        return checks.every((c) => c.ok) ? true : undefined;
      },
      500,
    ).catch(async (e: unknown) => {
      const failing = (await this.check()).filter((c) => !c.ok).map((c) => `${c.kind}: ${c.result}`);
      throw new Error(failing.length ? `${failing.join("; ")} (${e instanceof Error ? e.message : String(e)})` : String(e));
    });
  }

  /** While this file exists, the pod's /healthz fails: its readiness probe takes it out of the rules. */
  failFile(podRole: string): string {
    return join(this.dir, `${podRole}.fail`);
  }

  /** The lab's namespace for a role, as `ip netns exec` takes it. */
  ns(role: string): string {
    return this.netns.ns(role);
  }

  /** The requests to try, one of each kind, with the command a user types for each. */
  requests(): { kind: string; command: string; role: string; url: string; host?: string }[] {
    const pod = PODS[0]!.role;
    const node1 = NODES[0]!;
    const [podNs, clientNs] = [this.ns(pod), this.ns("client")];
    return [
      { kind: "ClusterIP", role: pod, url: `http://${this.clusterIP}/`, command: `ip netns exec ${podNs} curl -s http://${this.clusterIP}/` },
      {
        kind: "NodePort",
        role: "client",
        url: `http://${node1.lanIP}:${this.nodePort}/`,
        command: `ip netns exec ${clientNs} curl -s http://${node1.lanIP}:${this.nodePort}/`,
      },
      {
        kind: "edge hostname",
        role: "client",
        url: `${this.apiURL}/`,
        host: this.hostname,
        command: `ip netns exec ${clientNs} curl -s -H 'Host: ${this.hostname}' ${this.apiURL}/`,
      },
      { kind: "DNS name", role: pod, url: `http://${this.dnsName}/`, command: `ip netns exec ${podNs} curl -s http://${this.dnsName}/` },
    ];
  }

  /** Makes each request of requests() once, from where a user would make it. */
  async check(): Promise<LabCheck[]> {
    const out: LabCheck[] = [];
    for (const r of this.requests()) {
      let answer: { server?: string; error?: string };
      if (r.host === undefined) {
        answer = (await httpGetIn(this.netns, r.role, r.url, 1, REQUEST_TIMEOUT_MS).catch((e: unknown) => [{ error: lastLine(String(e)) }]))[0] ?? {};
      } else {
        const got = await this.netns.exec(r.role, [process.execPath, "-e", HTTP_GET_HOST, r.url, r.host, String(REQUEST_TIMEOUT_MS)]);
        try {
          answer = JSON.parse(got.stdout) as typeof answer;
        } catch {
          answer = { error: lastLine(got.stderr) || `exit ${got.code}` };
        }
      }
      out.push({ kind: r.kind, command: r.command, ok: !!answer.server, result: answer.server ? `answered by ${answer.server}` : `failed: ${answer.error}` });
    }
    return out;
  }

  /** Stops the agents and the Worker, deletes the namespaces and what was written for them; safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    await this.worker?.stop();
    killNamespaceProcesses(this.namespaces);
    await this.netns.destroy();
    for (const dir of this.resolvDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
    returnToSudoUser();
  }
}

/** What the lab's processes write into the checkout: wrangler's build folder, the agent's bundle. */
const WRITTEN_IN_CHECKOUT = [".wrangler", "dist"];

/**
 * Under sudo, hands what the lab wrote into the checkout back to the user who ran sudo, so
 * that a later `npm start` or `npm run agent` without sudo can write there again.
 */
function returnToSudoUser(): void {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (!Number.isInteger(uid) || uid === 0 || !Number.isInteger(gid)) return;
  for (const entry of WRITTEN_IN_CHECKOUT) {
    const path = join(ROOT, entry);
    if (existsSync(path)) execFileSync("chown", ["-R", `${uid}:${gid}`, path], { stdio: "ignore" });
  }
}

/** The last non-empty line of a process's output, for a one-line message. */
export function lastLine(text: string): string {
  const lines = text.trim().split("\n").filter(Boolean);
  return lines.at(-1) ?? "";
}
