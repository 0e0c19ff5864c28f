// The kernel backends against the real kernel, in namespaces this test creates:
//   client (198.18.2.2) -- (198.18.2.1) node (198.18.0.1) -- pod (198.18.0.2, 198.18.0.3)
//                                        node (198.18.3.1) -- pod2 (198.18.3.2, a client pod of a second pod range)
// Rules go into "node"; pods run real HTTP servers that report who called them.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EndpointSlice, Service } from "../../../src/api/types";
import { AgentMetrics } from "../../../src/agent/metrics";
import { ServiceProxy } from "../../../src/agent/service-proxy";
import type { Proxier } from "../../../src/agent/proxy/proxier";
import { buildProxyState, type ProxyState } from "../../../src/agent/proxy/state";
import { NftablesProxier } from "../../../src/agent/proxy/nftables/apply";
import { IptablesProxier } from "../../../src/agent/proxy/iptables/apply";
import { renderNftables } from "../../../src/agent/proxy/nftables/render";
import { NftModel } from "./trace/nftables";
import { ConntrackTable } from "../../../src/agent/proxy/conntrack";
import { JUMP_RULES } from "../../../src/agent/proxy/iptables/chains";
import { describeNetns, ECHO_SERVER, httpGetIn, NetnsLab } from "../netns";
import { endpoint, service, slice } from "./fixtures";

