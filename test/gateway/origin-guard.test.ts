// SSRF: a route record may name an origin on the gateway's own machine (loopback, the
// unspecified address, link-local metadata services) or the admin API. By default those
// are refused when the record is loaded and never fetched; GATEWAY_ALLOW_LOCAL_ORIGINS
// (set for these tests in vitest.config.ts, whose pods are on 127.0.0.1) lifts the guard.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RoutePort } from "../../src/api/route";
import { resetGatewayState } from "./reset-state";
import { CREDENTIAL_HEADER } from "../../src/gateway/access";
import { gatewayStats } from "../../src/gateway/stats";
import { handleGateway } from "../../src/gateway/index";
import { DEFAULT_GATEWAY_CONFIG } from "../../src/gateway/config";
import { mayFetchOrigin } from "../../src/gateway/origin-guard";
import { parseRouteRecord } from "../../src/gateway/route-record";
import { gateway, podRequests, pods, seedRoute, type Echo } from "./fixtures";

const ADMIN_HOST = "admin.svcedge.test";
/** The Worker as deployed: no GATEWAY_ALLOW_LOCAL_ORIGINS, and an admin host of its own. */
const productionEnv = { ...env, GATEWAY_ALLOW_LOCAL_ORIGINS: undefined, ADMIN_HOSTS: `${ADMIN_HOST},198.18.7.7` };
const guarded = { ...DEFAULT_GATEWAY_CONFIG, adminHosts: [ADMIN_HOST, "198.18.7.7"] };

beforeEach(() => resetGatewayState());
// The next test must parse records under vitest.config.ts's variables again.
afterEach(() => resetGatewayState());

function asProduction(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return handleGateway(new Request(url, { headers }), productionEnv, createExecutionContext());
}

function onePort(url: string): RoutePort {
  return { name: "http", port: 80, protocol: "TCP", ready: [{ id: `uid-${url}`, url }], terminating: [] };
}

describe("mayFetchOrigin, with the guard on", () => {
  it("refuses loopback, link-local and unspecified literals in every spelling, localhost names and admin hosts", () => {
    const refused = [
      "127.0.0.1",
      "127.8.9.10",
      "2130706433",
      "0x7f.1",
      "0177.0.0.1",
      "localhost",
      "LOCALHOST.",
      "api.localhost",
      "[::1]",
      "[0:0:0:0:0:0:0:1]",
      "[::ffff:127.0.0.1]",
      "[::ffff:7f00:1]",
      "0.0.0.0",
      "0",
      "[::]",
      "169.254.169.254",
      "[::ffff:169.254.169.254]",
      "[fe80::1]",
      "[febf::1]",
      ADMIN_HOST,
      "Admin.SvcEdge.Test.",
      "198.18.7.7",
    ];
    for (const host of refused) expect(mayFetchOrigin(host, guarded), host).toBe(false);
  });

  it("allows other addresses and names, and everything once lifted", () => {
    for (const host of ["10.0.0.4", "198.18.0.10", "[2001:db8::1]", "[fec0::1]", "pod-a.pods.example.net", "localhost.example.net", "notlocalhost"]) {
      expect(mayFetchOrigin(host, guarded), host).toBe(true);
    }
    for (const host of ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", ADMIN_HOST]) {
      expect(mayFetchOrigin(host, { ...guarded, allowLocalOrigins: true }), host).toBe(true);
    }
  });

  it("drops refused endpoints when a record is loaded, keeping the others", () => {
    const record = parseRouteRecord(
      {
        v: 1,
        namespace: "default",
        service: "mixed",
        access: "public",
        ports: [
          {
            name: "http",
            port: 80,
            ready: [
              { id: "lo", url: "http://127.0.0.1:8080" },
              { id: "ok", url: "https://pod-a.pods.example.net" },
            ],
            terminating: [],
          },
        ],
      },
      "mixed-default.lb.svcedge.local",
    );
    expect(record!.ports[0]!.ready.map((e) => e.id)).toEqual(["ok"]);
  });
});

describe("through the gateway, as deployed (guard on)", () => {
  it("never fetches a pod URL on loopback, link-local, unspecified or admin hosts: 503 with an opaque body", async () => {
    const urls = [
      `http://127.0.0.1:${pods.guarded}`,
      `http://localhost:${pods.guarded}`,
      `http://2130706433:${pods.guarded}`,
      `http://[::ffff:127.0.0.1]:${pods.guarded}`,
      `http://0.0.0.0:${pods.guarded}`,
      `http://[::1]:${pods.guarded}`,
      `http://169.254.169.254:${pods.guarded}`,
      `http://[fe80::1]:${pods.guarded}`,
      `https://${ADMIN_HOST}`,
      `http://198.18.7.7:${pods.guarded}`,
    ];
    const before = await podRequests("guarded");
    const stats = gatewayStats();
    for (const [i, url] of urls.entries()) {
      const host = `guarded-${i}-default.lb.svcedge.local`;
      await seedRoute(host, { ports: [onePort(url)] });
      const res = await asProduction(`http://${host}/`);
      expect(res.status, url).toBe(503);
      expect(await res.text(), url).toBe("this Service has no healthy endpoints\n");
    }
    // Nothing reached the pod (only this count itself), nothing failed, nothing was ejected or retried.
    expect((await podRequests("guarded")) - before).toBe(1);
    expect(gatewayStats().ejections - stats.ejections).toBe(0);
    expect(gatewayStats().retries - stats.retries).toBe(0);
  });

  it("never fetches an ExternalName on loopback or an admin host: 502 like an unreachable upstream", async () => {
    const before = await podRequests("guarded");
    for (const externalName of ["localhost", "127.0.0.1", "2130706433", "0.0.0.0", ADMIN_HOST]) {
      const host = "partner.default.svc.cluster.local";
      await seedRoute(host, { access: "cluster", externalName });
      resetGatewayState();
      const res = await asProduction(`http://${host}:${pods.guarded}/`, { [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! });
      expect(res.status, externalName).toBe(502);
      expect(await res.text(), externalName).toBe("upstream connect error\n");
    }
    expect((await podRequests("guarded")) - before).toBe(1);
  });
});

describe("with GATEWAY_ALLOW_LOCAL_ORIGINS=true (tests, npm start)", () => {
  it("fetches the same loopback pod, and loopback ExternalNames", async () => {
    await seedRoute("local-default.lb.svcedge.local", { ports: [onePort(`http://localhost:${pods.guarded}`)] });
    const res = await gateway("http://local-default.lb.svcedge.local/");
    expect(res.status).toBe(200);
    expect((await res.json<Echo>()).pod).toBe("guarded");

    const host = "partner.default.svc.cluster.local";
    await seedRoute(host, { access: "cluster", externalName: "127.0.0.1" });
    const ext = await gateway(`http://${host}:${pods.guarded}/`, { headers: { host: `${host}:${pods.guarded}`, [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! } });
    expect(ext.status).toBe(200);
    expect((await ext.json<Echo>()).pod).toBe("guarded");
  });
});
