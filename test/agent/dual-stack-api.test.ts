// Dual-stack from the API to the agent's rules: a Worker with a dual-stack SERVICE_CIDR
// allocates a RequireDualStack Service an IP of each family, the endpoints controller writes
// an IPv6 EndpointSlice from the Pod's status.podIPs, and the agent on a node with an
// address of each family prints (--dry-run) the IPv4 rules and then the ip6 table.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EndpointSlice, Node, Service } from "../../src/api/types";
import { Agent } from "../../src/agent/agent";
import { ApiClient } from "../../src/agent/api-client";
import { parseOptions } from "../../src/agent/cli-options";
import { createLogger } from "../../src/agent/log";
import { runAgent, waitFor } from "../../scripts/lab/agent-process";
import { startLocalWorker, type LocalWorker } from "../e2e/local-worker";

const NODE = "dual-node";
let worker: LocalWorker;
let token: string;

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  worker = await startLocalWorker({ vars: { SERVICE_CIDR: "10.96.0.0/12,2001:db8:96::/108" }, readyTimeoutMs: 90_000 });
  token = (await admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${NODE}/token`)).status.token;
}, 120_000);
afterAll(() => worker?.stop());

describe("a dual-stack Service through the API to a dual-stack node's rules", () => {
  it("--dry-run prints the IPv4 share for the ip table and the IPv6 share (ClusterIP, IPv6 slice) for the ip6 table", async () => {
    const svc = await admin<Service>("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "dual" },
      spec: { ipFamilyPolicy: "RequireDualStack", selector: { app: "dual" }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const [v4, v6] = svc.spec.clusterIPs!;
    expect(v6).toMatch(/^2001:db8:96::/);
    await admin("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "dual-1", labels: { app: "dual" } },
      spec: { nodeName: NODE, containers: [{ name: "c", ports: [{ containerPort: 8080 }] }] },
      status: { podIP: "198.18.0.2", podIPs: [{ ip: "198.18.0.2" }, { ip: "2001:db8::2" }] },
    });
    const slices = async () =>
      (
        await admin<{ items: EndpointSlice[] }>(
          "GET",
          "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Ddual",
        )
      ).items;
    await waitFor(
      "the IPv6 EndpointSlice",
      15_000,
      async () => ((await slices()).some((s) => s.addressType === "IPv6" && s.endpoints.length) ? true : undefined),
      200,
    );

    const out = await runAgent(["--api", worker.url, "--node", NODE, "--dry-run", "--node-ip", "198.18.0.1", "--node-ip", "2001:db8::1"], {
      env: { SVCEDGE_TOKEN: token },
    });
    expect(out.code, out.stderr).toBe(0);
    const [ipv4Text, ipv6Text] = out.stdout.split("# IPv6\n");
    expect(ipv4Text).toContain("table ip svcedge {");
    expect(ipv4Text).toContain(`${v4} . tcp . 80`);
    expect(ipv4Text).not.toContain(v6);
    expect(ipv6Text).toContain("table ip6 svcedge {");
    expect(ipv6Text).toContain(`${v6} . tcp . 80`);
    // The Pod's IPv6 address, from the IPv6 slice, behind the IPv6 ClusterIP (ready or not: present in the slice).
    expect(ipv6Text).toContain("2001:db8::2");
    expect(ipv6Text).not.toContain("198.18.0.2");

    // A node with IPv4 addresses only prints the IPv4 rules alone.
    const single = await runAgent(["--api", worker.url, "--node", NODE, "--dry-run", "--node-ip", "198.18.0.1"], { env: { SVCEDGE_TOKEN: token } });
    expect(single.stdout).not.toContain("# IPv6");
    expect(single.stdout).not.toContain(v6);
  }, 60_000);

  it("a running agent registers both addresses and hands each family's proxy its share", async () => {
    const options = parseOptions(
      ["--api", worker.url, "--node", NODE, "--backend", "userspace", "--node-ip", "127.0.0.1", "--node-ip", "::1", "--healthz-bind-address", ""],
      { SVCEDGE_TOKEN: token },
      { readFile: () => "", hostname: () => "h" },
    );
    const agent = new Agent({ client: new ApiClient({ baseUrl: worker.url, token }), options, log: createLogger({ level: "error", write: () => {} }) });
    await agent.start();
    try {
      const node = await admin<Node>("GET", `/api/v1/nodes/${NODE}`);
      expect(node.status?.addresses?.filter((a) => a.type === "InternalIP").map((a) => a.address)).toEqual(["127.0.0.1", "::1"]);
      const svc = await admin<Service>("GET", "/api/v1/namespaces/default/services/dual");
      const [v4, v6] = svc.spec.clusterIPs!;
      const [proxy4, proxy6] = agent.proxies;
      const programmed = (proxy: typeof proxy4) => proxy?.lastApplied?.services.find((p) => p.service === "dual");
      await waitFor("both families synced", 15_000, () => (programmed(proxy4) && programmed(proxy6) ? true : undefined), 100);
      expect(programmed(proxy4)).toMatchObject({ clusterIPs: [v4], endpoints: [{ ip: "198.18.0.2", port: 8080 }] });
      expect(programmed(proxy6)).toMatchObject({ clusterIPs: [v6], endpoints: [{ ip: "2001:db8::2", port: 8080 }] });
    } finally {
      await agent.stop();
    }
  }, 60_000);
});
