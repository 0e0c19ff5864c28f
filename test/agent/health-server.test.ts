// kube-proxy's health endpoints over real loopback HTTP, with a clock the test moves: /healthz
// fails once a queued change waits longer than the timeout, and a healthCheckNodePort
// answers 503 while the proxier is unhealthy even with local endpoints. The agent wired to
// the real Worker is in agent.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { goTimeString, localReadyEndpoints, ProxierHealth, serveProxierHealth, ServiceHealthServer } from "../../src/agent/health-server";
import { buildProxyState } from "../../src/agent/proxy/state";
import { endpoint, NODE, OTHER_NODE, service, slice } from "./proxy/fixtures";
import { freePort } from "../e2e/local-worker";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const T0 = Date.UTC(2026, 11, 7, 19, 0, 0, 250);

describe("goTimeString", () => {
  it("formats as Go's time.Time.String() in UTC; the zero time for never", () => {
    expect(goTimeString(new Date(T0))).toBe("2026-12-07 19:00:00.25 +0000 UTC");
    expect(goTimeString(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe("2026-01-02 03:04:05 +0000 UTC");
    expect(goTimeString(undefined)).toBe("0001-01-01 00:00:00 +0000 UTC");
  });
});

describe("the proxier's /healthz and /livez", () => {
  it("answer 200 while changes are applied in time and 503 once one waits past the timeout", async () => {
    let now = T0;
    const health = new ProxierHealth({ timeoutMs: 60_000, now: () => now });
    const port = await freePort();
    const server = serveProxierHealth(health, { host: "127.0.0.1", port });
    closers.push(() => server.close());
    await server.ready;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, type: res.headers.get("content-type"), nosniff: res.headers.get("x-content-type-options"), body: await res.text() };
    };
    const at = (ms: number) => JSON.stringify(goTimeString(new Date(ms)));
    // Starting up: healthy, and lastUpdated reads as now.
    expect(await get("/healthz")).toEqual({
      status: 200,
      type: "application/json",
      nosniff: "nosniff",
      body: `{"lastUpdated": ${at(T0)},"currentTime": ${at(T0)}, "nodeEligible": true}`,
    });
    health.updated();
    health.queuedUpdate();
    now += 59_999;
    expect((await get("/healthz")).status).toBe(200);
    now += 1;
    expect(await get("/healthz")).toEqual({
      status: 503,
      type: "application/json",
      nosniff: "nosniff",
      body: `{"lastUpdated": ${at(T0)},"currentTime": ${at(now)}, "nodeEligible": true}`,
    });
    expect(await get("/livez")).toMatchObject({ status: 503, body: `{"lastUpdated": ${at(T0)},"currentTime": ${at(now)}}` });
    // Later changes do not reset the wait of the oldest one; a sync does.
    health.queuedUpdate();
    expect((await get("/livez")).status).toBe(503);
    health.updated();
    expect((await get("/livez")).status).toBe(200);
    expect((await get("/metrics")).status).toBe(404);
  });
});

describe("healthCheckNodePort servers", () => {
  it("count this node's ready endpoints by address, and answer 503 while the proxier is unhealthy", async () => {
    const port = await freePort();
    const svc = service("shop", "web", {
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      healthCheckNodePort: port,
      clusterIP: "10.96.0.10",
      ports: [
        { name: "http", port: 80 },
        { name: "https", port: 443 },
      ],
    });
    const ports = [
      { name: "http", port: 8080 },
      { name: "https", port: 8443 },
    ];
    const state = buildProxyState({
      services: [svc],
      slices: [
        slice("shop", "web", ports, [
          endpoint("198.18.1.1", { node: NODE }),
          endpoint("198.18.1.2", { node: NODE, ready: false, serving: true, terminating: true }),
          endpoint("198.18.1.3", { node: OTHER_NODE }),
        ]),
      ],
      nodeName: NODE,
      nodeIPs: ["127.0.0.1"],
    });
    expect(localReadyEndpoints(state, new Map([["shop/web", port]]))).toEqual(new Map([["shop/web", 1]]));
    let healthy = true;
    const server = new ServiceHealthServer({ addresses: () => ["127.0.0.1"], proxierHealthy: () => healthy });
    closers.push(() => server.close());
    await server.sync([svc], state);
    const get = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/anything`);
      return { status: res.status, body: JSON.parse(await res.text()) as unknown };
    };
    expect(await get()).toEqual({ status: 200, body: { service: { namespace: "shop", name: "web" }, localEndpoints: 1, serviceProxyHealthy: true } });
    healthy = false;
    expect(await get()).toEqual({ status: 503, body: { service: { namespace: "shop", name: "web" }, localEndpoints: 1, serviceProxyHealthy: false } });
    // Cluster policy needs no health check: the server closes.
    await server.sync([{ ...svc, spec: { ...svc.spec, externalTrafficPolicy: "Cluster" } }], state);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});

describe("healthCheckNodePort servers on a dual-stack node (one per IP family)", () => {
  it("listen on 0.0.0.0 and on :: (IPv6 only) on the same port, each counting its family's local endpoints", async () => {
    const port = await freePort();
    const svc = service("shop", "dual", {
      type: "LoadBalancer",
      clusterIP: "10.96.0.30",
      clusterIPs: ["10.96.0.30", "2001:db8:96::30"],
      externalTrafficPolicy: "Local",
      healthCheckNodePort: port,
      ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30030 }],
    });
    const httpPort = [{ name: "http", port: 8080 }];
    const input = {
      services: [svc],
      slices: [
        slice("shop", "dual", httpPort, [endpoint("198.18.1.1", { node: NODE })]),
        {
          ...slice("shop", "dual", httpPort, [endpoint("2001:db8::1", { node: NODE }), endpoint("2001:db8::2", { node: NODE })]),
          addressType: "IPv6" as const,
        },
      ],
      nodeName: NODE,
      nodeIPs: ["198.18.0.1", "2001:db8::9"],
    };
    const v4 = new ServiceHealthServer({ addresses: () => ["0.0.0.0"], proxierHealthy: () => true });
    const v6 = new ServiceHealthServer({ addresses: () => ["::"], proxierHealthy: () => true });
    closers.push(
      () => v4.close(),
      () => v6.close(),
    );
    await v4.sync([svc], buildProxyState(input));
    await v6.sync([svc], buildProxyState({ ...input, family: "IPv6" }));
    const count = async (host: string) => ((await (await fetch(`http://${host}:${port}/`)).json()) as { localEndpoints: number }).localEndpoints;
    expect(await count("127.0.0.1")).toBe(1);
    expect(await count("[::1]")).toBe(2);
  });
});
