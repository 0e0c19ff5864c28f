// A warm isolate serves a host without reading KV; concurrent misses share one read;
// and the cache is only an optimisation (an evicted isolate reads KV again). These
// records are seeded without a host filter: a cold isolate reads the (missing) filter
// once per cache period, then the record (host-filter.test.ts covers the filter).
import { env } from "cloudflare:workers";
import { beforeEach, expect, it } from "vitest";
import { randomToken } from "../../src/api/credentials";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { CREDENTIAL_HEADER } from "../../src/gateway/access";
import { gatewayStats } from "../../src/gateway/stats";
import { gateway, httpPort, podOf, seedNodeToken, seedRoute } from "./fixtures";

const HOST = "cached-default.lb.svcedge.local";

beforeEach(async () => {
  resetGatewayState();
  await seedRoute(HOST, { ports: [httpPort(["d"])] });
});

it("reads KV once per host, then serves a warm isolate from memory", async () => {
  const start = gatewayStats();
  expect(await podOf(await gateway(`http://${HOST}/`))).toBe("d");
  // The host filter and the record.
  expect(gatewayStats().kvReads - start.kvReads).toBe(2);
  const warm = gatewayStats();
  for (let i = 0; i < 25; i++) expect(await podOf(await gateway(`http://${HOST}/`))).toBe("d");
  const end = gatewayStats();
  expect(end.kvReads - warm.kvReads).toBe(0);
  expect(end.cacheHits - warm.cacheHits).toBe(25);
  expect(end.requests - warm.requests).toBe(25);
});

it("lets concurrent misses for one host share a single KV read", async () => {
  const start = gatewayStats();
  const answers = await Promise.all(Array.from({ length: 20 }, () => gateway(`http://${HOST}/`).then(podOf)));
  expect(answers).toEqual(Array(20).fill("d"));
  // One of the host filter, one of the record.
  expect(gatewayStats().kvReads - start.kvReads).toBe(2);
});

it("remembers unknown hosts too", async () => {
  const start = gatewayStats();
  for (let i = 0; i < 10; i++) expect((await gateway("http://nobody.lb.svcedge.local/")).status).toBe(404);
  // With no host filter in KV, the host is looked up once (and the missing filter read once).
  expect(gatewayStats().kvReads - start.kvReads).toBe(2);
});

it("remembers node-token verdicts, valid and invalid", async () => {
  const host = "api.default.svc.cluster.local";
  await seedRoute(host, { access: "cluster", ports: [httpPort(["d"])] });
  const token = await seedNodeToken("node-2");
  const madeUp = randomToken();
  const start = gatewayStats();
  for (let i = 0; i < 5; i++) {
    expect((await gateway(`http://${host}/`, { headers: { [CREDENTIAL_HEADER]: token } })).status).toBe(200);
    expect((await gateway(`http://${host}/`, { headers: { [CREDENTIAL_HEADER]: madeUp } })).status).toBe(404);
  }
  // The host filter, one route read, one read per distinct token.
  expect(gatewayStats().kvReads - start.kvReads).toBe(4);
});

it("reads KV again once the cache TTL is over, and picks up a changed record", async () => {
  configureGateway({ routeCacheTtlMs: 50 });
  expect(await podOf(await gateway(`http://${HOST}/`))).toBe("d");
  await seedRoute(HOST, { ports: [httpPort(["e"])] });
  expect(await podOf(await gateway(`http://${HOST}/`))).toBe("d");
  await new Promise((resolve) => setTimeout(resolve, 80));
  const start = gatewayStats();
  expect(await podOf(await gateway(`http://${HOST}/`))).toBe("e");
  // The filter's period is over too.
  expect(gatewayStats().kvReads - start.kvReads).toBe(2);
});

it("does not depend on the cache: a fresh isolate serves the same", async () => {
  expect(await podOf(await gateway(`http://${HOST}/`))).toBe("d");
  resetGatewayState();
  expect(await podOf(await gateway(`http://${HOST}/`))).toBe("d");
});

it("skips malformed records and endpoints instead of fetching them", async () => {
  await env.KV.put("route/bad-default.lb.svcedge.local", JSON.stringify({ v: 2, ports: [] }));
  expect((await gateway("http://bad-default.lb.svcedge.local/")).status).toBe(404);
  await seedRoute("odd-default.lb.svcedge.local", {
    ports: [
      httpPort([], {
        ready: [
          { id: "file", url: "file:///etc/passwd" },
          { id: "creds", url: "http://user:pw@127.0.0.1:1/" },
          { id: "query", url: "http://127.0.0.1:1/?x=1" },
        ],
      }),
    ],
  });
  const res = await gateway("http://odd-default.lb.svcedge.local/");
  expect(res.status).toBe(503);
});
