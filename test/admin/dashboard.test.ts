// The dashboard as the Worker serves it: static files without a token, under a strict
// Content-Security-Policy, with no inline script or style; its one JSON route (the
// gateway's view of a Service) for the admin only. The browser suite is
// test/e2e/dashboard.test.ts.
import { exports } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { configureGateway, resetGatewayConfig } from "../../src/gateway/config";
import { DASHBOARD_CSP } from "../../src/dashboard/security-headers";
import { clearRouteCache } from "../../src/gateway/route-cache";
import { call, flushKv, flushKvToEdge, freshNamespace, json, pod, service } from "./client";

const pods = inject("pods");

// "manual": a service binding's fetch follows redirects otherwise.
const get = (path: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`http://localhost${path}`, { headers, redirect: "manual" }));

/** Every file the page pulls in: its <script src>, <link href> and the modules' static imports, followed. */
async function assetGraph(): Promise<Map<string, Response>> {
  const seen = new Map<string, Response>();
  const queue = ["/dashboard/"];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    const res = await get(path);
    seen.set(path, res.clone());
    const text = await res.text();
    const refs = path.endsWith("/")
      ? [...text.matchAll(/\b(?:src|href)="([^"#]+)"/g)].map((m) => m[1]!)
      : [...text.matchAll(/^import [^"]*"(\.\/[^"]+)";$/gm)].map((m) => m[1]!);
    for (const ref of refs) queue.push(new URL(ref, `http://localhost${path}`).pathname);
  }
  return seen;
}

describe("dashboard assets", () => {
  // The gateway's host filter, once read, would hide later tests' new hosts for its cache period.
  afterEach(() => clearRouteCache());

  it("serves the page and every file it loads without a token, each under the strict policy", async () => {
    const graph = await assetGraph();
    expect([...graph.keys()].sort()).toEqual(
      [
        "/dashboard/",
        "/dashboard/api.js",
        "/dashboard/app.js",
        "/dashboard/dom.js",
        "/dashboard/endpoints.js",
        "/dashboard/figures.js",
        "/dashboard/icon.svg",
        "/dashboard/nodes.js",
        "/dashboard/paged-list.js",
        "/dashboard/pager.js",
        "/dashboard/service.js",
        "/dashboard/services.js",
        "/dashboard/sign-in.js",
        "/dashboard/style.css",
        "/dashboard/watch.js",
      ].sort(),
    );
    for (const [path, res] of graph) {
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-security-policy"), path).toBe(DASHBOARD_CSP);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(res.headers.get("set-cookie"), path).toBeNull();
      const type = path.endsWith("/") ? "text/html" : path.endsWith(".js") ? "text/javascript" : path.endsWith(".css") ? "text/css" : "image/svg+xml";
      expect(res.headers.get("content-type"), path).toContain(type);
    }
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "object-src",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      // object-src falls back to default-src 'none'.
      if (directive === "object-src") expect(DASHBOARD_CSP).not.toMatch(/object-src/);
      else expect(DASHBOARD_CSP).toContain(directive);
    }
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|data:/);
  });

  it("has no inline script, style or event handler, and keeps the token out of URLs and cookies", async () => {
    const graph = await assetGraph();
    const html = await graph.get("/dashboard/")!.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toMatch(/\bsrc="app\.js"/);
    expect(scripts[0]![2]).toBe("");
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
    for (const [path, res] of graph) {
      if (!path.endsWith(".js")) continue;
      const code = await res.text();
      expect(code, path).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|document\.cookie|localStorage/);
      // The token is read from sessionStorage and sent in the Authorization header only.
      if (code.includes("sessionStorage")) expect(path).toBe("/dashboard/api.js");
    }
    const api = await (await get("/dashboard/api.js")).text();
    expect(api).toContain("authorization: `Bearer ${token}`");
  });

  it("sends each file with its media type, no-cache and an ETag; a matching If-None-Match is a 304, HEAD has no body", async () => {
    const res = await get("/dashboard/app.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect((await get("/dashboard/")).headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect((await get("/dashboard/style.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await get("/dashboard/icon.svg")).headers.get("content-type")).toBe("image/svg+xml");
    const body = await res.text();
    expect(body).toMatch(/^import /m);
    const etag = res.headers.get("etag");
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
    const notModified = await get("/dashboard/app.js", { "if-none-match": etag! });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(etag);
    expect(notModified.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(await notModified.text()).toBe("");
    // Another file's tag does not match.
    expect((await get("/dashboard/api.js", { "if-none-match": etag! })).status).toBe(200);
    const head = await exports.default.fetch(new Request("http://localhost/dashboard/app.js", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(head.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(head.headers.get("etag")).toBe(etag);
    expect(await head.text()).toBe("");
  });

  it("redirects /dashboard to /dashboard/; other paths below it need the token like the rest of the API", async () => {
    const bare = await get("/dashboard");
    expect(bare.status).toBe(301);
    expect(bare.headers.get("location")).toBe("/dashboard/");
    // Paths the asset layer would redirect (index.html) or does not hold are not the dashboard's files.
    for (const path of ["/dashboard/nothing.js", "/dashboard/index.html", "/dashboard/index", "/dashboard/app", "/dashboard/x/app.js"]) {
      expect((await get(path)).status, path).toBe(401);
      expect((await call("GET", path)).status, path).toBe(404);
    }
    const post = await exports.default.fetch(new Request("http://localhost/dashboard/", { method: "POST", body: "token=x" }));
    expect(post.status).toBe(401);
  });

  it("is the admin host's only: a Service's host forwards /dashboard/app.js to its Pod", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("site", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: "web" }] }));
    await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("site-1", { app: "site" }, "127.0.0.1", { ready: true, ports: [{ name: "web", containerPort: pods.a }] }),
    );
    await flushKvToEdge();
    const host = `site-${ns}.lb.svcedge.local`;
    const res = await exports.default.fetch(new Request(`http://${host}/dashboard/app.js`, { headers: { host } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-pod")).toBe("a");
    expect(res.headers.get("content-security-policy")).toBeNull();
    expect(res.headers.get("etag")).toBeNull();
    await res.body?.cancel();
  });

  it("is the admin host's only: a gateway host serving /dashboard/ is the gateway's 404", async () => {
    const res = await exports.default.fetch(
      new Request("http://nothing-here.lb.svcedge.local/dashboard/", { headers: { host: "nothing-here.lb.svcedge.local" } }),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("content-security-policy")).toBeNull();
  });
});

describe("the gateway's view of a Service", () => {
  beforeAll(() => configureGateway({ routeCacheTtlMs: 200 }));
  afterAll(() => resetGatewayConfig());

  const edgePath = (ns: string, name: string) => `/dashboard/api/edge/namespaces/${ns}/services/${name}`;

  it("needs the admin token: 401 without one, 403 for a node token, 404 for names that name no Service", async () => {
    const ns = await freshNamespace();
    expect((await call("GET", edgePath(ns, "web"), undefined, { token: null })).status).toBe(401);
    const token = (await json(await call("POST", `/api/v1/nodes/dash-${ns}/token`, undefined, { raw: "{}" }))).status.token as string;
    const denied = await call("GET", edgePath(ns, "web"), undefined, { token });
    expect(denied.status).toBe(403);
    expect(await json(denied)).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
    const bad = await call("GET", edgePath(ns, "Not_A_Name"));
    expect(bad.status).toBe(404);
    expect(await json(bad)).toMatchObject({ kind: "Status", reason: "NotFound" });
    expect(await json(await call("GET", edgePath(ns, "web")))).toEqual({ host: `web.${ns}.svc.cluster.local`, found: false, ports: [] });
  });

  it("lists the route record's endpoints, and one the gateway ejected after failing to connect to it", async () => {
    const ns = await freshNamespace();
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("shop", { type: "LoadBalancer", ports: [{ name: "http", port: 80, targetPort: "web" }] }));
    const good = await json(
      await call(
        "POST",
        `/api/v1/namespaces/${ns}/pods`,
        pod("shop-good", { app: "shop" }, "127.0.0.1", { ready: true, ports: [{ name: "web", containerPort: pods.a }] }),
      ),
    );
    const gone = await json(
      await call(
        "POST",
        `/api/v1/namespaces/${ns}/pods`,
        pod("shop-gone", { app: "shop" }, "127.0.0.1", { ready: true, ports: [{ name: "web", containerPort: inject("refusedPort") }] }),
      ),
    );
    await flushKv();
    const view = async () => json(await call("GET", edgePath(ns, "shop")));
    const before = await view();
    expect(before.found).toBe(true);
    expect(before.ports).toHaveLength(1);
    expect(before.ports[0].endpoints).toEqual(
      expect.arrayContaining([
        { id: good.metadata.uid, url: `http://127.0.0.1:${pods.a}`, set: "ready", ejected: false },
        { id: gone.metadata.uid, url: `http://127.0.0.1:${inject("refusedPort")}`, set: "ready", ejected: false },
      ]),
    );
    // Random choice: send until the refused one has been tried (each request tries it with probability ≥ 1/2).
    const host = `shop-${ns}.lb.svcedge.local`;
    let ejected: { id: string; ejected: boolean }[] = [];
    for (let i = 0; i < 40 && ejected.length === 0; i++) {
      const res = await exports.default.fetch(new Request(`http://${host}/`, { headers: { host } }));
      expect(res.status).toBe(200);
      await res.body?.cancel();
      ejected = (await view()).ports[0].endpoints.filter((e: { ejected: boolean }) => e.ejected);
    }
    expect(ejected.map((e) => e.id)).toEqual([gone.metadata.uid]);
  });
});
