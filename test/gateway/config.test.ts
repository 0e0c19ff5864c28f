import { beforeEach, expect, it } from "vitest";
import { applyGatewayVars, gatewayConfig } from "../../src/gateway/config";
import { configureGateway, DEFAULT_GATEWAY_CONFIG, resetGatewayState } from "../../src/gateway/index";

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

it("ignores invalid or unset variables and keeps what a test configured", () => {
  configureGateway({ baseEjectionMs: 100 });
  applyGatewayVars({ GATEWAY_ROUTE_CACHE_TTL_SECONDS: "soon", GATEWAY_MAX_RETRIES: "-1", GATEWAY_TRUST_X_FORWARDED_FOR: "yes" });
  expect(gatewayConfig()).toEqual({ ...DEFAULT_GATEWAY_CONFIG, baseEjectionMs: 100 });
});
