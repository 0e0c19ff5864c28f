// The network-namespace lab of issue 4: the real Worker (wrangler dev) in an "api"
// namespace, two nodes each running the real agent CLI (node1 nftables, node2 iptables),
// a pod behind each node, and a client, joined by a bridge (see scripts/lab/topology.ts, shared with `npm run lab`). Each
// `it` proves one claim of the issue against real kernels and real processes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { EndpointSlice, Service } from "../../src/api/types";
import { describeNetns, type NetnsLab } from "../agent/netns";
import { startAgent, runAgent, waitFor, type AgentProcess } from "../../scripts/lab/agent-process";
import {
  API_IP,
  CLIENT_IP,
  NODES,
  PODS,
  POD_SERVER,
  ROLES,
  SERVICE_CIDR,
  buildLab,
  getsFrom,
  killNamespaceProcesses,
  type LabNode,
} from "../../scripts/lab/topology";
import { startLocalWorker, type LocalWorker } from "../../scripts/lab/local-worker";

const API_PORT = 8787;
const POD_PORT = 8080;
/** Readiness probe of every lab pod: a failure takes PERIOD × FAILURE_THRESHOLD to count. */
const PROBE_PERIOD_SECONDS = 1;
const PROBE_FAILURE_THRESHOLD = 2;
/**
 * One sync, end to end: the agent's status write (batched), the registry's endpoints
 * controller, the watch event to each agent, and the proxier's transaction.
 */
const ONE_SYNC_ALLOWANCE_MS = 4000;
/** Enough for the Worker to compile and agents to list, register and sync on a busy machine. */
const SETTLE_TIMEOUT_MS = 60_000;
const REQUESTS = 100;

let lab: NetnsLab | undefined;
let worker: LocalWorker | undefined;
const agents = new Map<string, AgentProcess>();
const tmpDirs: string[] = [];
const tokens = new Map<string, string>();
let labNamespaces: string[] = [];

