import { beforeEach, describe, expect, it } from "vitest";
import { ConfigError, parseConfig, type ConfigVars } from "../../src/config";
import { applyGatewayVars, gatewayConfig } from "../../src/gateway/config";
import { resetGatewayState } from "./reset-state";
import { configureGateway, DEFAULT_GATEWAY_CONFIG } from "../../src/gateway/config";

beforeEach(() => resetGatewayState());

it("takes tunables from Worker variables, in the variables' units", () => {
  applyGatewayVars({
    GATEWAY_ROUTE_CACHE_TTL_SECONDS: "5",
    GATEWAY_BASE_EJECTION_SECONDS: "1.5",
    GATEWAY_MAX_EJECTION_PERCENT: "50",
    GATEWAY_MAX_RETRIES: "0",
    GATEWAY_DEFAULT_TIMEOUT_SECONDS: "60",
    GATEWAY_ALLOW_LOCAL_ORIGINS: "true",
    GATEWAY_TRUST_X_FORWARDED_FOR: "true",
  });
  expect(gatewayConfig()).toMatchObject({
    routeCacheTtlMs: 5000,
    baseEjectionMs: 1500,
    maxEjectionPercent: 50,
    maxRetries: 0,
    defaultTimeoutMs: 60_000,
    allowLocalOrigins: true,
    trustForwardedFor: true,
  });
});

it("keeps what a test configured for unset variables", () => {
  configureGateway({ baseEjectionMs: 100 });
  applyGatewayVars({ GATEWAY_MAX_RETRIES: "1", GATEWAY_ROUTE_CACHE_TTL_SECONDS: "" });
  expect(gatewayConfig()).toEqual({ ...DEFAULT_GATEWAY_CONFIG, baseEjectionMs: 100, maxRetries: 1 });
});

it("refuses malformed variables with one message that names each, and changes nothing", () => {
  configureGateway({ baseEjectionMs: 100 });
  const vars = { GATEWAY_ROUTE_CACHE_TTL_SECONDS: "soon", GATEWAY_MAX_RETRIES: "-1", GATEWAY_TRUST_X_FORWARDED_FOR: "yes" };
  expect(() => applyGatewayVars(vars)).toThrow(ConfigError);
  expect(() => parseConfig(vars)).toThrow(
    'svcedge: invalid configuration: GATEWAY_ROUTE_CACHE_TTL_SECONDS="soon" must be a number of seconds from 0 to 9007199254740991; GATEWAY_MAX_RETRIES="-1" must be a whole number of retries from 0 to 10; GATEWAY_TRUST_X_FORWARDED_FOR="yes" must be "true" or "false"',
  );
  expect(gatewayConfig()).toEqual({ ...DEFAULT_GATEWAY_CONFIG, baseEjectionMs: 100 });
});

describe("the Worker's variables (src/config.ts)", () => {
  it("defaults what is unset, and parses what is set into its units", () => {
    expect(parseConfig({})).toEqual({
      serviceCIDRs: ["10.96.0.0/12"],
      nodePortRange: "30000-32767",
      lbDomain: "lb.svcedge.local",
      clusterDomain: "cluster.local",
      adminHosts: ["localhost", "127.0.0.1", "[::1]"],
      nodeLeaseGraceMs: 40_000,
      watchBookmarkIntervalMs: 15_000,
      listRpcPageItems: 500,
      kvWriteIntervalMs: 1000,
      gateway: {},
    });
    expect(
      parseConfig({
        ADMIN_HOSTS: " API.Example.com ,admin.example.com,",
        NODE_LEASE_GRACE_SECONDS: "2.5",
        SERVICE_CIDR: "10.0.0.0/16",
        NODE_PORT_RANGE: "31000-31010",
      }),
    ).toMatchObject({
      adminHosts: ["api.example.com", "admin.example.com"],
      gateway: { adminHosts: ["api.example.com", "admin.example.com"] },
      nodeLeaseGraceMs: 2500,
      serviceCIDRs: ["10.0.0.0/16"],
      nodePortRange: "31000-31010",
    });
  });

  it("takes one service CIDR or two of different families, primary first, as --service-cluster-ip-range", () => {
    expect(parseConfig({ SERVICE_CIDR: "fd00:10:96::/108" }).serviceCIDRs).toEqual(["fd00:10:96::/108"]);
    expect(parseConfig({ SERVICE_CIDR: "10.96.0.0/12, fd00:10:96::/108" }).serviceCIDRs).toEqual(["10.96.0.0/12", "fd00:10:96::/108"]);
    expect(parseConfig({ SERVICE_CIDR: "fd00:10:96::/108,10.96.0.0/12" }).serviceCIDRs).toEqual(["fd00:10:96::/108", "10.96.0.0/12"]);
    expect(() => parseConfig({ SERVICE_CIDR: "10.96.0.0/12,10.100.0.0/16" })).toThrow("must hold CIDRs of different IP families");
    expect(() => parseConfig({ SERVICE_CIDR: "10.96.0.0/12,fd00::/108,fd01::/108" })).toThrow("must hold one CIDR, or two");
    expect(() => parseConfig({ SERVICE_CIDR: "10.96.0.0/12,fd00::/64" })).toThrow("for 128-bit addresses, the mask must be from /108 to /126");
  });

  it.each([
    ["NODE_LEASE_GRACE_SECONDS", "4O"],
    ["NODE_LEASE_GRACE_SECONDS", "0"],
    ["SERVICE_CIDR", "10.96.0.1/12"],
    ["SERVICE_CIDR", "10.96.0.0"],
    ["NODE_PORT_RANGE", "32767-30000"],
    ["NODE_PORT_RANGE", "30000-70000"],
    ["LB_DOMAIN", "LB..example"],
    ["CLUSTER_DOMAIN", "-cluster.local"],
    ["LIST_RPC_PAGE_ITEMS", "1.5"],
    ["KV_WRITE_INTERVAL_MS", "0x10"],
    ["WATCH_BOOKMARK_INTERVAL_SECONDS", "NaN"],
    ["GATEWAY_MAX_EJECTION_PERCENT", "101"],
    ["GATEWAY_ALLOW_LOCAL_ORIGINS", "1"],
  ])("refuses %s=%s, naming it", (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(`svcedge: invalid configuration: ${name}=${JSON.stringify(value)} must be `);
  });

  it("refuses a variable wrangler.toml gave as a number, not text", () => {
    const vars = { LB_DOMAIN: 5, NODE_LEASE_GRACE_SECONDS: 40 } as unknown as ConfigVars;
    expect(() => parseConfig(vars)).toThrow(
      "svcedge: invalid configuration: LB_DOMAIN=5 must be a string (quoted, in wrangler.toml); NODE_LEASE_GRACE_SECONDS=40 must be a string (quoted, in wrangler.toml)",
    );
  });
});

describe("a Worker deployed with a malformed variable", () => {
  it("answers every host 500 with the message that names it, and serves nothing", async () => {
    const { env } = await import("cloudflare:workers");
    const { createExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../../src/worker")).default;
    const broken = { ...env, NODE_LEASE_GRACE_SECONDS: "4O" };
    for (const url of ["http://127.0.0.1/api/v1/namespaces", "http://shop-default.lb.svcedge.local/"]) {
      const res = await worker.fetch(new Request(url, { headers: { authorization: "Bearer test-admin-token" } }), broken, createExecutionContext());
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('svcedge: invalid configuration: NODE_LEASE_GRACE_SECONDS="4O" must be a number of seconds from 1 to 9007199254740991\n');
    }
  });
});
