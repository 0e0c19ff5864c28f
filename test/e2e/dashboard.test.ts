// The dashboard in a real browser: Debian's chromium, driven by playwright-core, against
// the real Worker under `wrangler dev`, with a real HTTP server as the Pods. Covers
// sign-in (a wrong token, then the right one), the paged and filtered Services list, a
// Service's endpoints, a Pod turning not ready (shown within 2 s, without a reload),
// and the Nodes page. Screenshots go to test-artifacts/dashboard/ (git-ignored; CI
// keeps them). Under REQUIRE_CHROMIUM=1 (CI) a missing chromium fails the suite.
import { existsSync, mkdirSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "./local-worker";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/dashboard");
/** The bound for a change to show on an open page: a functional limit, not a benchmark. */
const LIVE_UPDATE_MS = 2000;
/** Services in the namespace "warehouse", listed after "shop/web": with it, more than one page of 50. */
const PAGED_SERVICES = 57;

if (!HAVE_CHROMIUM && process.env.REQUIRE_CHROMIUM === "1") {
  it("finds chromium (REQUIRE_CHROMIUM=1)", () => {
    expect.fail(`${CHROMIUM} is missing, and REQUIRE_CHROMIUM=1 requires it (apt-get install chromium)`);
  });
}

/** A GET through the gateway: the Worker's address, with a Host the admin API does not answer on. */
function gatewayGet(worker: LocalWorker, host: string, path = "/"): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(worker.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe.skipIf(!HAVE_CHROMIUM)("the dashboard in chromium", () => {
  let worker: LocalWorker;
  let browser: Browser;
  let page: Page;
  /** Two real servers, one per Pod: the gateway's route record holds one endpoint per URL. */
  const podServers: Server[] = [];
  const podPorts: number[] = [];
  /** What the page reported that it should not have: CSP refusals, script errors, failed requests. */
  const problems: string[] = [];
  /** Watch streams cut by a Worker restart, and the console lines Chromium logs for them. */
  let cutWatches = 0;
  const cutWatchLog = "console: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING";
  const unexplained = () => {
    let cuts = cutWatches;
    return problems.filter((p) => !(p === cutWatchLog && cuts-- > 0));
  };

  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${worker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${worker.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const service = (ns: string, name: string, type = "ClusterIP") =>
    api("POST", `/api/v1/namespaces/${ns}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name },
      spec: { type, selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: "web" }] },
    });
  const podObject = (ns: string, name: string, app: string, node: string, port: number) =>
    api("POST", `/api/v1/namespaces/${ns}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { app } },
      spec: { nodeName: node, containers: [{ name: "app", ports: [{ name: "web", containerPort: port }] }] },
      status: { phase: "Running", podIP: "127.0.0.1", conditions: [{ type: "Ready", status: "True" }] },
    });
  const setReady = async (ns: string, name: string, ready: boolean) => {
    const p = await api("GET", `/api/v1/namespaces/${ns}/pods/${name}`);
    p.status.conditions = [{ type: "Ready", status: ready ? "True" : "False" }];
    await api("PUT", `/api/v1/namespaces/${ns}/pods/${name}/status`, p);
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const row = (key: string) => page.locator(`tr[data-key="${key}"]`);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    for (let i = 0; i < 2; i++) {
      const server = createServer((_req, res) => res.end(`pod ${i}\n`));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      podServers.push(server);
      podPorts.push((server.address() as AddressInfo).port);
    }
    // Seven objects per registry RPC: every page of 50 is assembled from several API pages. No route
    // cache, as under npm start: the gateway follows readiness as soon as the registry flushes.
    worker = await startLocalWorker({ vars: { LIST_RPC_PAGE_ITEMS: "7", GATEWAY_ALLOW_LOCAL_ORIGINS: "true", GATEWAY_ROUTE_CACHE_TTL_SECONDS: "0" } });
    for (const ns of ["shop", "warehouse"]) await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const node = await api("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "node-a" } });
    node.status = { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastTransitionTime: new Date().toISOString() }] };
    await api("PUT", "/api/v1/nodes/node-a/status", node);
    await api("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "node-a" },
      spec: { holderIdentity: "node-a", leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace("Z", "000Z") },
    });
    await service("shop", "web", "LoadBalancer");
    await podObject("shop", "web-1", "web", "node-a", podPorts[0]!);
    await podObject("shop", "web-2", "web", "node-a", podPorts[1]!);
    for (let i = 0; i < PAGED_SERVICES; i++) await service("warehouse", `svc-${String(i).padStart(3, "0")}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => {
      const error = r.failure()?.errorText;
      // A view that leaves aborts its requests. wrangler dev restarts the Worker when a source file
      // changes, which cuts open watches: the page resumes them (watch.js), but Chromium logs each cut.
      if (error === "net::ERR_ABORTED") return;
      if (error === "net::ERR_INCOMPLETE_CHUNKED_ENCODING" && new URL(r.url()).searchParams.get("watch") === "1") {
        cutWatches += 1;
        return;
      }
      problems.push(`request failed: ${r.url()}: ${error}`);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    for (const server of podServers) if (server.listening) await new Promise((r) => server.close(r));
  });

  it("refuses a wrong token and a node token: says so, keeps nothing, and puts no token in the URL", async () => {
    await page.goto(`${worker.url}/dashboard/`);
    await page.fill("#token", "not-the-token");
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("[data-role=sign-in-error]")).toBe("Wrong token: the API answered 401 Unauthorized.");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(page.url()).toBe(`${worker.url}/dashboard/`);
    await shot("1-wrong-token");
    // A node token is a valid credential, but not the admin's: refused too.
    const nodeToken = (await api("POST", "/api/v1/nodes/node-a/token", {})).status.token as string;
    await page.fill("#token", nodeToken);
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("[data-role=sign-in-error]")).toMatch(/^Not the admin token: .*User "system:node:node-a" cannot get/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // The refused tokens' 401 and 403 are the failed requests the browser logs.
    expect(unexplained().filter((p) => !/\b40[13]\b/.test(p))).toEqual([]);
    problems.length = 0;
    cutWatches = 0;
  });

  it("signs in with the admin token, kept in sessionStorage only, and lists the Services with their endpoints", async () => {
    await page.fill("#token", worker.adminToken);
    await page.click("button[type=submit]");
    await page.waitForSelector('tr[data-key="shop/web"]');
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual(["svcedge.adminToken"]);
    expect((await page.context().cookies()).length).toBe(0);
    expect(page.url()).not.toContain(worker.adminToken);
    const web = row("shop/web");
    await expect.poll(() => web.locator("[data-role=endpoints]").textContent()).toBe("2/2");
    const cells = await web.locator("td").allTextContents();
    expect(cells.slice(0, 3)).toEqual(["shop", "web", "LoadBalancer"]);
    expect(cells[4]).toBe("web-shop.lb.svcedge.local");
    expect(cells[5]).toMatch(/^http 80:3\d{4}\/TCP$/);
    // The registry's figures, from /metrics.
    await expect.poll(() => page.textContent("[data-figure=objects-services]")).toBe(String(PAGED_SERVICES + 1));
    // The page's own watches, counted at the next reading (every 5 s).
    await expect.poll(async () => Number(await page.textContent("[data-figure=watchers]")), { timeout: 12_000 }).toBeGreaterThan(0);
    expect(await page.textContent("[data-figure=kv-pending]")).toMatch(/^\d+$/);
    await shot("2-services");
  });

  it("pages through the Services 50 at a time and filters them", async () => {
    // Page 1: shop/web and warehouse/svc-000 to svc-048; page 2: svc-049 to svc-056.
    const keys = () => page.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")));
    const first = await keys();
    expect(first).toHaveLength(50);
    expect(first.slice(0, 2)).toEqual(["shop/web", "warehouse/svc-000"]);
    await page.click("text=Next →");
    await expect.poll(async () => (await keys())[0]).not.toBe(first[0]);
    const second = await keys();
    expect(second[second.length - 1]).toBe(`warehouse/svc-${String(PAGED_SERVICES - 1).padStart(3, "0")}`);
    expect(first.length + second.length).toBe(PAGED_SERVICES + 1);
    expect(new Set([...first, ...second]).size).toBe(PAGED_SERVICES + 1);
    await page.click("text=← Previous");
    await expect.poll(keys).toEqual(first);

    await page.fill("input[type=search]", "warehouse/svc-05");
    await expect
      .poll(keys)
      .toEqual([
        "warehouse/svc-050",
        "warehouse/svc-051",
        "warehouse/svc-052",
        "warehouse/svc-053",
        "warehouse/svc-054",
        "warehouse/svc-055",
        "warehouse/svc-056",
      ]);
    expect(page.url()).toContain("#/services?q=warehouse%2Fsvc-05");
    await shot("3-filtered");
    await page.fill("input[type=search]", "no-such-service");
    await page.waitForSelector("[data-role=empty]");
    await page.fill("input[type=search]", "");
    await page.waitForSelector('tr[data-key="shop/web"]');
  });

  it("shows a Service's endpoints: Pod, node, URL, conditions, and the gateway's view", async () => {
    await page.click('tr[data-key="shop/web"] a');
    await page.waitForSelector('tr[data-endpoint="web-1"]');
    const endpoint = page.locator('tr[data-endpoint="web-1"]');
    const cells = await endpoint.locator("td").allTextContents();
    expect(cells.slice(0, 4)).toEqual(["web-1", "node-a", "127.0.0.1", `http ${podPorts[0]}/TCP`]);
    expect(await endpoint.locator("[data-cond=ready]").textContent()).toBe("true");
    expect(await endpoint.locator("[data-cond=serving]").textContent()).toBe("true");
    expect(await endpoint.locator("[data-cond=terminating]").textContent()).toBe("false");
    // The route record reaches local KV within the registry's flush (1 s); the page asks every 3 s.
    await expect.poll(() => endpoint.locator("[data-role=gateway]").textContent(), { timeout: 10_000 }).toBe("in rotation");
    expect(await endpoint.locator("td").nth(4).textContent()).toBe(`http://127.0.0.1:${podPorts[0]}`);
    expect(await page.textContent("[data-role=endpoint-counts]")).toBe("2/2 ready");
    await shot("4-endpoints");
  });

  it("says why the gateway has no route for a headless Service, from GET /debug/routes/<host>", async () => {
    await api("POST", "/api/v1/namespaces/shop/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db" },
      spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] },
    });
    await page.goto(`${worker.url}/dashboard/#/services/shop/db`);
    await expect
      .poll(() => page.textContent("[data-role=edge-note]"))
      .toMatch(/^Gateway: db\.shop\.svc\.cluster\.local: (the host filter .* rules it out|no route record \(route\/db\.shop\.svc\.cluster\.local\))/);
    expect(await page.textContent("[data-role=empty]")).toMatch(/^No endpoints/);
    await page.goto(`${worker.url}/dashboard/#/services/shop/web`);
    await page.waitForSelector('tr[data-endpoint="web-2"]');
  });

  it("shows a Pod turning not ready within 2 s, without a reload", async () => {
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true));
    await setReady("shop", "web-2", false);
    await page.waitForSelector('tr[data-endpoint="web-2"] [data-cond=ready]:text-is("false")', { timeout: LIVE_UPDATE_MS });
    expect(await page.textContent("[data-role=endpoint-counts]")).toBe("1/2 ready");
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shot("5-not-ready");
    // The gateway's view follows once the registry has flushed the route record (1 s locally; the page asks every 3 s).
    await expect.poll(() => page.textContent('tr[data-endpoint="web-2"] [data-role=gateway]'), { timeout: 10_000 }).toBe("not routed");
    expect(await page.textContent('tr[data-endpoint="web-1"] [data-role=gateway]')).toBe("in rotation");

    // The list follows too: back on the Services page, then the Pod is ready again.
    await page.click("text=← Services");
    await expect.poll(() => row("shop/web").locator("[data-role=endpoints]").textContent()).toBe("1/2");
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true));
    await setReady("shop", "web-2", true);
    await page.waitForSelector('tr[data-key="shop/web"] [data-role=endpoints]:text-is("2/2")', { timeout: LIVE_UPDATE_MS });
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it("serves its files on the admin host only: a Service's host forwards /dashboard/ paths to the Service's Pods", async () => {
    // wrangler dev runs the asset layer as production does: with run_worker_first, the Worker decides.
    const own = await fetch(`${worker.url}/dashboard/app.js`);
    expect(own.status).toBe(200);
    expect(await own.text()).toMatch(/^import /m);
    for (const path of ["/dashboard/app.js", "/dashboard/", "/app.js", "/index.html"]) {
      const res = await gatewayGet(worker, "web-shop.lb.svcedge.local", path);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toMatch(/^pod [01]\n$/);
      expect(res.headers["content-security-policy"], path).toBeUndefined();
    }
  });

  it("shows an endpoint the gateway ejected after its Pod stopped answering", async () => {
    await page.click('tr[data-key="shop/web"] a');
    await expect.poll(() => page.textContent('tr[data-endpoint="web-2"] [data-role=gateway]'), { timeout: 10_000 }).toBe("in rotation");
    // web-2's server goes away for real: connections to it are refused.
    await new Promise((r) => podServers[1]!.close(r));
    const host = "web-shop.lb.svcedge.local";
    // The gateway picks at random and retries a refused connection on web-1; at most 40 requests, each tries web-2 with probability 1/2.
    const ejected = async () =>
      (await api("GET", "/dashboard/api/edge/namespaces/shop/services/web")).ports[0].endpoints.some((e: { ejected: boolean }) => e.ejected);
    for (let i = 0; i < 40 && !(await ejected()); i++) expect((await gatewayGet(worker, host)).status).toBe(200);
    await expect.poll(() => page.textContent('tr[data-endpoint="web-2"] [data-role=gateway]'), { timeout: 10_000 }).toBe("ejected (http)");
    expect(await page.textContent('tr[data-endpoint="web-1"] [data-role=gateway]')).toBe("in rotation");
    await shot("6-ejected");
  });

  it("shows the Nodes: Ready condition and the age of their Lease", async () => {
    await page.click("nav >> text=Nodes");
    await page.waitForSelector('tr[data-key="node-a"]');
    const node = row("node-a");
    expect(await node.locator("[data-role=ready]").textContent()).toBe("Ready");
    expect(await node.locator("[data-role=lease]").textContent()).toMatch(/^\d+s$/);
    await shot("7-nodes");
  });

  it("signs out: the token is gone and the sign-in form is back", async () => {
    await page.click("#sign-out");
    await page.waitForSelector("#token");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(unexplained()).toEqual([]);
  });
});
