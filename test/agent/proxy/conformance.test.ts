// The shared conformance table, run against every backend that can be traced. The
// userspace backend runs the same table over real connections in userspace.test.ts.
import { describe, expect, it } from "vitest";
import { renderDryRun } from "../../../src/agent/backends";
import { parseOptions } from "../../../src/agent/cli-options";
import { buildProxyState } from "../../../src/agent/proxy/state";
import { renderNftables } from "../../../src/agent/proxy/nftables/render";
import { traceNftables } from "./trace/nftables";
import { renderIptables } from "../../../src/agent/proxy/iptables/render";
import { traceIptables } from "./trace/iptables";
import type { Packet, TraceResult } from "./trace/engine";
import { conformanceFixture, KERNEL_PLAN, type TracedBackend } from "./conformance.case";

const fixture = conformanceFixture(KERNEL_PLAN);
const state = buildProxyState(fixture.input);
const node = { nodeIPs: fixture.input.nodeIPs };
const opts = { clusterCIDRs: fixture.clusterCIDRs, nodePortIPs: fixture.nodePortIPs };

const backends: { name: TracedBackend; trace: (p: Packet) => TraceResult }[] = [
  { name: "nftables", trace: (p) => traceNftables(renderNftables(state, { ...opts, serviceCIDRs: fixture.serviceCIDRs }), p, node) },
  { name: "iptables", trace: (p) => traceIptables(renderIptables(state, opts), p, node) },
];

describe.each(backends)("conformance: $name", ({ name, trace }) => {
  it.each(fixture.cases)("$name", ({ packet, expect: expected, expectIn }) => {
    expect(trace(packet)).toEqual(expectIn?.[name] ?? expected);
  });
});

describe("--masquerade-all (kube-proxy's flag): the kernel backends masquerade every ClusterIP connection", () => {
  const options = parseOptions(
    ["--api", "http://a", "--token", "t", "--masquerade-all", "--cluster-cidr", KERNEL_PLAN.podCIDR],
    {},
    { readFile: () => "", hostname: () => "node-a" },
  );
  const fromPod: Packet = { src: KERNEL_PLAN.podIP(12), dst: KERNEL_PLAN.clusterIP(1), proto: "TCP", dport: KERNEL_PLAN.servicePort };
  it.each([
    { name: "nftables" as const, trace: traceNftables },
    { name: "iptables" as const, trace: traceIptables },
  ])("$name", ({ name, trace }) => {
    const rules = (masqueradeAll: boolean) => renderDryRun(name, state, { ...options, masqueradeAll, nodeIPs: fixture.input.nodeIPs });
    // A pod's connection keeps its source without the flag (the conformance case above), and is masqueraded with it.
    expect(trace(rules(false), fromPod, node).masquerade).toBe(false);
    expect(trace(rules(true), fromPod, node)).toEqual({ output: `${KERNEL_PLAN.podIP(1)}:8080, ${KERNEL_PLAN.podIP(2)}:8080`, masquerade: true });
  });
});
