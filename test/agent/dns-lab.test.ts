// Cluster DNS in the network-namespace lab, with real parts only: the Worker (wrangler dev)
// in this process's namespace, the agent CLI in a "node" namespace serving DNS on its
// address towards a "pod" namespace, dnsmasq as the node's upstream resolver, and the real
// `dig` (and glibc, through `getent`) run inside the pod namespace. Every record kind of the
// issue, the search path of a kubelet-style resolv.conf (written by --print-resolv-conf), and
// answers that follow Service and endpoint changes within TTL + sync time.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { EndpointSlice, Service } from "../../src/api/types";
import { reverseName } from "../../src/agent/dns/names";
import { runAgent, startAgent, waitFor, type AgentProcess } from "../../scripts/lab/agent-process";
import { startLocalWorker, type LocalWorker } from "../e2e/local-worker";
import { dataOf, digIn } from "./dns/dig";
import { describeNetns, NetnsLab } from "./netns";

// 198.18.0.0/15 only: root ↔ node on .130, node ↔ pod on .131; dnsmasq's name lives in .132.
const ADDR = {
  root: "198.18.130.1",
  node: "198.18.130.2",
  nodePodSide: "198.18.131.1",
  pod: "198.18.131.2",
  external: "198.18.132.10",
  serviceCIDR: "198.19.128.0/20",
};
const PORT = { api: 18787, upstream: 15353, metrics: 10259 };
const EXTERNAL_NAME = "www.example.test";
const NODE = "dns-node";
const TTL = 5;
/** A change reaches the agent through the registry's write, its controllers and the watch. */
const SYNC_ALLOWANCE_MS = 5_000;
/** The Worker compiles, the agent lists and starts serving, on a busy machine. */
const SETTLE_TIMEOUT_MS = 60_000;
const ZONE = "cluster.local";

let lab: NetnsLab | undefined;
let worker: LocalWorker | undefined;
let agent: AgentProcess | undefined;
let dnsmasq: ChildProcess | undefined;
let resolvDir: string | undefined;

async function admin<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
  const res = await fetch(`${worker!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${worker!.adminToken}`, "content-type": contentType },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const dig = (args: string[]) => digIn(lab!, "pod", ADDR.nodePodSide, args);
const fqdn = (svc: string, ns = "default") => `${svc}.${ns}.svc.${ZONE}`;

function cleanup(): void {
  if (resolvDir) rmSync(resolvDir, { recursive: true, force: true });
  dnsmasq?.kill("SIGKILL");
}
process.once("exit", cleanup);

