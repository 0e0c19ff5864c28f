// The UDP conntrack reconciler's pure parts: which frontends it guards, which flows it deletes,
// and how it reads `conntrack -L`. The kernel side is in kernel.test.ts.
import { describe, expect, it } from "vitest";
import { ConntrackTable, parseConntrackList, staleUDPFlowFilters, udpFrontends } from "../../../src/agent/proxy/conntrack";
import type { CommandResult } from "../../../src/agent/proxy/command";
import { buildProxyState } from "../../../src/agent/proxy/state";
import { endpoint, NODE, service, slice } from "./fixtures";

const dnsPort = [{ name: "dns", port: 53, protocol: "UDP" as const }];
const dns = service("kube-system", "dns", {
  type: "LoadBalancer",
  clusterIP: "10.96.0.53",
  externalIPs: ["198.19.0.20"],
  ports: [{ name: "dns", port: 53, protocol: "UDP", nodePort: 30053 }],
});
const state = (endpoints: ReturnType<typeof endpoint>[]) =>
  buildProxyState({ services: [dns], slices: [slice("kube-system", "dns", dnsPort, endpoints)], nodeName: NODE, nodeIPs: ["198.18.0.1"] });

describe("udpFrontends", () => {
  it("maps every UDP frontend to its serving endpoints, terminating ones included", () => {
    const f = udpFrontends(
      state([endpoint("198.18.1.1"), endpoint("198.18.1.2", { ready: false, serving: true, terminating: true }), endpoint("198.18.1.3", { ready: false })]),
    );
    expect([...f.byServiceIP.keys()].sort()).toEqual(["10.96.0.53:53", "198.19.0.20:53"]);
    expect([...f.byServiceIP.get("10.96.0.53:53")!].sort()).toEqual(["198.18.1.1", "198.18.1.2"]);
    expect([...f.byNodePort.get(30053)!].sort()).toEqual(["198.18.1.1", "198.18.1.2"]);
  });

  it("leaves alone a service port without serving endpoints, and TCP ones", () => {
    expect(udpFrontends(state([endpoint("198.18.1.3", { ready: false })]))).toEqual({ byServiceIP: new Map(), byNodePort: new Map() });
    const tcp = buildProxyState({
      services: [service("default", "web", { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80 }] })],
      slices: [slice("default", "web", [{ name: "http", port: 80 }], [endpoint("198.18.1.1")])],
      nodeName: NODE,
      nodeIPs: [],
    });
    expect(udpFrontends(tcp).byServiceIP.size).toBe(0);
  });
});

describe("staleUDPFlowFilters", () => {
  const frontends = udpFrontends(state([endpoint("198.18.1.1")]));

  it("deletes flows to a frontend answered by an address that does not serve, once per selection", () => {
    const filters = staleUDPFlowFilters(frontends, [
      { origDst: "10.96.0.53", origDstPort: 53, replySrc: "198.18.1.9" },
      { origDst: "10.96.0.53", origDstPort: 53, replySrc: "198.18.1.9" },
      { origDst: "10.96.0.53", origDstPort: 53, replySrc: "198.18.1.1" },
      // Sent before any rule existed: not DNATed, the service IP itself "answers".
      { origDst: "198.19.0.20", origDstPort: 53, replySrc: "198.19.0.20" },
      { origDst: "198.18.0.1", origDstPort: 30053, replySrc: "198.18.1.9" },
      // Not a frontend of ours.
      { origDst: "10.96.0.99", origDstPort: 53, replySrc: "198.18.1.9" },
      { origDst: "10.96.0.53", origDstPort: 54, replySrc: "198.18.1.9" },
    ]);
    expect(filters).toEqual([
      { origDst: "10.96.0.53", origDstPort: 53, replySrc: "198.18.1.9" },
      { origDst: "198.19.0.20", origDstPort: 53, replySrc: "198.19.0.20" },
      { origDstPort: 30053, replySrc: "198.18.1.9" },
    ]);
  });
});

describe("parseConntrackList", () => {
  it("reads the original destination and the reply's source", () => {
    const text = [
      "udp      17 29 src=198.18.0.1 dst=10.96.0.53 sport=40000 dport=53 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=40000 mark=0 use=1",
      "udp      17 170 src=198.18.2.2 dst=198.18.2.1 sport=5000 dport=30053 src=198.18.0.3 dst=198.18.0.1 sport=53 dport=5000 [ASSURED] mark=0 use=1",
      "",
    ].join("\n");
    expect(parseConntrackList(text)).toEqual([
      { origDst: "10.96.0.53", origDstPort: 53, replySrc: "198.18.0.2" },
      { origDst: "198.18.2.1", origDstPort: 30053, replySrc: "198.18.0.3" },
    ]);
  });
});

