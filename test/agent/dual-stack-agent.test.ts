// A dual-stack node as the agent wires it: one ServiceProxy per IP family of its node IPs
// (kube-proxy's MetaProxier), each with its own proxier, reporting into shared metrics. The
// kernel side is in proxy/dual-stack.test.ts.
import { describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent";
import { ApiClient } from "../../src/agent/api-client";
import { nodeFamilies } from "../../src/agent/backends";
import { parseOptions } from "../../src/agent/cli-options";
import { createLogger } from "../../src/agent/log";
import { AgentMetrics } from "../../src/agent/metrics";
import type { Proxier, SyncResult } from "../../src/agent/proxy/proxier";
import type { ProxyState } from "../../src/agent/proxy/state";
import { ServiceProxy } from "../../src/agent/service-proxy";
import { DUAL_STACK_INPUT } from "./proxy/fixtures";

class RecordingProxier implements Proxier {
  readonly backend = "nftables";
  last: ProxyState | undefined;
  async sync(state: ProxyState): Promise<SyncResult> {
    this.last = state;
    return { ok: true, mode: "full" };
  }
  async cleanup() {
    return { ok: true } as const;
  }
}

const noConntrack = { cleanStaleUDP: async () => ({ ok: true, filters: 0, entries: 0 }) };

describe("nodeFamilies", () => {
  it("serves the families the node has addresses of, IPv4 first; IPv4 alone without any", () => {
    expect(nodeFamilies(["198.18.0.1"])).toEqual(["IPv4"]);
    expect(nodeFamilies(["2001:db8::1", "198.18.0.1"])).toEqual(["IPv4", "IPv6"]);
    expect(nodeFamilies(["2001:db8::1"])).toEqual(["IPv6"]);
    expect(nodeFamilies([])).toEqual(["IPv4"]);
  });
});

describe("a ServiceProxy per IP family", () => {
  it("hands each proxier its family's state, and the gauges count both", async () => {
    const metrics = new AgentMetrics();
    const proxiers = { IPv4: new RecordingProxier(), IPv6: new RecordingProxier() };
    for (const family of ["IPv4", "IPv6"] as const) {
      const proxy = new ServiceProxy({
        proxier: proxiers[family],
        family,
        nodeName: DUAL_STACK_INPUT.nodeName,
        nodeIPs: DUAL_STACK_INPUT.nodeIPs,
        services: () => DUAL_STACK_INPUT.services,
        slices: () => DUAL_STACK_INPUT.slices,
        metrics,
        conntrack: noConntrack,
      });
      expect(await proxy.sync(true)).toBe(true);
    }
    expect(proxiers.IPv4.last!.services.flatMap((s) => s.clusterIPs)).toEqual(["10.96.0.20", "10.96.0.40", "10.96.0.10"]);
    expect(proxiers.IPv6.last!.services.flatMap((s) => s.clusterIPs)).toEqual(["2001:db8:96::20", "2001:db8:96::30", "2001:db8:96::10"]);
    // Three service ports per family; 5 IPv4 and 6 IPv6 endpoints.
    expect(metrics.programmedServicePorts.get()).toBe(6);
    expect(metrics.endpoints.get({ state: "ready" })).toBe(11);
  });
});

describe("Agent on a dual-stack node", () => {
  const agentWith = (nodeIPs: string[]) =>
    new Agent({
      client: new ApiClient({ baseUrl: "http://127.0.0.1:1", token: "t" }),
      options: parseOptions(
        ["--api", "http://127.0.0.1:1", "--node", "n", "--backend", "userspace", ...nodeIPs.flatMap((ip) => ["--node-ip", ip])],
        { SVCEDGE_TOKEN: "t" },
        { readFile: () => "", hostname: () => "h" },
      ),
      log: createLogger({ level: "error", write: () => {} }),
    });

  it("runs one proxy per family of its --node-ip addresses, and only IPv4's on an IPv4-only node", () => {
    expect(agentWith(["198.18.0.1", "2001:db8::1"]).proxies).toHaveLength(2);
    expect(agentWith(["198.18.0.1"]).proxies).toHaveLength(1);
  });
});
