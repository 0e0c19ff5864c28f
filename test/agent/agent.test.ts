// The agent as a whole against the real Worker: the CLI's failure modes and --dry-run as
// a real process, then an in-process Agent (userspace backend, so no root needed) that
// registers its Node, renews its Lease, probes a loopback pod and reports its readiness,
// proxies to it, and exposes /metrics — without ever logging its token.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, get, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lease, Node, Pod, Service } from "../../src/api/types";
import { Agent } from "../../src/agent/agent";
import { ApiClient } from "../../src/agent/api-client";
import { parseOptions } from "../../src/agent/cli-options";
import { createLogger } from "../../src/agent/log";
import { leasePath } from "../../src/agent/lease";
import { runAgent, waitFor } from "../../scripts/lab/agent-process";
import { startTlsFront } from "../e2e/kubectl/tls-front";
import { freePort, startLocalWorker, type LocalWorker } from "../e2e/local-worker";

const NODE = "node-t";
let worker: LocalWorker;
let token = "";

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  worker = await startLocalWorker({ readyTimeoutMs: 90_000 });
  token = (await admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${NODE}/token`)).status.token;
}, 120_000);
afterAll(() => worker?.stop());

/** One GET on a fresh connection (a kept-alive one would outlive the listener). */
const getFresh = (url: string): Promise<string | undefined> =>
  new Promise((resolve) => {
    get(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", () => resolve(undefined));
  });

const oneLine = (text: string) => text.trim().split("\n").length === 1 && !/\n\s+at /.test(text);

describe("the CLI process", () => {
  it("bad flags: one line, exit 2", async () => {
    const r = await runAgent(["--backend", "ipvs", "--api", worker.url, "--token", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('svcedge-agent: invalid --backend: "ipvs" (must be one of nftables, iptables, userspace) (see --help)\n');
  });

  it("an unreachable API: one line, exit 1", async () => {
    const port = await freePort();
    const r = await runAgent(["--api", `http://127.0.0.1:${port}`, "--node", NODE], { env: { SVCEDGE_TOKEN: token } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`svcedge-agent: cannot reach the API at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it("a refused token: one line, exit 1, the token not echoed", async () => {
    const r = await runAgent(["--api", worker.url, "--node", NODE], { env: { SVCEDGE_TOKEN: "not-a-token" } });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("refused the token");
    expect(r.stderr).not.toContain("not-a-token");
  });

  it("reaches an https API whose certificate it trusts through --ca-file or NODE_EXTRA_CA_CERTS, and says how when it does not", async () => {
    const front = await startTlsFront(worker.url);
    const dir = mkdtempSync(join(tmpdir(), "svcedge-ca-"));
    try {
      const ca = join(dir, "ca.pem");
      writeFileSync(ca, front.certificatePem);
      const args = ["--api", front.url, "--node", NODE, "--dry-run"];
      const untrusted = await runAgent(args, { env: { SVCEDGE_TOKEN: token } });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toBe(
        `svcedge-agent: cannot reach the API at ${front.url}: DEPTH_ZERO_SELF_SIGNED_CERT (trust the API's certificate with --ca-file or NODE_EXTRA_CA_CERTS)\n`,
      );
      for (const trusted of [
        await runAgent([...args, "--ca-file", ca], { env: { SVCEDGE_TOKEN: token } }),
        await runAgent(args, { env: { SVCEDGE_TOKEN: token, NODE_EXTRA_CA_CERTS: ca } }),
      ]) {
        expect(trusted.code, trusted.stderr).toBe(0);
        expect(trusted.stdout).toContain("table ip svcedge {");
      }
      const missing = await runAgent([...args, "--ca-file", join(dir, "nope.pem")], { env: { SVCEDGE_TOKEN: token } });
      expect([missing.code, missing.stderr]).toEqual([1, `svcedge-agent: cannot read --ca-file ${join(dir, "nope.pem")}: ENOENT\n`]);
      const notPem = await runAgent([...args, "--ca-file", join(dir, "..")], { env: { SVCEDGE_TOKEN: token } });
      expect(notPem.code).toBe(1);
      expect(oneLine(notPem.stderr)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await front.close();
    }
  }, 60_000);

  it("--dry-run prints the ruleset for each kernel backend and writes nothing", async () => {
    const svc = await admin<Service>("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "dry" },
      spec: { type: "NodePort", ports: [{ port: 80 }] },
    });
    const nft = await runAgent(["--api", worker.url, "--node", NODE, "--dry-run", "--node-ip", "198.18.0.1"], { env: { SVCEDGE_TOKEN: token } });
    expect(nft.code, nft.stderr).toBe(0);
    expect(nft.stdout).toContain("table ip svcedge {");
    expect(nft.stdout).toContain(`${svc.spec.clusterIP} . tcp . 80`);
    const ipt = await runAgent(["--api", worker.url, "--node", NODE, "--dry-run", "--backend", "iptables"], { env: { SVCEDGE_TOKEN: token } });
    expect(ipt.code, ipt.stderr).toBe(0);
    expect(ipt.stdout).toMatch(/^\*nat$/m);
    expect(ipt.stdout).toContain(`-d ${svc.spec.clusterIP}/32`);
    // Nothing registered: a dry run does not create the Node.
    const nodes = await admin<{ items: Node[] }>("GET", "/api/v1/nodes");
    expect(nodes.items.map((n) => n.metadata.name)).not.toContain(NODE);
    await admin("DELETE", "/api/v1/namespaces/default/services/dry");
  });
});

