// Unknown hosts cost no KV read: the gateway reads the registry's host filter
// (`routes/filter`) once per cache period and answers a host it rules out with the
// unknown-host 404 straight away. Known hosts route as before; a host added after the
// isolate read the filter routes once the cache period is over.
import { env } from "cloudflare:workers";
import { beforeEach, expect, it } from "vitest";
import { buildHostFilter, encodeHostFilter, HOST_FILTER_KEY } from "../../src/api/host-filter";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { gatewayStats } from "../../src/gateway/stats";
import { gateway, httpPort, podOf, seedRoute } from "./fixtures";

const KNOWN = ["shop-default.lb.svcedge.local", "blog-default.lb.svcedge.local"];

/** Writes the filter as the registry does, built from `hosts`. */
async function seedHostFilter(hosts: string[]): Promise<void> {
  await env.KV.put(HOST_FILTER_KEY, encodeHostFilter(buildHostFilter(hosts, hosts.length), hosts.length));
}

const randomHost = () => `${crypto.randomUUID()}.lb.svcedge.local`;

beforeEach(async () => {
  resetGatewayState();
  for (const host of KNOWN) await seedRoute(host, { ports: [httpPort(["d"])] });
  await seedHostFilter(KNOWN);
});

it("answers random hosts with the unknown-host 404 and no KV read once the filter is in the isolate", async () => {
  const start = gatewayStats();
  expect(await podOf(await gateway(`http://${KNOWN[0]}/`))).toBe("d");
  // The filter, then the record.
  expect(gatewayStats().kvReads - start.kvReads).toBe(2);

  const warm = gatewayStats();
  for (let i = 0; i < 200; i++) {
    const res = await gateway(`http://${randomHost()}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("404 page not found\n");
  }
  expect(gatewayStats().kvReads - warm.kvReads).toBe(0);
  // Known hosts still route; the second one costs its own record, nothing else.
  expect(await podOf(await gateway(`http://${KNOWN[1]}/`))).toBe("d");
  expect(gatewayStats().kvReads - warm.kvReads).toBe(1);
});

it("routes a host added after the isolate read the filter once the cache period is over", async () => {
  configureGateway({ routeCacheTtlMs: 200 });
  expect(await podOf(await gateway(`http://${KNOWN[0]}/`))).toBe("d");
  const added = "late-default.lb.svcedge.local";
  await seedRoute(added, { ports: [httpPort(["e"])] });
  await seedHostFilter([...KNOWN, added]);
  // Within the period the isolate's filter does not know it yet: 404, with no read of its record.
  const before = gatewayStats();
  expect((await gateway(`http://${added}/`)).status).toBe(404);
  expect(gatewayStats().kvReads - before.kvReads).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 250));
  expect(await podOf(await gateway(`http://${added}/`))).toBe("e");
});

it("looks every host up, as before, when the filter is missing or unreadable", async () => {
  for (const value of [null, '{"v":99}', "not json"]) {
    resetGatewayState();
    if (value === null) await env.KV.delete(HOST_FILTER_KEY);
    else await env.KV.put(HOST_FILTER_KEY, value);
    await seedRoute("unfiltered-default.lb.svcedge.local", { ports: [httpPort(["d"])] });
    expect(await podOf(await gateway("http://unfiltered-default.lb.svcedge.local/")), String(value)).toBe("d");
    const start = gatewayStats();
    expect((await gateway(`http://${randomHost()}/`)).status).toBe(404);
    expect(gatewayStats().kvReads - start.kvReads, String(value)).toBe(1);
  }
});