describe("ConntrackTable.cleanStaleUDP", () => {
  const listed = "udp 17 29 src=198.18.0.1 dst=10.96.0.53 sport=40000 dport=53 [UNREPLIED] src=198.18.1.9 dst=198.18.0.1 sport=53 dport=40000 mark=0 use=1\n";

  it("lists the UDP table and deletes what no serving endpoint answers; conntrack's exit 1 for no match is success", async () => {
    const calls: string[][] = [];
    const run = async (argv: string[]): Promise<CommandResult> => {
      calls.push(argv);
      if (argv[1] === "-L") return { code: 0, stdout: listed, stderr: "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n" };
      return { code: 0, stdout: "", stderr: "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n" };
    };
    expect(await new ConntrackTable({ run }).cleanStaleUDP(state([endpoint("198.18.1.1")]))).toEqual({ ok: true, filters: 1, entries: 1 });
    expect(calls).toEqual([
      ["conntrack", "-L", "-f", "ipv4", "-p", "udp"],
      ["conntrack", "-D", "-f", "ipv4", "-p", "udp", "--orig-dst", "10.96.0.53", "--orig-port-dst", "53", "--reply-src", "198.18.1.9"],
    ]);
    const gone = async (argv: string[]): Promise<CommandResult> =>
      argv[1] === "-L" ? { code: 0, stdout: listed, stderr: "" } : { code: 1, stdout: "", stderr: "0 flow entries have been deleted.\n" };
    expect(await new ConntrackTable({ run: gone }).cleanStaleUDP(state([endpoint("198.18.1.1")]))).toEqual({ ok: true, filters: 1, entries: 0 });
  });

  it("works on the IPv6 table for the IPv6 proxy (conntrack -f ipv6)", async () => {
    const calls: string[][] = [];
    const listed6 =
      "udp 17 29 src=2001:db8:3::2 dst=2001:db8:96::53 sport=40000 dport=53 [UNREPLIED] src=2001:db8:1::9 dst=2001:db8:3::2 sport=53 dport=40000 mark=0 use=1\n";
    const run = async (argv: string[]): Promise<CommandResult> => {
      calls.push(argv);
      return argv[1] === "-L" ? { code: 0, stdout: listed6, stderr: "" } : { code: 0, stdout: "", stderr: "1 flow entries have been deleted.\n" };
    };
    const dns6 = service("kube-system", "dns", {
      clusterIP: "2001:db8:96::53",
      clusterIPs: ["2001:db8:96::53"],
      ports: [{ name: "dns", port: 53, protocol: "UDP" }],
    });
    const state6 = buildProxyState({
      services: [dns6],
      slices: [{ ...slice("kube-system", "dns", dnsPort, [endpoint("2001:db8:1::1")]), addressType: "IPv6" }],
      nodeName: NODE,
      nodeIPs: ["2001:db8::1"],
      family: "IPv6",
    });
    expect(await new ConntrackTable({ run, family: "IPv6" }).cleanStaleUDP(state6)).toEqual({ ok: true, filters: 1, entries: 1 });
    expect(calls).toEqual([
      ["conntrack", "-L", "-f", "ipv6", "-p", "udp"],
      ["conntrack", "-D", "-f", "ipv6", "-p", "udp", "--orig-dst", "2001:db8:96::53", "--orig-port-dst", "53", "--reply-src", "2001:db8:1::9"],
    ]);
  });

  it("does not list the table when no UDP service port has a serving endpoint; reports a failed listing", async () => {
    const calls: string[][] = [];
    const run = async (argv: string[]): Promise<CommandResult> => (calls.push(argv), { code: 127, stdout: "", stderr: "spawn conntrack ENOENT" });
    expect(await new ConntrackTable({ run }).cleanStaleUDP(state([]))).toEqual({ ok: true, filters: 0, entries: 0 });
    expect(calls).toEqual([]);
    const r = await new ConntrackTable({ run }).cleanStaleUDP(state([endpoint("198.18.1.1")]));
    expect(r).toMatchObject({ ok: false, filters: 0 });
    expect(r.error).toContain("ENOENT");
  });
});
