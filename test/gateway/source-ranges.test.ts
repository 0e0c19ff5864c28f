// loadBalancerSourceRanges on seeded records: IPv4, IPv6, IPv4-mapped, fail-closed
// parsing, and which address is trusted. (The admin-API path is in admin-to-edge.)
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { resetGatewayState } from "./reset-state";
import { CREDENTIAL_HEADER } from "../../src/gateway/access";
import { gatewayStats } from "../../src/gateway/stats";
import { applyGatewayVars } from "../../src/gateway/config";
import { compileSourceRanges, isAllowedSource } from "../../src/gateway/source-ranges";
import { gateway, httpPort, podOf, seedRoute } from "./fixtures";

beforeEach(() => resetGatewayState());

describe("isAllowedSource", () => {
  const ranges = compileSourceRanges(["198.18.0.0/15", "2001:db8:10::/48", "10.1.2.3/32", "::ffff:192.0.2.0/120"], "test");

  it("matches IPv4 and IPv6 prefixes", () => {
    for (const ip of ["198.18.0.0", "198.19.255.255", "10.1.2.3", "2001:db8:10::1", "2001:db8:10:ffff::", "192.0.2.200"]) {
      expect(isAllowedSource(ranges, ip), ip).toBe(true);
    }
    for (const ip of ["198.17.255.255", "198.20.0.0", "10.1.2.4", "2001:db8:11::1", "2001:db8::1", "192.0.3.1"]) {
      expect(isAllowedSource(ranges, ip), ip).toBe(false);
    }
  });

  it("treats IPv4-mapped IPv6 as IPv4, on either side (Go's IPNet.Contains)", () => {
    expect(isAllowedSource(ranges, "::ffff:198.18.7.7")).toBe(true);
    expect(isAllowedSource(ranges, "::ffff:203.0.113.9")).toBe(false);
    // "::ffff:192.0.2.0/120" is 192.0.2.0/24.
    expect(isAllowedSource(ranges, "192.0.2.1")).toBe(true);
  });

  it("ignores host bits in a range, as Kubernetes' sloppy CIDR parsing allows them", () => {
    expect(isAllowedSource(compileSourceRanges(["198.18.5.5/16"], "test"), "198.18.200.1")).toBe(true);
    expect(isAllowedSource(compileSourceRanges(["0.0.0.0/0"], "test"), "203.0.113.9")).toBe(true);
    expect(isAllowedSource(compileSourceRanges(["0.0.0.0/0"], "test"), "2001:db8::1")).toBe(false);
  });

  it("never admits a missing or unparsable address", () => {
    const everyone = compileSourceRanges(["0.0.0.0/0", "::/0"], "test");
    for (const ip of [undefined, "", "not-an-ip", "1.2.3", "::g"]) expect(isAllowedSource(everyone, ip), String(ip)).toBe(false);
  });
});

describe("a public route with source ranges", () => {
  const HOST = "guarded-default.lb.svcedge.local";

  it("answers callers inside a range and refuses the rest with 403, without forwarding", async () => {
    await seedRoute(HOST, { sourceRanges: ["198.18.0.0/15", "2001:db8::/32"], ports: [httpPort(["a"])] });
    for (const ip of ["198.18.1.1", "2001:db8:1::5"]) {
      expect(await podOf(await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": ip } })), ip).toBe("a");
    }
    for (const ip of ["203.0.113.9", "2001:db9::1"]) {
      const res = await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": ip } });
      expect(res.status, ip).toBe(403);
      expect(res.headers.get("x-pod"), ip).toBeNull();
      expect(await res.text()).toBe("403 Forbidden: source address not allowed\n");
    }
  });

  it("refuses a caller with no CF-Connecting-IP, whatever X-Forwarded-For claims", async () => {
    await seedRoute(HOST, { sourceRanges: ["198.18.0.0/15"], ports: [httpPort(["a"])] });
    expect((await gateway(`http://${HOST}/`)).status).toBe(403);
    expect((await gateway(`http://${HOST}/`, { headers: { "x-forwarded-for": "198.18.1.1" } })).status).toBe(403);
  });

  it("under GATEWAY_TRUST_X_FORWARDED_FOR (npm start) judges the first X-Forwarded-For hop, not the local CF-Connecting-IP", async () => {
    applyGatewayVars({ GATEWAY_TRUST_X_FORWARDED_FOR: "true" });
    await seedRoute(HOST, { sourceRanges: ["198.18.0.0/15"], ports: [httpPort(["a"])] });
    // wrangler dev sets CF-Connecting-IP to the socket's peer for every local client.
    const local = { "cf-connecting-ip": "127.0.0.1" };
    expect(await podOf(await gateway(`http://${HOST}/`, { headers: { ...local, "x-forwarded-for": "198.18.1.1, 203.0.113.9" } }))).toBe("a");
    expect((await gateway(`http://${HOST}/`, { headers: { ...local, "x-forwarded-for": "203.0.113.9" } })).status).toBe(403);
    expect((await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": "198.18.1.1", "x-forwarded-for": "203.0.113.9" } })).status).toBe(403);
  });

  it("fails closed when no range can be read, and an empty list restricts nothing", async () => {
    await seedRoute(HOST, { sourceRanges: ["198.18.0.0/33", "nonsense"], ports: [httpPort(["a"])] });
    expect((await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": "198.18.1.1" } })).status).toBe(403);
    await seedRoute("open-default.lb.svcedge.local", { sourceRanges: [], ports: [httpPort(["b"])] });
    expect(await podOf(await gateway("http://open-default.lb.svcedge.local/", { headers: { "cf-connecting-ip": "203.0.113.9" } }))).toBe("b");
  });

  it("checks against the ranges parsed when the record was loaded: no KV read, no re-parse per request", async () => {
    await seedRoute(HOST, { sourceRanges: ["198.18.0.0/15"], ports: [httpPort(["a"])] });
    expect(await podOf(await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": "198.18.1.1" } }))).toBe("a");
    // Rewrite the record behind the cache: a warm isolate keeps using what it parsed, with no KV read.
    await seedRoute(HOST, { sourceRanges: ["203.0.113.0/24"], ports: [httpPort(["a"])] });
    const start = gatewayStats();
    expect(await podOf(await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": "198.18.1.1" } }))).toBe("a");
    expect((await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": "203.0.113.9" } })).status).toBe(403);
    expect(gatewayStats().kvReads - start.kvReads).toBe(0);
  });

  it("does not apply to cluster records (the registry writes ranges on public hosts only)", async () => {
    await seedRoute("guarded.default.svc.cluster.local", { access: "cluster", sourceRanges: ["198.18.0.0/15"], ports: [httpPort(["c"])] });
    const res = await gateway("http://guarded.default.svc.cluster.local/", { headers: { [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! } });
    expect(await podOf(res)).toBe("c");
  });
});
