// The shared conformance table, run against every backend that can be traced. The
// userspace backend runs the same table over real connections in userspace.test.ts.
import { describe, expect, it } from "vitest";
import { buildProxyState } from "../../../src/agent/proxy/state";
import { renderNftables } from "../../../src/agent/proxy/nftables/render";
import { traceNftables } from "./trace/nftables";
import { renderIptables } from "../../../src/agent/proxy/iptables/render";
import { traceIptables } from "./trace/iptables";
import type { Packet, TraceResult } from "./trace/engine";
import { conformanceFixture, KERNEL_PLAN } from "./conformance.case";

const fixture = conformanceFixture(KERNEL_PLAN);
const state = buildProxyState(fixture.input);
const node = { nodeIPs: fixture.input.nodeIPs };

const backends: { name: string; trace: (p: Packet) => TraceResult }[] = [
  { name: "nftables", trace: (p) => traceNftables(renderNftables(state, { clusterCIDRs: fixture.clusterCIDRs }), p, node) },
  { name: "iptables", trace: (p) => traceIptables(renderIptables(state, { clusterCIDRs: fixture.clusterCIDRs }), p, node) },
];

describe.each(backends)("conformance: $name", ({ trace }) => {
  it.each(fixture.cases)("$name", ({ packet, expect: expected }) => {
    expect(trace(packet)).toEqual(expected);
  });
});
