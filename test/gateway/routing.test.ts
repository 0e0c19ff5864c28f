import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/api/credentials";
import { NODE_TOKEN_KEY_PREFIX } from "../../src/api/route";
import { resetGatewayState } from "./reset-state";
import { CREDENTIAL_HEADER } from "../../src/gateway/access";
import { gateway, httpPort, podEndpoint, pods, podOf, seedNodeToken, seedRoute, type Echo } from "./fixtures";

beforeEach(() => resetGatewayState());

const CLUSTER_HOST = "web.default.svc.cluster.local";

describe("host kinds", () => {
  it("a public LoadBalancer hostname answers anyone", async () => {
    await seedRoute("web-default.lb.svcedge.local", { ports: [httpPort(["a"])] });
    const res = await gateway("http://web-default.lb.svcedge.local/hello?x=1");
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.pod).toBe("a");
    expect(echo.url).toBe("/hello?x=1");
  });

  it("matches the Host case-insensitively and ignores a port that is no service port", async () => {
    await seedRoute("web-default.lb.svcedge.local", { ports: [httpPort(["a"])] });
    const res = await gateway("http://Web-Default.LB.svcedge.local:8080/", { headers: { host: "WEB-default.lb.svcedge.local:8080" } });
    expect(res.status).toBe(200);
    expect(await podOf(res)).toBe("a");
  });

  it("an unknown host gets a 404 that says nothing about it", async () => {
    const res = await gateway("http://nothing-here.lb.svcedge.local/");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("404 page not found\n");
  });

  it("a host with no record (a headless Service has none) is 404", async () => {
    await seedRoute("web-default.lb.svcedge.local", { ports: [httpPort(["a"])] });
    expect((await gateway("http://headless.default.svc.cluster.local/")).status).toBe(404);
  });

  describe("cluster names", () => {
    beforeEach(async () => {
      await seedRoute(CLUSTER_HOST, { access: "cluster", ports: [httpPort(["b"])] });
    });

    it("answer 404, like an unknown host, without a credential", async () => {
      const res = await gateway(`http://${CLUSTER_HOST}/`);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("404 page not found\n");
    });

    it("answer 404 with a wrong credential", async () => {
      expect((await gateway(`http://${CLUSTER_HOST}/`, { headers: { [CREDENTIAL_HEADER]: "test-cluster-tokeN" } })).status).toBe(404);
      expect((await gateway(`http://${CLUSTER_HOST}/`, { headers: { [CREDENTIAL_HEADER]: "" } })).status).toBe(404);
    });

    it("answer a caller with the cluster token, and do not forward the credential", async () => {
      const res = await gateway(`http://${CLUSTER_HOST}/`, { headers: { [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! } });
      expect(res.status).toBe(200);
      const echo = await res.json<Echo>();
      expect(echo.pod).toBe("b");
      expect(echo.headers[CREDENTIAL_HEADER]).toBeUndefined();
    });

    it("answer a caller with a registered node token, and stop when it is revoked (after the cache TTL)", async () => {
      const token = await seedNodeToken("node-1");
      expect((await gateway(`http://${CLUSTER_HOST}/`, { headers: { [CREDENTIAL_HEADER]: token } })).status).toBe(200);
      await env.KV.delete(NODE_TOKEN_KEY_PREFIX + (await sha256Hex(token)));
      resetGatewayState();
      expect((await gateway(`http://${CLUSTER_HOST}/`, { headers: { [CREDENTIAL_HEADER]: token } })).status).toBe(404);
    });
  });

  it("an ExternalName Service is proxied to its external name, with that Host", async () => {
    await seedRoute("ext.default.svc.cluster.local", { access: "cluster", externalName: `localhost:${pods.c}`, ports: [] });
    const res = await gateway("http://ext.default.svc.cluster.local/x", { headers: { [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! } });
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.pod).toBe("c");
    expect(echo.headers.host).toBe(`localhost:${pods.c}`);
    expect(echo.url).toBe("/x");
    expect((await gateway("http://ext.default.svc.cluster.local/x")).status).toBe(404);
  });

  it("an ExternalName Service keeps the port the caller dialled (a CNAME changes the name only), unless the record names one", async () => {
    const credential = { [CREDENTIAL_HEADER]: env.CLUSTER_TOKEN! };
    await seedRoute("ext2.default.svc.cluster.local", { access: "cluster", externalName: "localhost", ports: [] });
    const res = await gateway(`http://ext2.default.svc.cluster.local:${pods.d}/y`, { headers: credential });
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.pod).toBe("d");
    expect(echo.headers.host).toBe(`localhost:${pods.d}`);
    expect(echo.headers["x-forwarded-host"]).toBe(`ext2.default.svc.cluster.local:${pods.d}`);
    await seedRoute("ext3.default.svc.cluster.local", { access: "cluster", externalName: `localhost:${pods.c}`, ports: [] });
    expect(await podOf(await gateway(`http://ext3.default.svc.cluster.local:${pods.d}/`, { headers: credential }))).toBe("c");
  });
});

