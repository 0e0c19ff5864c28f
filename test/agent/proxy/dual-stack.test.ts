// Dual-stack Services through the kernel backends, one proxy per IP family as the agent runs
// them on a node with addresses of both families (kube-proxy's MetaProxier):
//   client (198.18.2.2, 2001:db8:2::2) -- (198.18.2.1, 2001:db8:2::1) node (198.18.0.1, 2001:db8:0:1::1) -- pod (198.18.0.2, 2001:db8:0:1::2)
//                                                                      node (198.18.3.1, 2001:db8:0:3::1) -- pod2 (198.18.3.2, 2001:db8:0:3::2)
// The pod runs an HTTP server on each of its addresses; pod2 is a client pod.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EndpointSlice, Service } from "../../../src/api/types";
import { AgentMetrics } from "../../../src/agent/metrics";
import { ServiceProxy } from "../../../src/agent/service-proxy";
import { ConntrackTable } from "../../../src/agent/proxy/conntrack";
import { IptablesProxier } from "../../../src/agent/proxy/iptables/apply";
import { NftablesProxier } from "../../../src/agent/proxy/nftables/apply";
import type { CommandResult } from "../../../src/agent/proxy/command";
import type { Proxier } from "../../../src/agent/proxy/proxier";
import { renderIptables } from "../../../src/agent/proxy/iptables/render";
import { renderNftables } from "../../../src/agent/proxy/nftables/render";
import { buildProxyState, type IPFamily } from "../../../src/agent/proxy/state";
import { runAgent } from "../../../scripts/lab/agent-process";
import { describeNetns, ECHO_SERVER, httpGetIn, NetnsLab } from "../netns";
import { DUAL_STACK_INPUT, endpoint, service, slice } from "./fixtures";

const NODE = "node-a";
const NODE_IP = "198.18.0.1";
const NODE_IP6 = "2001:db8:0:1::1";
const NODE_CLIENT_SIDE_IP6 = "2001:db8:2::1";
const POD = "198.18.0.2";
const POD6 = "2001:db8:0:1::2";
/** A second IPv6 address of the pod (the UDP endpoint that takes over). */
const POD6_B = "2001:db8:0:1::3";
const POD2_IP6 = "2001:db8:0:3::2";
const CLIENT_IP6 = "2001:db8:2::2";
const CLUSTER_IP = "10.96.0.10";
const CLUSTER_IP6 = "2001:db8:96::10";
const NODE_PORT = 30080;
/** Pod ranges of both families, as --cluster-cidr given once per family. */
const CLUSTER_CIDRS = ["198.18.0.0/24", "198.18.3.0/24", "2001:db8::/48"];
const SERVICE_CIDRS = ["10.96.0.0/24", "2001:db8:96::/112"];

const web: Service = service("default", "web", {
  type: "NodePort",
  clusterIP: CLUSTER_IP,
  clusterIPs: [CLUSTER_IP, CLUSTER_IP6],
  ipFamilies: ["IPv4", "IPv6"],
  ipFamilyPolicy: "RequireDualStack",
  ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: NODE_PORT }],
});
/** The endpoints controller's one slice per address family. */
const webSlices: EndpointSlice[] = [
  slice("default", "web", [{ name: "http", port: 8080 }], [endpoint(POD, { node: NODE })]),
  { ...slice("default", "web", [{ name: "http", port: 8080 }], [endpoint(POD6, { node: NODE })]), addressType: "IPv6" },
];

const ofFamily = (family: IPFamily, cidrs: string[]): string[] => cidrs.filter((c) => c.includes(":") === (family === "IPv6"));

interface DualStackBackend {
  name: string;
  tools: string[];
  make: (netns: string, family: IPFamily) => Proxier;
  /** What of this family's rules the kernel holds. */
  listing: (lab: NetnsLab, family: IPFamily) => Promise<string>;
}

