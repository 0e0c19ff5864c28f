// "Why does host X not route?": the admin's GET /debug/routes/<host> walks the gateway's
// checks against what KV really holds, while the public keeps getting the opaque 404 and
// the Worker's log gets the host and the reason (rate-limited).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HOST_FILTER_KEY } from "../../src/api/host-filter";
import { routeKey } from "../../src/api/route";
import { resetGatewayState } from "./reset-state";
import { env } from "cloudflare:workers";
import { call, flushKvToEdge, json } from "../admin/client";
import { gateway, httpPort, podEndpoint, seedRoute } from "./fixtures";

const explain = async (host: string, token?: string | null) => call("GET", `/debug/routes/${host}`, undefined, { token });

beforeEach(async () => {
  resetGatewayState();
  // Records are seeded straight into KV, without the registry's host filter: let the registry
  // (which the explanation asks for its pending writes) flush what it has, then drop the filter.
  await flushKvToEdge();
  await env.KV.delete(HOST_FILTER_KEY);
});
afterEach(() => vi.restoreAllMocks());

describe("GET /debug/routes/<host>", () => {
  it("says a host with ready endpoints routes, and through which Service and port", async () => {
    await seedRoute("shop.lb.svcedge.local", { namespace: "prod", service: "shop", ports: [httpPort(["a", "b"])] });
    const res = await explain("shop.lb.svcedge.local");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      host: "shop.lb.svcedge.local",
      routable: true,
      record: { namespace: "prod", service: "shop", access: "public", ports: [{ name: "http", port: 80, ready: 2, terminating: 0, refused: 0 }] },
    });
    expect(body.steps.at(-1)).toMatch(/^routable on http\/TCP \(2 ready, 0 terminating\)/);
    expect(body.registry).toHaveProperty("kvWritesPending");
  });

  it("explains an unknown host, a Service without ready endpoints, a cluster name and a malformed or admin host", async () => {
    expect(await json(await explain("nothing.lb.svcedge.local"))).toMatchObject({
      routable: false,
      steps: [expect.any(String), expect.any(String), expect.stringMatching(/^no route record \(route\/nothing\.lb\.svcedge\.local\)/)],
    });
    await seedRoute("empty.lb.svcedge.local", { ports: [httpPort([])] });
    expect((await json(await explain("empty.lb.svcedge.local"))).steps.at(-1)).toBe("no ready or serving endpoint on any TCP port: 503 with Retry-After");
    await seedRoute("db.prod.svc.cluster.local", { access: "cluster", ports: [httpPort(["a"])] });
    const cluster = await json(await explain("db.prod.svc.cluster.local"));
    expect(cluster.routable).toBe(true);
    expect(cluster.steps).toContain("a cluster name: only callers with a credential (svcedge-credential: CLUSTER_TOKEN or a node token) get past the 404");
    expect((await json(await explain("a..b"))).steps).toEqual([expect.stringMatching(/^not a DNS name the gateway accepts/)]);
    expect((await json(await explain("localhost"))).steps).toEqual([expect.stringMatching(/^an admin host/)]);
  });

  it("counts the endpoints the origin guard drops, and says when a record is malformed", async () => {
    await env.KV.put(routeKey("broken.lb.svcedge.local"), JSON.stringify({ v: 99 }));
    expect((await json(await explain("broken.lb.svcedge.local"))).steps.at(-1)).toMatch(/is malformed: the gateway ignores it$/);
    await seedRoute("mixed.lb.svcedge.local", { ports: [{ ...httpPort(["a"]), ready: [podEndpoint("a"), { id: "bad", url: "ftp://x" }] }] });
    expect((await json(await explain("mixed.lb.svcedge.local"))).record.ports[0]).toMatchObject({ ready: 1, refused: 1 });
  });

  it("is the admin's: 401 without a token, 403 for a node token", async () => {
    expect((await explain("shop.lb.svcedge.local", null)).status).toBe(401);
    const issued = await json(await call("POST", "/api/v1/nodes/explain-node/token"));
    const res = await explain("shop.lb.svcedge.local", issued.status.token);
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
  });
});

describe("an unrouted request", () => {
  it("gets the same opaque 404, and the log gets its host and reason, at most a few lines a second", async () => {
    const log = vi.spyOn(console, "log");
    const res = await gateway("http://nowhere.lb.svcedge.local/");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("404 page not found\n");
    expect(log).toHaveBeenCalledWith(
      JSON.stringify({ level: "info", msg: "gateway: not routed", host: "nowhere.lb.svcedge.local", reason: "no route record" }),
    );
    for (let i = 0; i < 50; i++) await (await gateway(`http://flood-${i}.lb.svcedge.local/`)).text();
    expect(log.mock.calls.length).toBeLessThanOrEqual(6);
  });
});