describe("a running agent", () => {
  let pod: Server;
  let podPort = 0;
  let healthy = true;
  let agent: Agent;
  let metricsPort = 0;
  let healthzPort = 0;
  const lines: string[] = [];

  beforeAll(async () => {
    pod = createServer((req, res) => {
      if (req.url === "/healthz") res.writeHead(healthy ? 200 : 500);
      res.end("pod says hi");
    });
    podPort = await new Promise<number>((r) => pod.listen(0, "127.0.0.1", () => r((pod.address() as { port: number }).port)));
    metricsPort = await freePort();
    healthzPort = await freePort();
    const options = parseOptions(
      [
        ...["--api", worker.url, "--node", NODE, "--backend", "userspace", "--node-ip", "127.0.0.1", "--metrics-port", String(metricsPort)],
        ...["--lease-duration", "8", "--healthz-bind-address", `127.0.0.1:${healthzPort}`],
      ],
      { SVCEDGE_TOKEN: token },
      { readFile: () => "", hostname: () => "h" },
    );
    const log = createLogger({ level: "debug", secrets: [token], write: (l) => lines.push(l) });
    agent = new Agent({ client: new ApiClient({ baseUrl: worker.url, token }), options, log: log.with({ node: NODE }) });
    await agent.start();
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await new Promise((r) => pod.close(r));
  });

  it("registers its Node with its addresses and holds a Lease renewed every quarter of its duration", async () => {
    const node = await admin<Node>("GET", `/api/v1/nodes/${NODE}`);
    expect(node.status?.addresses).toEqual([
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: NODE },
    ]);
    const first = await admin<Lease>("GET", leasePath(NODE));
    expect(first.spec).toMatchObject({ holderIdentity: NODE, leaseDurationSeconds: 8 });
    const renewed = await waitFor(
      "a lease renewal",
      10_000,
      async () => {
        const l = await admin<Lease>("GET", leasePath(NODE));
        return l.spec.renewTime !== first.spec.renewTime ? l : undefined;
      },
      250,
    );
    expect(Date.parse(renewed.spec.renewTime!) - Date.parse(first.spec.renewTime!)).toBeGreaterThanOrEqual(1900);
  });

  it("probes its pod, reports Ready transitions as Pod status, and proxies only to a ready pod", async () => {
    await admin("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "hi" },
      spec: { type: "NodePort", selector: { app: "hi" }, ports: [{ port: 80, targetPort: "http" }] },
    });
    await admin("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "hi-1", labels: { app: "hi" } },
      spec: {
        nodeName: NODE,
        containers: [
          {
            name: "c",
            ports: [{ name: "http", containerPort: podPort }],
            readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      },
      status: { podIP: "127.0.0.1" },
    });
    const ready = (p: Pod) => p.status?.conditions?.find((c) => c.type === "Ready")?.status;
    await waitFor(
      "Ready=True",
      15_000,
      async () => (ready(await admin<Pod>("GET", "/api/v1/namespaces/default/pods/hi-1")) === "True" ? true : undefined),
      200,
    );
    const svc = await admin<Service>("GET", "/api/v1/namespaces/default/services/hi");
    const nodePort = svc.spec.ports?.[0]?.nodePort ?? 0;
    const body = await waitFor("the NodePort to answer", 15_000, () => getFresh(`http://127.0.0.1:${nodePort}/`), 200);
    expect(body).toBe("pod says hi");

    healthy = false;
    await waitFor(
      "Ready=False",
      15_000,
      async () => (ready(await admin<Pod>("GET", "/api/v1/namespaces/default/pods/hi-1")) === "False" ? true : undefined),
      200,
    );
    await waitFor("the NodePort to refuse", 15_000, async () => ((await getFresh(`http://127.0.0.1:${nodePort}/`)) === undefined ? true : undefined), 200);
    healthy = true;
    await waitFor(
      "Ready=True again",
      15_000,
      async () => (ready(await admin<Pod>("GET", "/api/v1/namespaces/default/pods/hi-1")) === "True" ? true : undefined),
      200,
    );
  }, 60_000);

  it("watches only the Services kube-proxy would (no service-proxy-name or headless label), and drops one that gains the label", async () => {
    const labelled = (name: string, labels: Record<string, string>) =>
      admin("POST", "/api/v1/namespaces/default/services", { metadata: { name, labels }, spec: { selector: { app: "x" }, ports: [{ port: 80 }] } });
    await labelled("other-proxy", { "service.kubernetes.io/service-proxy-name": "other" });
    await labelled("labelled-headless", { "service.kubernetes.io/headless": "" });
    await labelled("plain", { app: "plain" });
    await waitFor("the plain Service in the informer", 10_000, async () => (agent.services.store.has("default/plain") ? true : undefined), 100);
    expect(agent.services.store.has("default/other-proxy")).toBe(false);
    expect(agent.services.store.has("default/labelled-headless")).toBe(false);
    const plain = await admin<Service>("GET", "/api/v1/namespaces/default/services/plain");
    plain.metadata.labels = { "service.kubernetes.io/service-proxy-name": "other" };
    await admin("PUT", "/api/v1/namespaces/default/services/plain", plain);
    await waitFor("the relabelled Service to leave the informer", 10_000, async () => (agent.services.store.has("default/plain") ? undefined : true), 100);
  });

  it("answers on the healthCheckNodePort of a Local LoadBalancer Service: 200 with a local ready endpoint, 503 without", async () => {
    const lb = (name: string, selector: Record<string, string>) =>
      admin<Service>("POST", "/api/v1/namespaces/default/services", {
        metadata: { name },
        spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", selector, ports: [{ port: 80, targetPort: "http" }] },
      });
    const served = await lb("hi-local", { app: "hi" });
    const empty = await lb("nobody-local", { app: "nobody" });
    const check = async (svc: Service) => {
      const res = await fetch(`http://127.0.0.1:${svc.spec.healthCheckNodePort}/`);
      return { status: res.status, type: res.headers.get("content-type"), nosniff: res.headers.get("x-content-type-options"), body: await res.text() };
    };
    // kube-proxy's body: a dedented Go template, tab-indented, without a final newline.
    const body = (name: string, n: number) =>
      `{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "${name}"\n\t},\n\t"localEndpoints": ${n},\n\t"serviceProxyHealthy": true\n}`;
    expect(await waitFor("the hi-local health check", 15_000, async () => ((await check(served)).status === 200 ? check(served) : undefined), 200)).toEqual({
      status: 200,
      type: "application/json",
      nosniff: "nosniff",
      body: body("hi-local", 1),
    });
    // No --nodeport-addresses on the userspace backend: NodePorts take every local address, and so
    // does the health check (kube-proxy's service health server), not only --node-ip 127.0.0.1.
    expect((await fetch(`http://127.0.0.2:${served.spec.healthCheckNodePort}/`)).status).toBe(200);
    expect(await waitFor("the nobody-local health check", 15_000, () => check(empty), 200)).toEqual({
      status: 503,
      type: "application/json",
      nosniff: "nosniff",
      body: body("nobody-local", 0),
    });
    // The Service goes: its health check stops answering.
    await admin("DELETE", "/api/v1/namespaces/default/services/nobody-local");
    await waitFor(
      "the health check port to close",
      15_000,
      async () => ((await getFresh(`http://127.0.0.1:${empty.spec.healthCheckNodePort}/`)) === undefined ? true : undefined),
      200,
    );
    await admin("DELETE", "/api/v1/namespaces/default/services/hi-local");
  }, 60_000);

  it("serves kube-proxy's /healthz and /livez on --healthz-bind-address", async () => {
    for (const path of ["/healthz", "/livez"]) {
      const res = await fetch(`http://127.0.0.1:${healthzPort}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const text = await res.text();
      const time = String.raw`"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC"`;
      expect(text).toMatch(
        new RegExp(
          path === "/healthz"
            ? `^\\{"lastUpdated": ${time},"currentTime": ${time}, "nodeEligible": true\\}$`
            : `^\\{"lastUpdated": ${time},"currentTime": ${time}\\}$`,
        ),
      );
    }
  });

  it("serves /metrics in Prometheus text format", async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/^# TYPE svcedge_agent_sync_proxy_rules_total counter$/m);
    expect(text).toMatch(/^svcedge_agent_sync_proxy_rules_total\{mode="full",result="success"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_sync_proxy_rules_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_programmed_service_ports [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_endpoints\{state="ready"\} \d+$/m);
    expect(text).toMatch(/^svcedge_agent_prober_probe_total\{container="c",namespace="default",pod="hi-1",probe_type="Readiness",result="failed"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_lease_renewals_total\{result="success"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_pod_status_updates_total\{result="success"\} [1-9]/m);
  });

  it("logs JSON lines and never its token", () => {
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines.join("")).not.toContain(token);
  });
});