const backends: DualStackBackend[] = [
  {
    name: "nftables",
    tools: ["nft", "conntrack"],
    // NodePorts on the node's client-side IPv6 address only: the ipv6_addr nodeport-ips set.
    make: (netns, family) =>
      new NftablesProxier({
        netns,
        ...(family === "IPv6" ? { family, nodePortIPs: [NODE_CLIENT_SIDE_IP6] } : {}),
        clusterCIDRs: ofFamily(family, CLUSTER_CIDRS),
        serviceCIDRs: ofFamily(family, SERVICE_CIDRS),
      }),
    listing: (lab, family) => lab.must("node", ["nft", "list", "table", family === "IPv6" ? "ip6" : "ip", "svcedge"]),
  },
  {
    name: "iptables",
    tools: ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore", "conntrack"],
    // NodePorts on every local address (ip6tables: all but ::1).
    make: (netns, family) => new IptablesProxier({ netns, ...(family === "IPv6" ? { family } : {}), clusterCIDRs: ofFamily(family, CLUSTER_CIDRS) }),
    listing: (lab, family) => lab.must("node", [family === "IPv6" ? "ip6tables-save" : "iptables-save", "-t", "nat"]),
  },
];

async function createLab(): Promise<NetnsLab> {
  const lab = NetnsLab.create();
  try {
    for (const role of ["node", "pod", "client", "pod2"]) await lab.addNamespace(role);
    await lab.link({ ns: "node", cidr: `${NODE_IP}/24`, more: [`${NODE_IP6}/64`] }, { ns: "pod", cidr: `${POD}/24`, more: [`${POD6}/64`] });
    await lab.link(
      { ns: "node", cidr: "198.18.2.1/24", more: [`${NODE_CLIENT_SIDE_IP6}/64`] },
      { ns: "client", cidr: "198.18.2.2/24", more: [`${CLIENT_IP6}/64`] },
    );
    await lab.link({ ns: "node", cidr: "198.18.3.1/24", more: ["2001:db8:0:3::1/64"] }, { ns: "pod2", cidr: "198.18.3.2/24", more: [`${POD2_IP6}/64`] });
    const podIf = (await lab.must("pod", ["ip", "-o", "link", "show", "type", "veth"])).match(/^\d+: ([^@:]+)/)![1]!;
    await lab.must("pod", ["ip", "addr", "add", `${POD6_B}/64`, "dev", podIf, "nodad"]);
    await lab.must("node", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    await lab.must("node", ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    // connect() needs a route to the ClusterIP before DNAT re-routes the packet to the pod.
    await lab.must("node", ["ip", "route", "add", "10.96.0.0/24", "via", POD]);
    await lab.must("node", ["ip", "-6", "route", "add", "2001:db8:96::/112", "via", POD6]);
    // No route back from the pod to the client: NodePort replies work only if masqueraded.
    await lab.must("client", ["ip", "-6", "route", "add", "default", "via", NODE_CLIENT_SIDE_IP6]);
    await lab.must("pod2", ["ip", "route", "add", "default", "via", "198.18.3.1"]);
    await lab.must("pod2", ["ip", "-6", "route", "add", "default", "via", "2001:db8:0:3::1"]);
    await lab.must("pod", ["ip", "route", "add", "198.18.3.0/24", "via", NODE_IP]);
    await lab.must("pod", ["ip", "-6", "route", "add", "2001:db8:0:3::/64", "via", NODE_IP6]);
    await lab.startNode("pod", ECHO_SERVER, [POD, "8080"]);
    await lab.startNode("pod", ECHO_SERVER, [POD6, "8080"]);
    return lab;
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

for (const backend of backends) {
  describeNetns(`kernel: dual-stack Services with ${backend.name}`, backend.tools, () => {
    let lab: NetnsLab;
    const proxiers = new Map<IPFamily, Proxier>();
    const proxies: ServiceProxy[] = [];
    beforeAll(async () => {
      lab = await createLab();
      const metrics = new AgentMetrics();
      for (const family of ["IPv4", "IPv6"] as const) {
        const proxier = backend.make(lab.ns("node"), family);
        proxiers.set(family, proxier);
        proxies.push(
          new ServiceProxy({
            proxier,
            family,
            nodeName: NODE,
            nodeIPs: [NODE_IP, NODE_IP6],
            services: () => [web],
            slices: () => webSlices,
            metrics,
            conntrack: new ConntrackTable({ netns: lab.ns("node"), family }),
          }),
        );
      }
      for (const proxy of proxies) expect(await proxy.sync(true)).toBe(true);
    });
    afterAll(async () => {
      for (const proxier of proxiers.values()) await proxier.cleanup();
      for (const proxier of proxiers.values()) (proxier as { close?: () => void }).close?.();
      await lab?.destroy();
    });

    it("gives each family's proxier its own Service addresses and EndpointSlices", () => {
      const [v4, v6] = proxies.map((p) => p.lastApplied!.services[0]!);
      expect(v4).toMatchObject({ clusterIPs: [CLUSTER_IP], endpoints: [{ ip: POD, port: 8080 }] });
      expect(v6).toMatchObject({ clusterIPs: [CLUSTER_IP6], endpoints: [{ ip: POD6, port: 8080 }] });
    });

    it("programs the IPv6 rules in their own table (ip6 svcedge, ip6tables) and the IPv4 ones where they were", async () => {
      expect(await backend.listing(lab, "IPv6")).toContain(CLUSTER_IP6);
      expect(await backend.listing(lab, "IPv4")).toContain(CLUSTER_IP);
      expect(await backend.listing(lab, "IPv4")).not.toContain(CLUSTER_IP6);
    });

    it("takes a pod to the IPv6 pod server over the IPv6 ClusterIP, and to the IPv4 one over the IPv4 ClusterIP", async () => {
      const [v6] = await httpGetIn(lab, "pod2", `http://[${CLUSTER_IP6}]:80/`);
      // A pod inside the cluster ranges keeps its source address.
      expect(v6).toEqual({ server: `${POD6}:8080`, remote: POD2_IP6 });
      const [v4] = await httpGetIn(lab, "pod2", `http://${CLUSTER_IP}:80/`);
      expect(v4).toEqual({ server: `${POD}:8080`, remote: "198.18.3.2" });
    });

    it("serves the NodePort on the node's IPv6 address, masquerading the off-cluster client", async () => {
      const [answer] = await httpGetIn(lab, "client", `http://[${NODE_CLIENT_SIDE_IP6}]:${NODE_PORT}/`);
      expect(answer).toEqual({ server: `${POD6}:8080`, remote: NODE_IP6 });
    });

    it("deletes IPv6 UDP flows to an endpoint that is gone (conntrack -f ipv6)", async () => {
      const DNS6 = "2001:db8:96::53";
      const udp = [{ name: "dns", port: 53, protocol: "UDP" as const }];
      const dns6 = service("kube-system", "dns", { clusterIP: DNS6, clusterIPs: [DNS6], ipFamilies: ["IPv6"], ports: udp });
      const started: Proxier[] = [];
      /** A freshly started agent's IPv6 proxy with the DNS Service's one endpoint at `ip`. */
      const proxyWith = (ip: string) => {
        const proxier = backend.make(lab.ns("node"), "IPv6");
        started.push(proxier);
        return new ServiceProxy({
          proxier,
          family: "IPv6",
          nodeName: NODE,
          nodeIPs: [NODE_IP, NODE_IP6],
          services: () => [web, dns6],
          slices: () => [...webSlices, { ...slice("kube-system", "dns", udp, [endpoint(ip)]), addressType: "IPv6" }],
          metrics: new AgentMetrics(),
          conntrack: new ConntrackTable({ netns: lab.ns("node"), family: "IPv6" }),
        });
      };
      const sendUDP = () =>
        lab.must("node", [process.execPath, "-e", `const s=require("node:dgram").createSocket("udp6");s.send("x",53,"${DNS6}",()=>s.close())`]);
      const hasFlowTo = async (ip: string) =>
        (await lab.must("node", ["conntrack", "-L", "-f", "ipv6", "-p", "udp", "--orig-dst", DNS6])).includes(`src=${ip} `);
      try {
        await lab.must("node", ["conntrack", "-F", "-f", "ipv6"]);
        expect(await proxyWith(POD6).sync(true)).toBe(true);
        await sendUDP();
        expect(await hasFlowTo(POD6)).toBe(true);
        // The endpoint moves while the agent is down; the next agent's first sync cleans the IPv6 table.
        expect(await proxyWith(POD6_B).sync(true)).toBe(true);
        expect(await hasFlowTo(POD6)).toBe(false);
        await sendUDP();
        expect(await hasFlowTo(POD6_B)).toBe(true);
      } finally {
        for (const p of started) (p as { close?: () => void }).close?.();
      }
    });

    it("removes one family's rules without touching the other's", async () => {
      expect((await proxiers.get("IPv6")!.cleanup()).ok).toBe(true);
      expect(await backend.listing(lab, "IPv6").catch(() => "")).not.toContain(CLUSTER_IP6);
      const [v4] = await httpGetIn(lab, "pod2", `http://${CLUSTER_IP}:80/`);
      expect(v4?.server).toBe(`${POD}:8080`);
      // And back: a full sync programs the family again.
      expect(await proxies[1]!.sync(true)).toBe(true);
      const [v6] = await httpGetIn(lab, "pod2", `http://[${CLUSTER_IP6}]:80/`);
      expect(v6?.server).toBe(`${POD6}:8080`);
    });

    it("agent --cleanup removes both families' rules", async () => {
      const r = await runAgent(["--cleanup"], { netns: lab.ns("node") });
      expect(r.code, r.stderr).toBe(0);
      for (const family of ["IPv4", "IPv6"] as const) expect((await backend.listing(lab, family).catch(() => "")).toLowerCase()).not.toContain("svcedge");
      expect(await lab.must("node", ["ip6tables-save"]).catch(() => "")).not.toContain("SVCEDGE");
      expect(await lab.must("node", ["nft", "list", "tables"])).not.toContain("svcedge");
    }, 60_000);
  });
}

describeNetns("kernel: the IPv6 rules of every dual-stack golden shape load", ["nft", "ip6tables-restore"], () => {
  let lab: NetnsLab;
  const v6 = buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" });
  beforeAll(async () => {
    lab = NetnsLab.create();
    await lab.addNamespace("node");
  });
  afterAll(async () => lab?.destroy());

  // Local policy, ClientIP affinity (ip6 affinity sets, "dnat to [ip]:port"), external and load-balancer IPs.
  it("nft takes the ip6 table", async () => {
    const text = renderNftables(v6, { family: "IPv6", clusterCIDRs: ["2001:db8::/48"], serviceCIDRs: ["2001:db8:96::/112"], nodePortIPs: ["2001:db8::1"] });
    await lab.must("node", ["nft", "-f", "-"], text);
    expect(await lab.must("node", ["nft", "list", "set", "ip6", "svcedge", "cluster-ips"])).toContain("2001:db8:96::30");
    // NodePorts on every local address but ::1 (no --nodeport-addresses).
    await lab.must("node", ["nft", "-f", "-"], renderNftables(v6, { family: "IPv6" }));
    expect(await lab.must("node", ["nft", "list", "chain", "ip6", "svcedge", "services"])).toContain("fib daddr type local ip6 daddr != ::1");
  });

  it("ip6tables-restore takes the IPv6 rules", async () => {
    await lab.must("node", ["ip6tables-restore", "--noflush"], renderIptables(v6, { family: "IPv6", clusterCIDRs: ["2001:db8::/48"] }));
    expect(await lab.must("node", ["ip6tables-save", "-t", "nat"])).toContain("--to-destination [2001:db8:1::16]:8080");
  });
});

describe("the IPv6 table's full syncs", () => {
  it("never go through the netlink batch (it encodes the ip family only): nft -f applies them", async () => {
    const calls: string[][] = [];
    const run = async (argv: string[]): Promise<CommandResult> => (calls.push(argv), { code: 0, stdout: "{}", stderr: "" });
    const netlinkBatches: unknown[] = [];
    const proxier = new NftablesProxier({
      family: "IPv6",
      run,
      netlink: true,
      applyNetlink: (pieces) => (netlinkBatches.push([...pieces]), { ok: true }),
    });
    expect(await proxier.sync(buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" }))).toEqual({ ok: true, mode: "full" });
    expect(netlinkBatches).toEqual([]);
    expect(proxier.lastFullSync).toBe("nft");
    expect(calls).toContainEqual(["nft", "-j", "-t", "list", "chains", "ip6"]);
    expect(calls).toContainEqual(["nft", "-f", "-"]);
  });
});
