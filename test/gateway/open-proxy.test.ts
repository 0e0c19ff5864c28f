// The gateway is never an open proxy: whatever the Host or the request target says,
// only URLs from route records are fetched, and every trick is the unknown-host 404.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { resetGatewayState } from "./reset-state";
import { handleGateway } from "../../src/gateway/index";
import { parseRequestHost } from "../../src/gateway/host";
import { gateway, httpPort, podOf, pods, seedRoute } from "./fixtures";

const HOST = "web-default.lb.svcedge.local";

beforeEach(async () => {
  resetGatewayState();
  await seedRoute(HOST, { ports: [httpPort(["a"])] });
});

async function expectNotFound(res: Response, label: string): Promise<void> {
  expect(res.status, label).toBe(404);
  expect(res.headers.get("x-pod"), label).toBeNull();
  expect(await res.text(), label).toBe("404 page not found\n");
}

describe("hostile requests get the unknown-host 404", () => {
  it("absolute-form targets that name another authority than Host", async () => {
    await expectNotFound(await gateway(`http://127.0.0.1:${pods.a}/`, { headers: { host: HOST } }), "pod authority");
    await expectNotFound(await gateway("http://example.com/", { headers: { host: HOST } }), "other authority");
    await expectNotFound(await gateway(`http://${HOST}:8080/`, { headers: { host: HOST } }), "other port");
    await expectNotFound(await gateway(`http://${HOST}/`, { headers: { host: `${HOST}:8080` } }), "other Host port");
  });

  it("odd Host headers", async () => {
    const hosts = [
      `${HOST}@127.0.0.1:${pods.a}`,
      `evil@${HOST}`,
      `${HOST}/../x`,
      `web-default..lb.svcedge.local`,
      `.${HOST}`,
      `${HOST}.`,
      `${HOST}:`,
      `${HOST}:0`,
      `${HOST}:99999`,
      `${HOST}:80:80`,
      `${HOST}\\x`,
      `web_default.lb.svcedge.local`,
      `-web.lb.svcedge.local`,
      `[::1]`,
      `[::ffff:127.0.0.1]:${pods.a}`,
      `${"a".repeat(64)}.lb.svcedge.local`,
      `${"abcdefghi.".repeat(26)}local`,
    ];
    const ctx = createExecutionContext();
    for (const host of hosts) {
      // Straight to the gateway too: the Worker's entry sends some of these (e.g. [::1]) to the admin API.
      const request = () => new Request(`http://${HOST}/`, { headers: { host } });
      await expectNotFound(await handleGateway(request(), env, ctx), `gateway ${JSON.stringify(host)}`);
      // Through the Worker, whoever answers, no pod does.
      const viaWorker = await gateway(request());
      expect(viaWorker.headers.get("x-pod"), `worker ${JSON.stringify(host)}`).toBeNull();
      expect(viaWorker.status, `worker ${JSON.stringify(host)}`).toBeGreaterThanOrEqual(400);
      await viaWorker.body?.cancel();
    }
  });

  it("userinfo in the target and dot-segments that try to reach another name", async () => {
    // Straight to the gateway: the test's fetch would drop the userinfo before the Worker sees it.
    const ctx = createExecutionContext();
    await expectNotFound(await handleGateway(new Request(`http://user:pw@${HOST}/`), env, ctx), "userinfo");
    const emptyHost = new Request(`http://${HOST}/`, { headers: { host: "" } });
    await expectNotFound(await handleGateway(emptyHost, env, ctx), "empty Host");
    await expectNotFound(await gateway(`http://web-default..lb.svcedge.local/`), "empty label");
  });

  it("the Host of a pod, or an IP literal that no record names", async () => {
    const ctx = createExecutionContext();
    // Straight to the gateway: the Worker's entry may send loopback names to the admin API.
    await expectNotFound(await handleGateway(new Request(`http://127.0.0.1:${pods.a}/`), env, ctx), "pod IP");
    await expectNotFound(await gateway("http://10.0.0.4/"), "private IP");
    await expectNotFound(await gateway("http://198.18.0.10:8080/"), "lab IP");
    await expectNotFound(await handleGateway(new Request("http://2130706433/"), env, ctx), "decimal IP");
  });

  it("an IP literal that a record names is served like any other name", async () => {
    await seedRoute("198.18.0.10", { ports: [httpPort(["b"])] });
    expect(await podOf(await gateway("http://198.18.0.10/"))).toBe("b");
  });
});

describe("parseRequestHost", () => {
  it("lower-cases, strips the port and keeps the scheme", () => {
    expect(parseRequestHost(new Request("https://Web-Default.LB.svcedge.local:8443/x"))).toEqual({
      hostname: "web-default.lb.svcedge.local",
      port: 8443,
      scheme: "https",
    });
    expect(parseRequestHost(new Request("http://a.b/"))).toEqual({ hostname: "a.b", port: undefined, scheme: "http" });
  });

  it("accepts a Host whose port is the scheme's default when the URL omits it", () => {
    expect(parseRequestHost(new Request("http://a.b/", { headers: { host: "a.b:80" } }))?.port).toBe(80);
    expect(parseRequestHost(new Request("http://a.b/", { headers: { host: "a.b:443" } }))).toBeNull();
  });
});
