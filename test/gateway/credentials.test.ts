// Made-up credentials on cluster hosts must not cost a KV read each: the cluster
// token needs no KV, only node-token-shaped values are looked up, and lookups of
// unknown tokens are budgeted per isolate.
import { env } from "cloudflare:workers";
import { beforeEach, expect, it } from "vitest";
import { randomToken } from "../../src/api/credentials";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { CREDENTIAL_HEADER } from "../../src/gateway/access";
import { gatewayStats } from "../../src/gateway/stats";
import { TokenBucket } from "../../src/api/token-bucket";
import { gateway, httpPort, seedNodeToken, seedRoute } from "./fixtures";

const HOST = "creds.default.svc.cluster.local";

beforeEach(async () => {
  resetGatewayState();
  await seedRoute(HOST, { access: "cluster", ports: [httpPort(["e"])] });
  // Warm the route: every KV read after this is a credential lookup.
  expect((await gateway(`http://${HOST}/`)).status).toBe(404);
});

async function statusWith(credential: string): Promise<number> {
  const res = await gateway(`http://${HOST}/`, { headers: { [CREDENTIAL_HEADER]: credential } });
  await res.body?.cancel();
  return res.status;
}

it("checks the cluster token without reading KV", async () => {
  const start = gatewayStats();
  for (let i = 0; i < 5; i++) expect(await statusWith(env.CLUSTER_TOKEN!)).toBe(200);
  expect(gatewayStats().kvReads - start.kvReads).toBe(0);
});

it("never looks up a value that is not shaped like a node token", async () => {
  const token = randomToken();
  const misfits = [
    "made-up",
    token.slice(0, 42),
    `${token}A`,
    `${token.slice(0, 42)}=`,
    `${token.slice(0, 42)}+`,
    `${token.slice(0, 42)}/`,
    ` ${token.slice(1)}`,
    "x".repeat(1000),
  ];
  const start = gatewayStats();
  for (const value of misfits) expect(await statusWith(value), value).toBe(404);
  for (let i = 0; i < 20; i++) expect(await statusWith(`invented-${i}`)).toBe(404);
  expect(gatewayStats().kvReads - start.kvReads).toBe(0);
});

it("bounds KV lookups of unknown node-shaped tokens per isolate; beyond the budget they are refused unread", async () => {
  configureGateway({ credentialLookupsPerSecond: 0, credentialLookupBurst: 5 });
  const start = gatewayStats();
  for (let i = 0; i < 20; i++) expect(await statusWith(randomToken())).toBe(404);
  expect(gatewayStats().kvReads - start.kvReads).toBe(5);

  // A real token that arrives while the budget is spent is refused too (and not cached as invalid)…
  const real = await seedNodeToken("node-budget");
  expect(await statusWith(real)).toBe(404);
  expect(gatewayStats().kvReads - start.kvReads).toBe(5);
  // …and works once there is budget again.
  resetGatewayState();
  configureGateway({ credentialLookupsPerSecond: 0, credentialLookupBurst: 1 });
  expect(await statusWith(real)).toBe(200);
  // Its verdict is cached: later uses spend no budget and read no KV.
  const warm = gatewayStats();
  for (let i = 0; i < 5; i++) expect(await statusWith(real)).toBe(200);
  expect(gatewayStats().kvReads - warm.kvReads).toBe(0);
});

it("uses the default budget of 10 lookups in a burst", async () => {
  const start = gatewayStats();
  // However fast or slow this loop is, at most 10 + (its duration × 10/s) reads happen; it spends well under the 100 tokens that would take 9 s.
  const began = Date.now();
  for (let i = 0; i < 100; i++) await statusWith(randomToken());
  const elapsedSeconds = (Date.now() - began) / 1000;
  const reads = gatewayStats().kvReads - start.kvReads;
  expect(reads).toBeGreaterThanOrEqual(10);
  expect(reads).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds * 10));
});

it("TokenBucket refills at its rate up to its burst", () => {
  const bucket = new TokenBucket(
    () => 10,
    () => 3,
  );
  const t0 = Date.now();
  expect([bucket.take(t0), bucket.take(t0), bucket.take(t0), bucket.take(t0)]).toEqual([true, true, true, false]);
  // 10 per second: one token after 100 ms, not before.
  expect(bucket.take(t0 + 50)).toBe(false);
  expect(bucket.take(t0 + 100)).toBe(true);
  expect(bucket.take(t0 + 100)).toBe(false);
  // Never more than the burst, however long it rested.
  expect([0, 1, 2, 3].map(() => bucket.take(t0 + 60_000))).toEqual([true, true, true, false]);
});