process.once("exit", () => killNamespaceProcesses(labNamespaces));

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${worker!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${worker!.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function podManifest(pod: (typeof PODS)[number], failFile: string): string {
  return `# ${failFile} makes /healthz fail
apiVersion: v1
kind: Pod
metadata:
  name: ${pod.role}
  labels: {app: web, pod: ${pod.role}}
spec:
  containers:
  - name: web
    ports: [{name: http, containerPort: ${POD_PORT}}]
    readinessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: ${PROBE_PERIOD_SECONDS}
      failureThreshold: ${PROBE_FAILURE_THRESHOLD}
status:
  podIP: ${pod.ip}
`;
}

const failFile = (role: string) => join(tmpDirs[0]!, `${role}.fail`);
const backendOf = (node: LabNode) => (node.role === "node1" ? "nftables" : "iptables");

function launchAgent(node: LabNode): AgentProcess {
  const agent = startAgent(
    [
      "--api",
      `http://${API_IP}:${API_PORT}`,
      "--node",
      node.role,
      "--backend",
      backendOf(node),
      "--node-ip",
      node.lanIP,
      "--pod-manifests",
      join(tmpDirs[0]!, node.role),
      ...NODES.flatMap((n) => ["--cluster-cidr", n.podCIDR]),
    ],
    { netns: lab!.ns(node.role), env: { SVCEDGE_TOKEN: tokens.get(node.role)! } },
  );
  agents.set(node.role, agent);
  return agent;
}

/**
 * The agent's rules as the kernel lists them, normalized: no handles or counters, map
 * elements sorted, and objects sorted by kind and name (incremental updates create chains
 * in a different order than a full load); the order of rules inside a chain is kept.
 */
async function rules(node: LabNode): Promise<string> {
  if (backendOf(node) === "nftables") {
    const r = await lab!.exec(node.role, ["nft", "-j", "list", "table", "ip", "svcedge"]);
    if (r.code !== 0) return "";
    const items = (JSON.parse(r.stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables.filter((o) => !o.metainfo);
    const objects: string[] = [];
    const rulesByChain = new Map<string, string[]>();
    for (const o of items) {
      const [kind, body] = Object.entries(o)[0]!;
      const { handle: _h, ...rest } = body;
      if (Array.isArray(rest.elem)) rest.elem = rest.elem.map((e) => JSON.stringify(e)).sort();
      if (kind !== "rule") objects.push(`${kind} ${JSON.stringify(rest)}`);
      else {
        const chain = String(rest.chain);
        rulesByChain.set(chain, [...(rulesByChain.get(chain) ?? []), `rule ${JSON.stringify(rest)}`]);
      }
    }
    const chains = [...rulesByChain.keys()].sort().flatMap((c) => rulesByChain.get(c)!);
    return [...objects.sort(), ...chains].join("\n");
  }
  const r = await lab!.must(node.role, ["iptables-save"]);
  return r
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]"))
    .join("\n");
}

const sortedServers = (answers: { server?: string }[]) => [...new Set(answers.map((a) => a.server ?? "none"))].sort();

describeNetns("network-namespace lab: Worker, two agents, pods and a client", ["nft", "iptables", "iptables-save"], () => {
  let clusterIP = "";
  let nodePortToB = 0;
  let nodePortLocal = 0;

  beforeAll(async () => {
    tmpDirs.push(mkdtempSync(join(tmpdir(), "svcedge-lab-")));
    lab = await buildLab();
    labNamespaces = ROLES.map((r) => lab!.ns(r));
    worker = await startLocalWorker({
      ip: API_IP,
      port: API_PORT,
      wrap: ["ip", "netns", "exec", lab.ns("api")],
      vars: { SERVICE_CIDR },
      readyTimeoutMs: 90_000,
    });
    for (const pod of PODS) await lab.startNode(pod.role, POD_SERVER, [pod.ip, String(POD_PORT), failFile(pod.role)]);
    for (const node of NODES) {
      const tr = await admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${node.role}/token`);
      tokens.set(node.role, tr.status.token);
      const dir = join(tmpDirs[0]!, node.role);
      execFileSync("mkdir", ["-p", dir]);
      for (const pod of PODS.filter((p) => p.node === node)) writeFileSync(join(dir, `${pod.role}.yaml`), podManifest(pod, failFile(pod.role)));
    }
    const svc = (name: string, spec: Record<string, unknown>) => admin<Service>("POST", "/api/v1/namespaces/default/services", { metadata: { name }, spec });
    clusterIP = (await svc("web", { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] })).spec.clusterIP!;
    nodePortToB =
      (await svc("web-b", { type: "NodePort", selector: { pod: "pod-b1" }, ports: [{ port: 80, targetPort: "http" }] })).spec.ports?.[0]?.nodePort ?? 0;
    nodePortLocal =
      (await svc("web-local", { type: "NodePort", externalTrafficPolicy: "Local", selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] })).spec
        .ports?.[0]?.nodePort ?? 0;
    for (const node of NODES) launchAgent(node);
    // Both pods registered from the manifests, probed ready, and programmed on both nodes.
    await waitFor("both pods ready in the web EndpointSlice", SETTLE_TIMEOUT_MS, async () => {
      const list = await admin<{ items: EndpointSlice[] }>(
        "GET",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb",
      );
      const ready = list.items.flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready !== false).map((e) => e.addresses[0]));
      return ready.length === PODS.length ? ready : undefined;
    });
    for (const node of NODES)
      await waitFor(`both pods programmed on ${node.role}`, SETTLE_TIMEOUT_MS, async () => {
        const text = await rules(node);
        return PODS.every((p) => text.includes(p.ip)) ? true : undefined;
      });
  }, 240_000);

  afterAll(async () => {
    for (const agent of agents.values()) await agent.stop();
    await worker?.stop();
    killNamespaceProcesses(labNamespaces);
    await lab?.destroy();
    for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const failureOutput = () => [...agents].map(([role, a]) => `--- ${role}\n${a.output().slice(-3000)}`).join("\n");

  it("1: a pod reaches a ClusterIP Service and lands on both pods over 100 requests", async () => {
    for (const from of PODS) {
      const answers = await getsFrom(lab!, from.role, `http://${clusterIP}/`, REQUESTS);
      expect(
        answers.filter((a) => a.error),
        failureOutput(),
      ).toEqual([]);
      expect(sortedServers(answers)).toEqual(PODS.map((p) => `${p.ip}:${POD_PORT}`).sort());
    }
  });

  it("2: the client reaches a NodePort on node 1 and lands on the pod behind node 2", async () => {
    const answers = await getsFrom(lab!, "client", `http://${NODES[0]!.lanIP}:${nodePortToB}/`, 10);
    expect(sortedServers(answers)).toEqual([`${PODS[1]!.ip}:${POD_PORT}`]);
    // Forwarded to another node, so masqueraded: the pod sees node 1, not the client.
    expect([...new Set(answers.map((a) => a.remote))]).toEqual([NODES[0]!.lanIP]);
  });

  it("6: externalTrafficPolicy Local keeps the client's source IP and uses only local pods", async () => {
    for (const [i, node] of NODES.entries()) {
      const answers = await getsFrom(lab!, "client", `http://${node.lanIP}:${nodePortLocal}/`, 10);
      expect(sortedServers(answers)).toEqual([`${PODS[i]!.ip}:${POD_PORT}`]);
      expect([...new Set(answers.map((a) => a.remote))]).toEqual([CLIENT_IP]);
    }
  });

  it("7: each agent serves /healthz on :10256, and a Local LoadBalancer's healthCheckNodePort answers 200 only on the node with its pod", async () => {
    const svc = await admin<Service>("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "web-b-lb" },
      spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", selector: { pod: "pod-b1" }, ports: [{ port: 80, targetPort: "http" }] },
    });
    const hcnp = svc.spec.healthCheckNodePort!;
    /** Status and body of one GET from the client's namespace. */
    const probe = async (url: string) => {
      const r = await lab!.exec("client", [
        process.execPath,
        "-e",
        `fetch(process.argv[1]).then(async (r) => console.log(JSON.stringify([r.status, await r.text()])), (e) => console.log(JSON.stringify([0, String(e.cause?.code ?? e)])))`,
        url,
      ]);
      return JSON.parse(r.stdout) as [number, string];
    };
    try {
      for (const node of NODES) expect((await probe(`http://${node.lanIP}:10256/healthz`))[0], failureOutput()).toBe(200);
      const [node1, node2] = NODES;
      const answer = (n: number) => ({ service: { namespace: "default", name: "web-b-lb" }, localEndpoints: n, serviceProxyHealthy: true });
      const on2 = await waitFor("node2's health check to pass", 10_000, async () => {
        const [status, body] = await probe(`http://${node2!.lanIP}:${hcnp}/`);
        return status === 200 ? body : undefined;
      });
      expect(JSON.parse(on2)).toEqual(answer(1));
      const [status1, body1] = await waitFor("node1's health check to answer", 10_000, async () => {
        const r = await probe(`http://${node1!.lanIP}:${hcnp}/`);
        return r[0] ? r : undefined;
      });
      expect([status1, JSON.parse(body1)]).toEqual([503, answer(0)]);
    } finally {
      await admin("DELETE", "/api/v1/namespaces/default/services/web-b-lb");
    }
  });

  it("3: a pod whose probe fails leaves the rules within periodSeconds × failureThreshold plus one sync, and comes back", async () => {
    const pod = PODS[0]!;
    const boundMs = PROBE_PERIOD_SECONDS * PROBE_FAILURE_THRESHOLD * 1000 + ONE_SYNC_ALLOWANCE_MS;
    writeFileSync(failFile(pod.role), "");
    try {
      for (const node of NODES)
        await waitFor(`${pod.ip} gone from ${node.role}'s rules`, boundMs, async () => ((await rules(node)).includes(pod.ip) ? undefined : true));
      const answers = await getsFrom(lab!, PODS[1]!.role, `http://${clusterIP}/`, 20);
      expect(sortedServers(answers)).toEqual([`${PODS[1]!.ip}:${POD_PORT}`]);
    } finally {
      unlinkSync(failFile(pod.role));
    }
    // Recovery needs successThreshold (1) success: one period plus one sync.
    for (const node of NODES)
      await waitFor(`${pod.ip} back in ${node.role}'s rules`, PROBE_PERIOD_SECONDS * 1000 + ONE_SYNC_ALLOWANCE_MS, async () =>
        (await rules(node)).includes(pod.ip) ? true : undefined,
      );
  }, 60_000);

  it("4: after an agent restart the ruleset is identical, with no duplicates", async () => {
    for (const node of NODES) {
      const before = await rules(node);
      expect(await agents.get(node.role)!.stop()).toBe(0);
      const agent = launchAgent(node);
      await waitFor(`${node.role}'s agent to start and sync`, SETTLE_TIMEOUT_MS, () => (agent.logs().some((l) => l.msg === "synced") ? true : undefined));
      // Give a straggling event a chance to arrive, then compare.
      await new Promise((r) => setTimeout(r, 1000));
      const after = await rules(node);
      expect(after, failureOutput()).toBe(before);
      const lines = after.split("\n").filter((l) => l.startsWith("-A ") || l.startsWith("chain ") || l.startsWith("rule "));
      expect(lines.length).toBeGreaterThan(0);
      expect(new Set(lines).size).toBe(lines.length);
    }
  }, 120_000);

  it("5: --cleanup leaves no trace", async () => {
    for (const node of NODES) {
      expect(await agents.get(node.role)!.stop()).toBe(0);
      const r = await runAgent(["--cleanup"], { netns: lab!.ns(node.role) });
      expect(r.code, r.stderr).toBe(0);
    }
    // node1 (nftables): the ruleset is empty again, as before the agent ran.
    expect((await lab!.must("node1", ["nft", "list", "ruleset"])).trim()).toBe("");
    // node2 (iptables): no SVCEDGE chain and no rule left in any built-in chain.
    const saved = await lab!.must("node2", ["iptables-save"]);
    expect(saved).not.toMatch(/SVCEDGE/);
    expect(saved.split("\n").filter((l) => l.startsWith("-A "))).toEqual([]);
  }, 60_000);
});