describe("port choice", () => {
  const ports = () => [
    httpPort(["a"], { name: "metrics", port: 9090 }),
    httpPort(["b"], { name: "web", port: 80 }),
    httpPort(["c"], { name: "https", port: 8443 }),
    httpPort(["d"], { name: "dns", port: 53, protocol: "UDP" }),
  ];

  it("takes the port written in the Host header when the Service has it", async () => {
    await seedRoute("multi-default.lb.svcedge.local", { ports: ports() });
    expect(await podOf(await gateway("http://multi-default.lb.svcedge.local:9090/"))).toBe("a");
    expect(await podOf(await gateway("https://multi-default.lb.svcedge.local:8443/"))).toBe("c");
  });

  it("else goes by scheme: a port named after it, then the port numbered 80/443", async () => {
    await seedRoute("multi-default.lb.svcedge.local", { ports: ports() });
    expect(await podOf(await gateway("http://multi-default.lb.svcedge.local/"))).toBe("b");
    expect(await podOf(await gateway("https://multi-default.lb.svcedge.local/"))).toBe("c");
  });

  it("else the only port; with several and no match, 404; UDP ports never", async () => {
    await seedRoute("one-default.lb.svcedge.local", { ports: [httpPort(["e"], { name: "grpc", port: 9000 })] });
    expect(await podOf(await gateway("https://one-default.lb.svcedge.local/"))).toBe("e");
    await seedRoute("two-default.lb.svcedge.local", {
      ports: [httpPort(["e"], { name: "grpc", port: 9000 }), httpPort(["f"], { name: "admin", port: 9001 })],
    });
    expect((await gateway("http://two-default.lb.svcedge.local/")).status).toBe(404);
    await seedRoute("udp-default.lb.svcedge.local", { ports: [httpPort(["e"], { name: "dns", port: 53, protocol: "UDP" })] });
    expect((await gateway("http://udp-default.lb.svcedge.local:53/")).status).toBe(404);
  });
});

describe("endpoint sets", () => {
  it("falls back to serving-and-terminating endpoints only when none is ready", async () => {
    await seedRoute("drain-default.lb.svcedge.local", { ports: [httpPort([], { terminating: [podEndpoint("f")] })] });
    for (let i = 0; i < 5; i++) expect(await podOf(await gateway("http://drain-default.lb.svcedge.local/"))).toBe("f");
    await seedRoute("mixed-default.lb.svcedge.local", { ports: [httpPort(["a"], { terminating: [podEndpoint("f")] })] });
    for (let i = 0; i < 10; i++) expect(await podOf(await gateway("http://mixed-default.lb.svcedge.local/"))).toBe("a");
  });

  it("answers 503 with Retry-After when the Service has no usable endpoint", async () => {
    await seedRoute("empty-default.lb.svcedge.local", { ports: [httpPort([])] });
    const res = await gateway("http://empty-default.lb.svcedge.local/");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    expect(await res.text()).toMatch(/no healthy endpoints/);
  });
});
