import { describe, expect, it } from "vitest";
import { ipInCIDR, ipv4InCIDR, nodePortAddressesError, resolveNodePortAddresses, servesLocalhostNodePorts } from "../../../src/agent/proxy/nodeport-addresses";

const node = { nodeIPs: ["198.18.0.1", "198.18.2.1"], localAddresses: ["127.0.0.1", "198.18.0.1", "198.18.2.1", "198.19.5.5"] };

describe("resolveNodePortAddresses (kube-proxy's --nodeport-addresses)", () => {
  it("resolves each IP family on its own: that family's CIDRs, and 'primary' as the family's first node address", () => {
    const dual = {
      nodeIPs: ["198.18.0.1", "2001:db8::1", "2001:db8:2::1"],
      localAddresses: ["127.0.0.1", "198.18.0.1", "::1", "2001:db8::1", "2001:db8:2::1"],
    };
    expect(resolveNodePortAddresses(["primary"], dual, "IPv6")).toEqual(["2001:db8::1"]);
    expect(resolveNodePortAddresses(["primary"], { nodeIPs: ["198.18.0.1"], localAddresses: [] }, "IPv6")).toEqual([]);
    expect(resolveNodePortAddresses(["primary"], { nodeIPs: ["::1"], localAddresses: [] }, "IPv6")).toEqual([]);
    // IPv4 CIDRs only: every local IPv6 address (kube-proxy adds ::/0 for the family with none).
    expect(resolveNodePortAddresses(["198.18.0.0/16"], dual, "IPv6")).toBeUndefined();
    expect(resolveNodePortAddresses(["198.18.0.0/16", "2001:db8:2::/64"], dual, "IPv6")).toEqual(["2001:db8:2::1"]);
    expect(resolveNodePortAddresses(["198.18.0.0/16", "2001:db8:2::/64"], dual)).toEqual(["198.18.0.1"]);
    expect(resolveNodePortAddresses(["::/0"], dual, "IPv6")).toBeUndefined();
    expect(resolveNodePortAddresses(["::1/128"], dual, "IPv6")).toEqual(["::1"]);
  });

  it("never serves localhost NodePorts over IPv6 (no route_localnet for ::1)", () => {
    expect(servesLocalhostNodePorts(undefined, "IPv6")).toBe(false);
    expect(servesLocalhostNodePorts(["::1"], "IPv6")).toBe(false);
  });

  it("takes every local address when no IPv4 CIDR is given, or one of prefix 0", () => {
    expect(resolveNodePortAddresses([], node)).toBeUndefined();
    expect(resolveNodePortAddresses(["2001:db8::/64"], node)).toBeUndefined();
    expect(resolveNodePortAddresses(["198.18.0.0/24", "0.0.0.0/0"], node)).toBeUndefined();
  });

  it("takes the node's local addresses inside the CIDRs, loopback included when asked for", () => {
    expect(resolveNodePortAddresses(["198.18.0.0/16"], node)).toEqual(["198.18.0.1", "198.18.2.1"]);
    expect(resolveNodePortAddresses(["198.18.2.0/24", "198.18.2.1/32"], node)).toEqual(["198.18.2.1"]);
    expect(resolveNodePortAddresses(["127.0.0.0/8", "198.19.0.0/16"], node)).toEqual(["127.0.0.1", "198.19.5.5"]);
    expect(resolveNodePortAddresses(["198.19.200.0/24"], node)).toEqual([]);
  });

  it("takes the first IPv4 node address for 'primary', and none when that is loopback", () => {
    expect(resolveNodePortAddresses(["primary"], node)).toEqual(["198.18.0.1"]);
    expect(resolveNodePortAddresses(["primary"], { nodeIPs: ["2001:db8::1", "198.18.2.1"], localAddresses: [] })).toEqual(["198.18.2.1"]);
    expect(resolveNodePortAddresses(["primary"], { nodeIPs: ["127.0.0.1"], localAddresses: [] })).toEqual([]);
    expect(resolveNodePortAddresses(["primary"], { nodeIPs: [], localAddresses: [] })).toEqual([]);
  });

  it("serves localhost NodePorts (route_localnet) for every local address or a loopback one", () => {
    expect(servesLocalhostNodePorts(undefined)).toBe(true);
    expect(servesLocalhostNodePorts(["127.0.0.1"])).toBe(true);
    expect(servesLocalhostNodePorts(["198.18.0.1"])).toBe(false);
  });
});

describe("nodePortAddressesError (kube-proxy's validation)", () => {
  it.each([
    [[], undefined],
    [["primary"], undefined],
    [["198.18.0.0/24", "2001:db8::/32"], undefined],
    [["foo"], '"foo": must be a valid CIDR'],
    [["198.18.0.1"], '"198.18.0.1": must be a valid CIDR'],
    [["198.18.0.0/24", "primary"], `"primary": can't use both 'primary' and CIDRs`],
    [["primary", "198.18.0.0/24"], `"primary": can't use both 'primary' and CIDRs`],
  ])("%j", (values, error) => {
    expect(nodePortAddressesError(values)).toBe(error);
  });
});

describe("ipInCIDR", () => {
  it("matches IPv6 prefixes bit by bit, and never across families", () => {
    expect(ipInCIDR("2001:db8:0:3::2", "2001:db8::/48")).toBe(true);
    expect(ipInCIDR("2001:db8:3::2", "2001:db8::/48")).toBe(false);
    expect(ipInCIDR("2001:db8::1", "2001:db8::/127")).toBe(true);
    expect(ipInCIDR("2001:db8::2", "2001:db8::/127")).toBe(false);
    expect(ipInCIDR("::1", "::/0")).toBe(true);
    expect(ipInCIDR("198.18.0.1", "::/0")).toBe(false);
    expect(ipInCIDR("2001:db8::1", "0.0.0.0/0")).toBe(false);
  });
});

describe("ipv4InCIDR", () => {
  it("matches by prefix", () => {
    expect(ipv4InCIDR("198.18.1.7", "198.18.0.0/15")).toBe(true);
    expect(ipv4InCIDR("198.20.0.1", "198.18.0.0/15")).toBe(false);
    expect(ipv4InCIDR("198.19.1.1", "0.0.0.0/0")).toBe(true);
    expect(ipv4InCIDR("198.18.0.1", "198.18.0.1/32")).toBe(true);
    expect(ipv4InCIDR("198.18.0.1", "2001:db8::/32")).toBe(false);
  });
});