describeNetns("cluster DNS: real dig from a pod namespace through the node's agent", ["nft", "dig", "dnsmasq", "getent"], () => {
  let nginxIP = "";

  beforeAll(async () => {
    lab = NetnsLab.create();
    await lab.addNamespace("node");
    await lab.addNamespace("pod");
    await lab.linkRoot({ ns: "node", cidr: `${ADDR.node}/24` }, `${ADDR.root}/24`);
    await lab.link({ ns: "node", cidr: `${ADDR.nodePodSide}/24` }, { ns: "pod", cidr: `${ADDR.pod}/24` });
    await lab.must("pod", ["ip", "route", "add", "default", "via", ADDR.nodePodSide]);
    // The node's upstream resolver: dnsmasq answers for example.test (one name in it) and nothing else.
    dnsmasq = spawn(
      "dnsmasq",
      [
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--pid-file",
        "--bind-interfaces",
        `--listen-address=${ADDR.root}`,
        `--port=${PORT.upstream}`,
        `--host-record=${EXTERNAL_NAME},${ADDR.external}`,
        "--local-ttl=60",
        "--local=/example.test/",
        "--user=root",
      ],
      { stdio: "ignore" },
    );
    worker = await startLocalWorker({ ip: ADDR.root, port: PORT.api, vars: { SERVICE_CIDR: ADDR.serviceCIDR }, readyTimeoutMs: 90_000 });
    const token = (await admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${NODE}/token`)).status.token;
    // Objects present before the agent starts (listed) and after (watched) both count.
    const nginx = await admin<Service>("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "nginx" },
      spec: { selector: { app: "nginx" }, ports: [{ name: "http", port: 80 }] },
    });
    nginxIP = nginx.spec.clusterIP!;
    agent = startAgent(
      [
        "--api",
        worker.url,
        "--node",
        NODE,
        "--node-ip",
        ADDR.node,
        "--dns-addr",
        ADDR.nodePodSide,
        "--dns-upstream",
        `${ADDR.root}:${PORT.upstream}`,
        "--dns-ttl",
        String(TTL),
        "--metrics-port",
        String(PORT.metrics),
        "--metrics-address",
        ADDR.node,
      ],
      { netns: lab.ns("node"), env: { SVCEDGE_TOKEN: token } },
    );
    await waitFor(
      "the agent to serve DNS",
      SETTLE_TIMEOUT_MS,
      () =>
        agent!.logs().some((l) => l.msg === "serving cluster DNS")
          ? true
          : agent!.child.exitCode !== null
            ? Promise.reject(new Error(agent!.output()))
            : undefined,
      200,
    );
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await worker?.stop();
    cleanup();
    await lab?.destroy();
  });

  it("A and SRV of a ClusterIP Service, PTR of its ClusterIP, over UDP and TCP", async () => {
    const a = await dig([fqdn("nginx"), "A"]);
    expect(a.status).toBe("NOERROR");
    expect(a.flags).toContain("aa");
    expect(a.answer).toEqual([`${fqdn("nginx")}. ${TTL} A ${nginxIP}`]);
    const tcp = await dig(["+tcp", fqdn("nginx"), "A"]);
    expect(tcp.answer).toEqual(a.answer);
    const srv = await dig([`_http._tcp.${fqdn("nginx")}`, "SRV"]);
    expect(srv.answer).toEqual([`_http._tcp.${fqdn("nginx")}. ${TTL} SRV 0 100 80 ${fqdn("nginx")}.`]);
    expect(srv.additional).toContain(`${fqdn("nginx")}. ${TTL} A ${nginxIP}`);
    const ptr = await dig(["-x", nginxIP]);
    expect(ptr.answer).toEqual([`${reverseName(nginxIP)}. ${TTL} PTR ${fqdn("nginx")}.`]);
  });

  it("a headless Service: ready endpoints (A and AAAA), hostnames, one SRV per endpoint, endpoint PTR", async () => {
    await admin("POST", "/api/v1/namespaces/default/services", { metadata: { name: "db" }, spec: { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] } });
    const slice = (name: string, addressType: "IPv4" | "IPv6", endpoints: EndpointSlice["endpoints"]) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name, labels: { "kubernetes.io/service-name": "db" } },
      addressType,
      endpoints,
      ports: [{ name: "pg", protocol: "TCP", port: 5432 }],
    });
    await admin(
      "POST",
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      slice("db-v4", "IPv4", [
        { addresses: ["198.18.131.10"], hostname: "db-0", conditions: { ready: true } },
        { addresses: ["198.18.131.11"], conditions: { ready: true } },
        { addresses: ["198.18.131.12"], hostname: "db-2", conditions: { ready: false } },
      ]),
    );
    await admin(
      "POST",
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      slice("db-v6", "IPv6", [{ addresses: ["2001:db8:131::10"], hostname: "db-0", conditions: { ready: true } }]),
    );
    const a = await waitFor("the headless Service's A records", SETTLE_TIMEOUT_MS, async () => {
      const r = await dig([fqdn("db"), "A"]);
      return r.answer.length === 2 ? r : undefined;
    });
    expect(dataOf(a, "A")).toEqual(["198.18.131.10", "198.18.131.11"]);
    await waitFor("the IPv6 slice", SETTLE_TIMEOUT_MS, async () => (dataOf(await dig([fqdn("db"), "AAAA"]), "AAAA").length ? true : undefined));
    expect(dataOf(await dig([fqdn("db"), "AAAA"]), "AAAA")).toEqual(["2001:db8:131::10"]);
    expect(dataOf(await dig([`db-0.${fqdn("db")}`, "A"]), "A")).toEqual(["198.18.131.10"]);
    expect(dataOf(await dig([`db-0.${fqdn("db")}`, "AAAA"]), "AAAA")).toEqual(["2001:db8:131::10"]);
    expect((await dig([`db-2.${fqdn("db")}`, "A"])).status).toBe("NXDOMAIN");
    const srv = await dig([`_pg._tcp.${fqdn("db")}`, "SRV"]);
    expect(dataOf(srv, "SRV")).toEqual([`0 33 5432 198-18-131-11.${fqdn("db")}.`, `0 33 5432 db-0.${fqdn("db")}.`, `0 33 5432 db-0.${fqdn("db")}.`].sort());
    expect((await dig(["-x", "198.18.131.10"])).answer).toEqual([`${reverseName("198.18.131.10")}. ${TTL} PTR db-0.${fqdn("db")}.`]);
    expect(dataOf(await dig(["-x", "2001:db8:131::10"]), "PTR")).toEqual([`db-0.${fqdn("db")}.`]);
  });

  it("an endpoint change reaches the answer within TTL + sync time", async () => {
    await admin(
      "PATCH",
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/db-v4",
      { endpoints: [{ addresses: ["198.18.131.13"], hostname: "db-0", conditions: { ready: true } }] },
      "application/merge-patch+json",
    );
    await waitFor("db-0 to move to 198.18.131.13", TTL * 1000 + SYNC_ALLOWANCE_MS, async () => {
      const r = await dig([`db-0.${fqdn("db")}`, "A"]);
      return dataOf(r, "A").join() === "198.18.131.13" ? true : undefined;
    });
    expect(dataOf(await dig([fqdn("db"), "A"]), "A")).toEqual(["198.18.131.13"]);
  });

  it("publishNotReadyAddresses: a not-ready pod is published while the Service says so, NXDOMAIN once it does not", async () => {
    await admin("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "peer-0", labels: { app: "peer" } },
      spec: { containers: [{ name: "peer", readinessProbe: { tcpSocket: { port: 2380 } } }] },
    });
    await admin("PATCH", "/api/v1/namespaces/default/pods/peer-0/status", { status: { podIP: "198.18.131.20" } }, "application/merge-patch+json");
    await admin("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "peer" },
      spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: { app: "peer" }, ports: [{ name: "peer", port: 2380 }] },
    });
    await waitFor("the not-ready pod to be published", SETTLE_TIMEOUT_MS, async () =>
      dataOf(await dig([fqdn("peer"), "A"]), "A").join() === "198.18.131.20" ? true : undefined,
    );
    // The pod never became ready (its probe has no agent to run it): without the flag there is no ready endpoint, NXDOMAIN (spec 2.4.1).
    await admin("PATCH", "/api/v1/namespaces/default/services/peer", { spec: { publishNotReadyAddresses: false } }, "application/merge-patch+json");
    await waitFor("NXDOMAIN without publishNotReadyAddresses", TTL * 1000 + SYNC_ALLOWANCE_MS, async () =>
      (await dig([fqdn("peer"), "A"])).status === "NXDOMAIN" ? true : undefined,
    );
    await admin("PATCH", "/api/v1/namespaces/default/services/peer", { spec: { publishNotReadyAddresses: true } }, "application/merge-patch+json");
    await waitFor("published again", TTL * 1000 + SYNC_ALLOWANCE_MS, async () =>
      dataOf(await dig([fqdn("peer"), "A"]), "A").join() === "198.18.131.20" ? true : undefined,
    );
  });

  it("an ExternalName Service is a CNAME, followed through the upstream resolver", async () => {
    await admin("POST", "/api/v1/namespaces/default/services", { metadata: { name: "ext" }, spec: { type: "ExternalName", externalName: EXTERNAL_NAME } });
    const r = await waitFor("the ExternalName", SETTLE_TIMEOUT_MS, async () => {
      const d = await dig([fqdn("ext"), "A"]);
      return d.status === "NOERROR" && d.answer.length ? d : undefined;
    });
    expect(r.answer[0]).toBe(`${fqdn("ext")}. ${TTL} CNAME ${EXTERNAL_NAME}.`);
    expect(dataOf(r, "A")).toEqual([ADDR.external]);
    expect(dataOf(await dig([fqdn("ext"), "CNAME"]), "CNAME")).toEqual([`${EXTERNAL_NAME}.`]);
  });

  it("dns-version TXT; NXDOMAIN and NODATA, each with the SOA", async () => {
    expect(dataOf(await dig([`dns-version.${ZONE}`, "TXT"]), "TXT")).toEqual(['"1.1.0"']);
    const nx = await dig([fqdn("nope"), "A"]);
    expect(nx.status).toBe("NXDOMAIN");
    expect(nx.authority).toHaveLength(1);
    expect(nx.authority[0]).toMatch(new RegExp(`^${ZONE}\\. ${TTL} SOA ns\\.dns\\.${ZONE}\\. hostmaster\\.${ZONE}\\. \\d+ 7200 1800 86400 ${TTL}$`));
    const nodata = await dig([fqdn("nginx"), "AAAA"]);
    expect(nodata.status).toBe("NOERROR");
    expect(nodata.answer).toEqual([]);
    expect(nodata.authority[0]).toMatch(/ SOA /);
  });

  it("forwards other names to the node's resolver", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await dig([EXTERNAL_NAME, "A"]);
      expect(r.status).toBe("NOERROR");
      expect(r.flags).not.toContain("aa");
      expect(dataOf(r, "A")).toEqual([ADDR.external]);
    }
    expect((await dig(["unknown.example.test", "A"])).status).toBe("NXDOMAIN");
  });

  it("search-path resolution of short names through kubelet's resolv.conf (dig +search and glibc)", async () => {
    const conf = await runAgent(["--print-resolv-conf", "default", "--dns-addr", ADDR.nodePodSide]);
    expect(conf.code, conf.stderr).toBe(0);
    // `ip netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf for its command only.
    resolvDir = `/etc/netns/${lab!.ns("pod")}`;
    mkdirSync(resolvDir, { recursive: true });
    writeFileSync(`${resolvDir}/resolv.conf`, conf.stdout);
    for (const name of ["nginx", "nginx.default", "nginx.default.svc"]) {
      const out = await lab!.must("pod", ["dig", "+search", "+short", name, "A"]);
      expect(out.trim(), name).toBe(nginxIP);
      const getent = await lab!.must("pod", ["getent", "ahostsv4", name]);
      expect(getent.split("\n")[0]!.split(/\s+/)[0], name).toBe(nginxIP);
    }
    // A name outside the cluster still resolves: the search list fails first, then the name as given.
    const out = await lab!.must("pod", ["getent", "ahostsv4", EXTERNAL_NAME]);
    expect(out.split(/\s+/)[0]).toBe(ADDR.external);
  });

  it("an address that is not the node's: one line, exit 1", async () => {
    const token = (await admin<{ status: { token: string } }>("POST", "/api/v1/nodes/dns-node-2/token")).status.token;
    const r = await runAgent(
      ["--api", worker!.url, "--node", "dns-node-2", "--node-ip", ADDR.node, "--dns-addr", "198.18.133.1", "--dns-upstream", `${ADDR.root}:${PORT.upstream}`],
      { netns: lab!.ns("node"), env: { SVCEDGE_TOKEN: token } },
    );
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("svcedge-agent:"))).toEqual(["svcedge-agent: cannot serve DNS on 198.18.133.1:53: EADDRNOTAVAIL"]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("the agent's /metrics counts DNS requests, responses by rcode, cache hits and forward latency", async () => {
    const text = await (await fetch(`http://${ADDR.node}:${PORT.metrics}/metrics`)).text();
    expect(text).toMatch(/^svcedge_agent_dns_requests_total\{proto="udp"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_requests_total\{proto="tcp"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_responses_total\{rcode="NXDOMAIN"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_cache_hits_total\{cache="forward"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_forward_duration_seconds_count [1-9]/m);
    expect(agent!.output()).not.toMatch(/\n\s+at /);
  });
});