const NODE_IP = "198.18.0.1";
const NODE_CLIENT_SIDE_IP = "198.18.2.1";
const POD_A = "198.18.0.2";
const POD_B = "198.18.0.3";
const NODE_POD2_SIDE_IP = "198.18.3.1";
const POD2 = "198.18.3.2";
const CLIENT = "198.18.2.2";
const CLUSTER_IP = "10.96.0.10";
/** internalTrafficPolicy: Local, its endpoint on this node. */
const NODE_LOCAL_CLUSTER_IP = "10.96.0.12";
const NODE_PORT = 30080;
/** externalTrafficPolicy: Local, every endpoint on another node. */
const REMOTE_EDGE_NODE_PORT = 30090;
const POD_CIDR = "198.18.0.0/24";
/** The range the lab's ClusterIPs come from (the large-table test's 10.97/16 is outside it). */
const SERVICE_CIDR = "10.96.0.0/24";
/** In the service range, but no Service holds it. */
const UNALLOCATED_CLUSTER_IP = "10.96.0.99";
/** An SCTP server (one-to-one style) that answers each association with its own address; it exits when its stdin closes. */
const SCTP_SERVER = `
import os, socket, sys, threading
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.bind((host, port)); s.listen(8); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(host.encode()); c.close()
`;
/** lab.startNode runs Node.js: this starts the Python server (which ends with this process, through its stdin) and passes its "ready" on. */
const SCTP_ECHO_LAUNCHER = `
const { spawn } = require("node:child_process");
spawn("python3", ["-c", ${JSON.stringify(SCTP_SERVER)}, ...process.argv.slice(1)], { stdio: ["pipe", "inherit", "inherit"] });
`;
const SCTP_CLIENT = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.settimeout(3); s.connect((sys.argv[1], int(sys.argv[2]))); print(s.recv(64).decode())
`;
/** Two pod ranges, as two --cluster-cidr flags give. */
const CLUSTER_CIDRS = [POD_CIDR, "198.18.3.0/24"];
/** How long a connection the rules drop (or send to a dropped destination) is given before it counts as dropped. */
const DROPPED_TIMEOUT_MS = 1000;
/** Enough connections that both of two endpoints are seen (a miss has probability 2^-19). */
const SPREAD_ATTEMPTS = 20;

type Ready = { a: boolean; b: boolean };

const webService = service("default", "web", {
  type: "NodePort",
  clusterIP: CLUSTER_IP,
  ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: NODE_PORT }],
});
const webSlice = (ready: Ready) =>
  slice("default", "web", [{ name: "http", port: 8080 }], [endpoint(POD_A, { ready: ready.a }), endpoint(POD_B, { ready: ready.b })]);
const dnsService = service("kube-system", "dns", { clusterIP: "10.96.0.53", ports: [{ name: "dns", port: 53, protocol: "UDP" }] });
const dnsSlice = slice("kube-system", "dns", [{ name: "dns", port: 53, protocol: "UDP" }], [endpoint(POD_A)]);
const remoteEdgeService = service("default", "remote-edge", {
  type: "NodePort",
  clusterIP: "10.96.0.11",
  externalTrafficPolicy: "Local",
  ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: REMOTE_EDGE_NODE_PORT }],
});
const remoteEdgeSlice = slice(
  "default",
  "remote-edge",
  [{ name: "http", port: 8080 }],
  [endpoint(POD_A, { node: "node-b" }), endpoint(POD_B, { node: "node-b" })],
);
const nodeLocalService = service("default", "node-local", {
  clusterIP: NODE_LOCAL_CLUSTER_IP,
  internalTrafficPolicy: "Local",
  ports: [{ name: "http", port: 80, targetPort: 8080 }],
});
const nodeLocalSlice = slice(
  "default",
  "node-local",
  [{ name: "http", port: 8080 }],
  [endpoint(POD_A, { node: "node-a" }), endpoint(POD_B, { node: "node-b" })],
);

/** A Service on `clusterIP` port 80 with both pods behind it (more Services for the cases below). */
function extraService(name: string, clusterIP: string, spec: Partial<Service["spec"]> = {}, labels?: Record<string, string>): [Service, EndpointSlice] {
  return [
    service("default", name, { clusterIP, ports: [{ name: "http", port: 80, targetPort: 8080 }], ...spec }, [], labels),
    slice("default", name, [{ name: "http", port: 8080 }], [endpoint(POD_A), endpoint(POD_B)]),
  ];
}

function clusterState(ready: Ready, extra: [Service, EndpointSlice][] = []): ProxyState {
  return buildProxyState({
    services: [webService, dnsService, remoteEdgeService, nodeLocalService, ...extra.map(([svc]) => svc)],
    slices: [webSlice(ready), dnsSlice, remoteEdgeSlice, nodeLocalSlice, ...extra.map(([, sl]) => sl)],
    nodeName: "node-a",
    nodeIPs: [NODE_IP, NODE_CLIENT_SIDE_IP, NODE_POD2_SIDE_IP],
  });
}

/** An SCTP NodePort Service with one endpoint on pod A. */
const SCTP_CLUSTER_IP = "10.96.0.30";
const sctpService: [Service, EndpointSlice] = [
  service("default", "signal", {
    type: "NodePort",
    clusterIP: SCTP_CLUSTER_IP,
    ports: [{ name: "sctp", port: 9000, protocol: "SCTP", targetPort: 9000, nodePort: 30091 }],
  }),
  slice("default", "signal", [{ name: "sctp", port: 9000, protocol: "SCTP" }], [endpoint(POD_A)]),
];
/**
 * Local traffic policies on SCTP and UDP (their own endpoint maps): internal and external
 * Local with one endpoint here, and external Local with none here (the short-circuit chain).
 */
const localPolicyServices: [Service, EndpointSlice][] = [
  [
    service("default", "signal-local", {
      type: "NodePort",
      clusterIP: "10.96.0.31",
      externalTrafficPolicy: "Local",
      internalTrafficPolicy: "Local",
      ports: [{ name: "sctp", port: 9000, protocol: "SCTP", targetPort: 9000, nodePort: 30092 }],
    }),
    slice("default", "signal-local", [{ name: "sctp", port: 9000, protocol: "SCTP" }], [endpoint(POD_A, { node: "node-a" }), endpoint(POD_B)]),
  ],
  [
    service("default", "dns-edge", {
      type: "NodePort",
      clusterIP: "10.96.0.32",
      externalTrafficPolicy: "Local",
      ports: [{ name: "dns", port: 53, protocol: "UDP", nodePort: 30093 }],
    }),
    slice("default", "dns-edge", [{ name: "dns", port: 53, protocol: "UDP" }], [endpoint(POD_A), endpoint(POD_B)]),
  ],
];
/** Whether this kernel has SCTP sockets (real SCTP traffic needs them; rule programming does not). */
const SCTP_UNAVAILABLE = existsSync("/proc/net/sctp") ? undefined : "the kernel has no SCTP support (no /proc/net/sctp), so no SCTP socket can be opened";

/** What the pod's veth is called (its name is random). */
const podInterface = async (lab: NetnsLab): Promise<string> =>
  (await lab.must("pod", ["ip", "-o", "link", "show", "type", "veth"])).match(/^\d+: ([^@:]+)/)![1]!;

async function createLab(): Promise<NetnsLab> {
  const lab = NetnsLab.create();
  try {
    for (const role of ["node", "pod", "client", "pod2"]) await lab.addNamespace(role);
    await lab.link({ ns: "node", cidr: `${NODE_IP}/24` }, { ns: "pod", cidr: `${POD_A}/24` });
    await lab.link({ ns: "node", cidr: `${NODE_CLIENT_SIDE_IP}/24` }, { ns: "client", cidr: `${CLIENT}/24` });
    await lab.link({ ns: "node", cidr: `${NODE_POD2_SIDE_IP}/24` }, { ns: "pod2", cidr: `${POD2}/24` });
    const podIf = await podInterface(lab);
    await lab.must("pod", ["ip", "addr", "add", `${POD_B}/24`, "dev", podIf]);
    await lab.must("node", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    // connect() needs a route to the ClusterIP before DNAT re-routes the packet to the pod.
    await lab.must("node", ["ip", "route", "add", "10.96.0.0/12", "via", POD_A]);
    // Deliberately no route back from the pods to the client: NodePort replies work only if masqueraded.
    await lab.must("client", ["ip", "route", "add", "default", "via", NODE_CLIENT_SIDE_IP]);
    // Pods of both ranges reach each other through the node, as a CNI would route them.
    await lab.must("pod2", ["ip", "route", "add", "default", "via", NODE_POD2_SIDE_IP]);
    await lab.must("pod", ["ip", "route", "add", "198.18.3.0/24", "via", NODE_IP]);
    await lab.startNode("pod", ECHO_SERVER, [POD_A, "8080"]);
    await lab.startNode("pod", ECHO_SERVER, [POD_B, "8080"]);
    return lab;
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

interface KernelBackend {
  name: string;
  tools: string[];
  make: (netns: string, nodePortIPs?: string[]) => Proxier;
  /** The backend's rules as the kernel lists them, normalized so equal rulesets compare equal. */
  snapshot: (lab: NetnsLab) => Promise<string>;
  /** What of ours is left in the kernel after cleanup (should be nothing). */
  leftovers: (lab: NetnsLab) => Promise<string[]>;
}

/** nft lists chains in creation order and map elements in hash order: sort both. */
function normalizeNftListing(text: string): string {
  const blocks: string[] = [];
  let current: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\t(chain|map|set) /.test(line)) current = [line.trim()];
    else if (line === "\t}")
      blocks.push(current.join(" ").replace(/elements = \{ (.*) \}/, (_m, els: string) => `elements = { ${els.split(/,\s*/).sort().join(", ")} }`));
    else if (current.length) current.push(line.trim());
  }
  return blocks.sort().join("\n");
}

const iptablesSave = async (lab: NetnsLab): Promise<string> =>
  (await lab.must("node", ["iptables-save"]))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");

const backends: KernelBackend[] = [
  {
    name: "nftables",
    tools: ["nft", "conntrack"],
    make: (netns, nodePortIPs) =>
      new NftablesProxier({ netns, clusterCIDRs: CLUSTER_CIDRS, serviceCIDRs: [SERVICE_CIDR], ...(nodePortIPs ? { nodePortIPs } : {}) }),
    snapshot: async (lab) => lab.must("node", ["nft", "list", "table", "ip", "svcedge"]),
    leftovers: async (lab) => (await lab.must("node", ["nft", "list", "tables"])).split("\n").filter((l) => l.includes("svcedge")),
  },
  {
    name: "iptables",
    tools: ["iptables", "iptables-save", "iptables-restore", "conntrack"],
    make: (netns, nodePortIPs) => new IptablesProxier({ netns, clusterCIDRs: CLUSTER_CIDRS, ...(nodePortIPs ? { nodePortIPs } : {}) }),
    snapshot: iptablesSave,
    leftovers: async (lab) => (await iptablesSave(lab)).split("\n").filter((l) => l.includes("SVCEDGE")),
  },
];

for (const backend of backends) {
  describeNetns(`kernel: ${backend.name} in a network namespace`, backend.tools, () => {
    let lab: NetnsLab;
    let proxier: Proxier;
    beforeAll(async () => {
      lab = await createLab();
      proxier = backend.make(lab.ns("node"));
    });
    afterAll(async () => {
      await lab?.destroy();
    });

    it("applies the ruleset, and applying it again changes nothing", async () => {
      expect(await proxier.sync(clusterState({ a: true, b: true }))).toMatchObject({ ok: true, mode: "full" });
      const first = await backend.snapshot(lab);
      expect(await proxier.sync(clusterState({ a: true, b: true }), { full: true })).toMatchObject({ ok: true });
      expect(await backend.snapshot(lab)).toBe(first);
      expect(first).toContain(CLUSTER_IP);
    });

    if (backend.name === "iptables") {
      it("jumps from each built-in chain exactly once", async () => {
        const save = await iptablesSave(lab);
        const tableLines = (table: string) =>
          save
            .slice(save.indexOf(`*${table}`))
            .split("\nCOMMIT")[0]!
            .split("\n");
        for (const j of JUMP_RULES) {
          const target = j.args.at(-1)!;
          const count = tableLines(j.table).filter((l) => l.startsWith(`-A ${j.chain} `) && l.endsWith(`-j ${target}`)).length;
          const expected = JUMP_RULES.filter((k) => k.table === j.table && k.chain === j.chain && k.args.at(-1) === target).length;
          expect(count, `${j.table} ${j.chain} -> ${target}`).toBe(expected);
        }
      });
    }

    it("carries a connection from the node to the ClusterIP to both pods", async () => {
      const answers = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`, SPREAD_ATTEMPTS);
      expect(new Set(answers.map((a) => a.server ?? a.error))).toEqual(new Set([`${POD_A}:8080`, `${POD_B}:8080`]));
    });

    it("masquerades NodePort traffic from outside, so the pod's reply finds its way back", async () => {
      const [answer] = await httpGetIn(lab, "client", `http://${NODE_CLIENT_SIDE_IP}:${NODE_PORT}/`);
      expect(answer?.error).toBeUndefined();
      expect(answer?.remote).toBe(NODE_IP);
    });

    it("keeps the source of a pod in the second pod range (two --cluster-cidr)", async () => {
      const answers = await httpGetIn(lab, "pod2", `http://${CLUSTER_IP}/`, 4);
      expect(answers.map((a) => a.error ?? a.remote)).toEqual([POD2, POD2, POD2, POD2]);
    });

    it("short-circuits node and pod traffic to a Local-policy NodePort without local endpoints, and drops the outside's", async () => {
      const both = new Set([`${POD_A}:8080`, `${POD_B}:8080`]);
      const fromNode = await httpGetIn(lab, "node", `http://${NODE_IP}:${REMOTE_EDGE_NODE_PORT}/`, 4);
      expect(fromNode.map((a) => a.error ?? a.remote)).toEqual([NODE_IP, NODE_IP, NODE_IP, NODE_IP]);
      expect(both).toContain(fromNode[0]!.server);
      const fromPod = await httpGetIn(lab, "pod2", `http://${NODE_POD2_SIDE_IP}:${REMOTE_EDGE_NODE_PORT}/`, 4);
      expect(fromPod.map((a) => a.error ?? a.remote)).toEqual([POD2, POD2, POD2, POD2]);
      const [fromOutside] = await httpGetIn(lab, "client", `http://${NODE_CLIENT_SIDE_IP}:${REMOTE_EDGE_NODE_PORT}/`, 1, DROPPED_TIMEOUT_MS);
      expect(fromOutside?.error).toBe("ETIMEDOUT");
    });

    it("masquerades off-cluster clients of an internalTrafficPolicy: Local ClusterIP, and keeps pods' sources", async () => {
      // The client reaches the ClusterIP through this node, and the pod has no route back to it.
      const [fromOutside] = await httpGetIn(lab, "client", `http://${NODE_LOCAL_CLUSTER_IP}/`, 1, DROPPED_TIMEOUT_MS);
      expect(fromOutside).toEqual({ server: `${POD_A}:8080`, remote: NODE_IP });
      const [fromPod] = await httpGetIn(lab, "pod2", `http://${NODE_LOCAL_CLUSTER_IP}/`);
      expect(fromPod).toEqual({ server: `${POD_A}:8080`, remote: POD2 });
    });

    if (backend.name === "iptables") {
      it("serves a NodePort on 127.0.0.1 from the node (route_localnet, as kube-proxy's iptables mode)", async () => {
        expect((await lab.must("node", ["sysctl", "-n", "net.ipv4.conf.all.route_localnet"])).trim()).toBe("1");
        const [answer] = await httpGetIn(lab, "node", `http://127.0.0.1:${NODE_PORT}/`, 1, DROPPED_TIMEOUT_MS);
        expect(answer?.error).toBeUndefined();
        expect(answer?.remote).toBe(NODE_IP);
      });
    } else {
      it("does not serve NodePorts on 127.0.0.1 (as kube-proxy's nftables mode)", async () => {
        const [answer] = await httpGetIn(lab, "node", `http://127.0.0.1:${NODE_PORT}/`, 1, DROPPED_TIMEOUT_MS);
        expect(answer?.error).toBe("ECONNREFUSED");
      });
    }

    it("answers NodePorts only on the --nodeport-addresses it was given", async () => {
      const restricted = backend.make(lab.ns("node"), [NODE_CLIENT_SIDE_IP]);
      try {
        expect(await restricted.sync(clusterState({ a: true, b: true }))).toMatchObject({ ok: true, mode: "full" });
        const [chosen] = await httpGetIn(lab, "client", `http://${NODE_CLIENT_SIDE_IP}:${NODE_PORT}/`);
        expect(chosen?.error).toBeUndefined();
        const [other] = await httpGetIn(lab, "client", `http://${NODE_IP}:${NODE_PORT}/`, 1, DROPPED_TIMEOUT_MS);
        expect(other?.error).toBe("ECONNREFUSED");
      } finally {
        (restricted as { close?: () => void }).close?.();
        // Back to every local address for the tests that follow.
        expect(await proxier.sync(clusterState({ a: true, b: true }), { full: true })).toMatchObject({ ok: true });
      }
    });

    it("applies an endpoint change and stops sending to the removed endpoint", async () => {
      const result = await proxier.sync(clusterState({ a: true, b: false }));
      expect(result).toMatchObject({ ok: true, mode: "partial" });
      const afterUpdate = await backend.snapshot(lab);
      const answers = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`, 10);
      expect(new Set(answers.map((a) => a.server ?? a.error))).toEqual(new Set([`${POD_A}:8080`]));
      // The incremental result is the ruleset a full sync would have written.
      await proxier.sync(clusterState({ a: true, b: false }), { full: true });
      const full = await backend.snapshot(lab);
      if (backend.name === "nftables") expect(normalizeNftListing(afterUpdate)).toBe(normalizeNftListing(full));
      else expect(afterUpdate).toBe(full);
    });

    it("rejects connections to a service without endpoints", async () => {
      await proxier.sync(clusterState({ a: false, b: false }));
      const [answer] = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`);
      expect(answer?.error).toBe("ECONNREFUSED");
    });

    describe("UDP conntrack, reconciled by the service proxy", () => {
      const DNS_IP = "10.96.0.53";
      const dnsEndpoints = (eps: ReturnType<typeof endpoint>[]) => ({
        services: [
          service("default", "web", { type: "NodePort", clusterIP: CLUSTER_IP, ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
          service("kube-system", "dns", { clusterIP: DNS_IP, ports: [{ name: "dns", port: 53, protocol: "UDP" }] }),
        ],
        slices: [
          slice("default", "web", [{ name: "http", port: 8080 }], [endpoint(POD_A), endpoint(POD_B)]),
          slice("kube-system", "dns", [{ name: "dns", port: 53, protocol: "UDP" }], eps),
        ],
      });
      /** A freshly started agent's proxy (no memory of earlier syncs) over the given cluster. */
      const agentProxy = (cluster: ReturnType<typeof dnsEndpoints>) =>
        new ServiceProxy({
          proxier: backend.make(lab.ns("node")),
          nodeName: "node-a",
          nodeIPs: [NODE_IP, NODE_CLIENT_SIDE_IP],
          services: () => cluster.services,
          slices: () => cluster.slices,
          metrics: new AgentMetrics(),
          conntrack: new ConntrackTable({ netns: lab.ns("node") }),
        });
      /** One datagram from the node to the DNS ClusterIP: a new flow, DNATed to one endpoint. */
      const sendUDP = () =>
        lab.must("node", [process.execPath, "-e", `const s=require("node:dgram").createSocket("udp4");s.send("x",53,"${DNS_IP}",()=>s.close())`]);
      /** Whether a flow to the ClusterIP is answered by `ip` (the reply tuple of a DNATed flow comes from the endpoint). */
      const hasFlowTo = async (ip: string) =>
        (await lab.must("node", ["conntrack", "-L", "-p", "udp", "--orig-dst", DNS_IP])).includes(`src=${ip} dst=${NODE_IP}`);

      it("deletes flows to an endpoint removed while the agent was down", async () => {
        await lab.must("node", ["conntrack", "-F"]);
        expect(await agentProxy(dnsEndpoints([endpoint(POD_A)])).sync(true)).toBe(true);
        await sendUDP();
        expect(await hasFlowTo(POD_A)).toBe(true);
        // The agent stops; meanwhile POD_A goes away and POD_B takes over. A new agent starts.
        expect(await agentProxy(dnsEndpoints([endpoint(POD_B)])).sync(true)).toBe(true);
        expect(await hasFlowTo(POD_A)).toBe(false);
        await sendUDP();
        expect(await hasFlowTo(POD_B)).toBe(true);
      });

      it("keeps flows to a terminating endpoint that still serves, and deletes them once it is gone", async () => {
        await lab.must("node", ["conntrack", "-F"]);
        const cluster = dnsEndpoints([endpoint(POD_A)]);
        const proxy = agentProxy(cluster);
        expect(await proxy.sync(false)).toBe(true);
        await sendUDP();
        expect(await hasFlowTo(POD_A)).toBe(true);
        // POD_A terminates but still serves; POD_B is ready, so new flows go to POD_B only.
        Object.assign(cluster, dnsEndpoints([endpoint(POD_A, { ready: false, serving: true, terminating: true }), endpoint(POD_B)]));
        expect(await proxy.sync(false)).toBe(true);
        expect(await hasFlowTo(POD_A)).toBe(true);
        Object.assign(cluster, dnsEndpoints([endpoint(POD_B)]));
        expect(await proxy.sync(false)).toBe(true);
        expect(await hasFlowTo(POD_A)).toBe(false);
      });
    });

    it("programs an SCTP Service next to TCP and UDP ones, and a table of UDP Services alone", async () => {
      // Incrementally (added to the table the last test left), then in a full sync.
      for (const full of [false, true]) {
        expect(await proxier.sync(clusterState({ a: true, b: true }, [sctpService, ...localPolicyServices]), { full })).toMatchObject({ ok: true });
        const rules = await backend.snapshot(lab);
        expect(rules).toMatch(backend.name === "nftables" ? /10\.96\.0\.30 \. sctp \. 9000/ : /-d 10\.96\.0\.30\/32 -p sctp .*-m sctp --dport 9000 /);
        expect(rules).toMatch(backend.name === "nftables" ? /sctp \. 30091/ : /-p sctp .*-m sctp --dport 30091 /);
        if (backend.name === "nftables")
          for (const chain of ["local-clusterip-sctp-mod-1", "external-sctp-mod-2-local-1", "external-udp-mod-2-local-0"])
            expect(rules).toContain(`chain ${chain} {`);
        const answers = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`, SPREAD_ATTEMPTS);
        expect(new Set(answers.map((a) => a.server ?? a.error))).toEqual(new Set([`${POD_A}:8080`, `${POD_B}:8080`]));
      }
      const udpOnly = buildProxyState({ services: [dnsService], slices: [dnsSlice], nodeName: "node-a", nodeIPs: [NODE_IP] });
      expect(await proxier.sync(udpOnly, { full: true })).toMatchObject({ ok: true, mode: "full" });
      expect(await backend.snapshot(lab)).toMatch(
        backend.name === "nftables" ? /10\.96\.0\.53 \. udp \. 53/ : /-d 10\.96\.0\.53\/32 -p udp .*-m udp --dport 53 /,
      );
    });

    it.skipIf(SCTP_UNAVAILABLE !== undefined)(`carries SCTP traffic to the endpoint${SCTP_UNAVAILABLE ? ` (skipped: ${SCTP_UNAVAILABLE})` : ""}`, async () => {
      // Needs a kernel with SCTP: Node.js has no SCTP sockets, python3's socket module does.
      expect(await proxier.sync(clusterState({ a: true, b: true }, [sctpService]))).toMatchObject({ ok: true });
      await lab.startNode("pod", SCTP_ECHO_LAUNCHER, [POD_A, "9000"]);
      const reply = await lab.must("node", ["python3", "-c", SCTP_CLIENT, SCTP_CLUSTER_IP, "9000"]);
      expect(reply.trim()).toBe(POD_A);
    });

    it("programs every other Service when the kernel rejects one, keeps new changes flowing, and retries it once it changes", async () => {
      const metrics = new AgentMetrics();
      // The kernel refuses this affinity timeout (nft: "value too large"; iptables' recent: out of range).
      const bad = (timeoutSeconds: number) =>
        extraService("bad", "10.96.0.40", { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds } } });
      const fresh = extraService("fresh", "10.96.0.41");
      let ready: Ready = { a: true, b: true };
      let extra = [bad(99_999_999_999), fresh];
      const proxy = new ServiceProxy({
        proxier,
        nodeName: "node-a",
        nodeIPs: [NODE_IP, NODE_CLIENT_SIDE_IP],
        services: () => [webService, dnsService, ...extra.map(([svc]) => svc)],
        slices: () => [webSlice(ready), dnsSlice, ...extra.map(([, sl]) => sl)],
        metrics,
        conntrack: { cleanStaleUDP: async () => ({ ok: true, filters: 0, entries: 0 }) },
      });
      expect(await proxy.sync(true)).toBe(true);
      expect([...proxy.rejectedServices().keys()]).toEqual(["default/bad"]);
      expect(metrics.rejectedServices.get({ service: "default/bad" })).toBe(1);
      expect(metrics.rejectedServiceSyncs.get()).toBe(1);
      let rules = await backend.snapshot(lab);
      expect(rules).not.toContain("10.96.0.40");
      expect(rules).toContain("10.96.0.41");
      const [answer] = await httpGetIn(lab, "node", "http://10.96.0.41/");
      expect(answer?.error).toBeUndefined();

      // An endpoint going unready is still applied while the bad Service stays rejected.
      ready = { a: true, b: false };
      expect(await proxy.sync(false)).toBe(true);
      const answers = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`, 10);
      expect(new Set(answers.map((a) => a.server ?? a.error))).toEqual(new Set([`${POD_A}:8080`]));
      expect(metrics.rejectedServiceSyncs.get()).toBe(1);

      // Fixed: the next sync programs it and stops reporting it.
      extra = [bad(600), fresh];
      expect(await proxy.sync(false)).toBe(true);
      expect(proxy.rejectedServices().size).toBe(0);
      expect(metrics.rejectedServices.get({ service: "default/bad" })).toBe(0);
      rules = await backend.snapshot(lab);
      expect(rules).toContain("10.96.0.40");
      const [fixed] = await httpGetIn(lab, "node", "http://10.96.0.40/");
      expect(fixed?.error).toBeUndefined();
    });

    it("leaves out Services labelled for another proxy or as headless, as kube-proxy's label selector does", async () => {
      const state = clusterState({ a: true, b: true }, [
        extraService("other-proxy", "10.96.0.42", {}, { "service.kubernetes.io/service-proxy-name": "other" }),
        extraService("labelled-headless", "10.96.0.43", {}, { "service.kubernetes.io/headless": "" }),
      ]);
      expect(await proxier.sync(state, { full: true })).toMatchObject({ ok: true });
      const rules = await backend.snapshot(lab);
      expect(rules).toContain(CLUSTER_IP);
      expect(rules).not.toContain("10.96.0.42");
      expect(rules).not.toContain("10.96.0.43");
    });

    if (backend.name === "nftables") {
      it("rejects a ClusterIP's undefined port at once and drops traffic to an unallocated ClusterIP (cluster-ips-check)", async () => {
        expect(await proxier.sync(clusterState({ a: true, b: true }))).toMatchObject({ ok: true });
        // The pod holds these addresses too: without the check it would answer both connections.
        const podIf = await podInterface(lab);
        for (const ip of [CLUSTER_IP, UNALLOCATED_CLUSTER_IP]) {
          await lab.must("pod", ["ip", "addr", "add", `${ip}/32`, "dev", podIf]);
          await lab.startNode("pod", ECHO_SERVER, [ip, "8080"]);
        }
        const [undefinedPort] = await httpGetIn(lab, "node", `http://${CLUSTER_IP}:8080/`);
        expect(undefinedPort?.error).toBe("ECONNREFUSED");
        const [forwarded] = await httpGetIn(lab, "client", `http://${CLUSTER_IP}:8080/`);
        expect(forwarded?.error).toBe("ECONNREFUSED");
        const [unallocated] = await httpGetIn(lab, "node", `http://${UNALLOCATED_CLUSTER_IP}:8080/`, 1, DROPPED_TIMEOUT_MS);
        expect(unallocated?.error).toBe("ETIMEDOUT");
        // The defined port still works.
        const [served] = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`);
        expect(served?.error).toBeUndefined();
      });
    }

    it("cleans up everything it owns", async () => {
      expect(await proxier.cleanup()).toEqual({ ok: true });
      expect(await backend.leftovers(lab)).toEqual([]);
      // Cleaning up twice is fine.
      expect(await proxier.cleanup()).toEqual({ ok: true });
    });
  });
}

/** The big-table case: enough Services that a per-service set or per-endpoint chain layout would take seconds. */
const LARGE_SERVICES = 2000;
const LARGE_ENDPOINTS = 10;

/** `web` (the real pods) among LARGE_SERVICES - 1 other Services whose endpoints are unrouted addresses. */
function largeState(ready: Ready): ProxyState {
  const base = clusterState(ready);
  const services = [];
  const slices = [];
  for (let s = 0; s < LARGE_SERVICES - 1; s++) {
    const name = `bulk-${s}`;
    services.push(service(`ns-${s % 20}`, name, { clusterIP: `10.97.${s >> 8}.${s & 255}`, ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    const eps = [];
    for (let e = 0; e < LARGE_ENDPOINTS; e++) {
      const n = s * LARGE_ENDPOINTS + e;
      eps.push(endpoint(`198.19.${n >> 8}.${n & 255}`));
    }
    slices.push(slice(`ns-${s % 20}`, name, [{ name: "http", port: 8080 }], eps));
  }
  const bulk = buildProxyState({ services, slices, nodeName: "node-a", nodeIPs: base.nodeIPs });
  return { ...base, services: [...base.services, ...bulk.services] };
}

describeNetns(`kernel: nftables with ${LARGE_SERVICES} Services x ${LARGE_ENDPOINTS} endpoints`, ["nft"], () => {
  let lab: NetnsLab;
  let proxier: NftablesProxier;
  beforeAll(async () => {
    lab = await createLab();
    proxier = new NftablesProxier({ netns: lab.ns("node"), clusterCIDRs: CLUSTER_CIDRS });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("applies the large table; traced and real connections land on the right endpoints", async () => {
    const state = largeState({ a: true, b: true });
    expect(await proxier.sync(state)).toMatchObject({ ok: true, mode: "full" });
    // The tracer reads what the kernel was given: a bulk service spreads over its ten endpoints.
    const model = new NftModel(renderNftables(state, { clusterCIDRs: CLUSTER_CIDRS }));
    const probe = 1234;
    const traced = model.trace({ src: "198.18.2.2", dst: `10.97.${probe >> 8}.${probe & 255}`, proto: "TCP", dport: 80 }, { nodeIPs: state.nodeIPs });
    const first = probe * LARGE_ENDPOINTS;
    expect(traced.output.split(", ")).toEqual(Array.from({ length: LARGE_ENDPOINTS }, (_, e) => `198.19.${(first + e) >> 8}.${(first + e) & 255}:8080`).sort());
    expect(model.trace({ src: "198.18.2.2", dst: CLUSTER_IP, proto: "TCP", dport: 80 }, { nodeIPs: state.nodeIPs }).output).toBe(
      `${POD_A}:8080, ${POD_B}:8080`,
    );
    const answers = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`, SPREAD_ATTEMPTS);
    expect(new Set(answers.map((a) => a.server ?? a.error))).toEqual(new Set([`${POD_A}:8080`, `${POD_B}:8080`]));
    const [nodePort] = await httpGetIn(lab, "client", `http://${NODE_CLIENT_SIDE_IP}:${NODE_PORT}/`);
    expect(nodePort?.remote).toBe(NODE_IP);
  });

  it("applies one endpoint change incrementally, and a later full sync refills the same table", async () => {
    const changed = largeState({ a: true, b: false });
    expect(await proxier.sync(changed)).toMatchObject({ ok: true, mode: "partial" });
    const answers = await httpGetIn(lab, "node", `http://${CLUSTER_IP}/`, 10);
    expect(new Set(answers.map((a) => a.server ?? a.error))).toEqual(new Set([`${POD_A}:8080`]));
    const afterUpdate = normalizeNftListing(await lab.must("node", ["nft", "list", "table", "ip", "svcedge"]));
    expect(await proxier.sync(changed, { full: true })).toMatchObject({ ok: true, mode: "full" });
    expect(normalizeNftListing(await lab.must("node", ["nft", "list", "table", "ip", "svcedge"]))).toBe(afterUpdate);
  });
});
