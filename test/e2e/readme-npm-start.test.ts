// `npm start` as the README presents it: the flags and variables it documents, the
// commands it prints (run verbatim), what "a change is routable within a second" means
// locally, ClientIP affinity through X-Forwarded-For, and a stop that leaves nothing
// behind when only npm is signalled (as `timeout npm start` does).
import { execFile } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, isPortFree, startDevServer, type DevServer } from "./local-worker";

const run = promisify(execFile);
const LB_DOMAIN = "lb.svcedge.local";

/** Real HTTP servers on loopback that answer with their name: the pods. */
async function startPod(name: string): Promise<{ name: string; port: number; server: Server }> {
  const server = createServer((_req, res) => res.end(name));
  const port = await new Promise<number>((res) => server.listen(0, "127.0.0.1", () => res((server.address() as { port: number }).port)));
  return { name, port, server };
}

describe("npm start", () => {
  let dev: DevServer;
  let api: string;
  const pods: Awaited<ReturnType<typeof startPod>>[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const httpsPort = await freePort();
    dev = await startDevServer({ command: `npm start -- --port ${port} --https-port=${httpsPort}` });
    api = `http://127.0.0.1:${port}`;
    for (const name of ["a", "b"]) pods.push(await startPod(name));
  });
  afterAll(async () => {
    await dev?.stop();
    for (const pod of pods) pod.server.close();
  });

  const admin = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${dev.adminToken}`, "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** node:http, since fetch does not let a caller set Host. */
  const gateway = (host: string, clientIp?: string): Promise<{ status: number; body: string }> =>
    new Promise((res, rej) => {
      const req = httpRequest(`${api}/`, { headers: { host, ...(clientIp ? { "x-forwarded-for": clientIp } : {}) } }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => res({ status: r.statusCode!, body }));
      });
      req.on("error", rej);
      req.end();
    });
  /** The registry has written every change to KV (its coalesced flush): from here the gateway must see them. */
  const flushed = async (): Promise<void> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const metrics = await (await admin("GET", "/metrics")).text();
      if (/^svcedge_registry_kv_pending 0$/m.test(metrics) && /^svcedge_registry_endpoints_queue_depth 0$/m.test(metrics)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the registry's KV writes did not drain");
  };
  const createService = async (name: string, extra: Record<string, unknown> = {}) => {
    const res = await admin("POST", "/api/v1/namespaces/default/services", {
      metadata: { name },
      spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...extra },
    });
    expect(res.status).toBe(201);
  };
  const createPod = async (service: string, pod: { name: string; port: number }) => {
    const res = await admin("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: `${service}-${pod.name}`, labels: { app: service } },
      spec: { nodeName: "node-1", containers: [{ name: "web", ports: [{ name: "http", containerPort: pod.port }] }] },
      status: { podIP: "127.0.0.1", phase: "Running" },
    });
    expect(res.status).toBe(201);
  };

  it("takes --port and --https-port, and prints URLs and commands that work as printed", async () => {
    const out = dev.output();
    expect(out).toContain(`admin API and gateway: ${api}\n`);
    expect(out).toContain(`admin API over TLS:    https://127.0.0.1:${dev.httpsPort}`);
    expect(out).not.toContain("8787");
    const tryLines = out
      .split("\n")
      .filter((l) => /^\s+(try:)?\s+curl /.test(l))
      .map((l) => l.replace(/^\s+(try:)?\s+/, ""));
    expect(tryLines).toHaveLength(2);
    for (const line of tryLines) {
      const { stdout } = await run("bash", ["-c", `set -o pipefail; ${line} --fail --silent --show-error`], { cwd: dev.dir, encoding: "utf8" });
      const answer = JSON.parse(stdout);
      if (line.includes("/version")) expect(answer).toHaveProperty("gitVersion");
      else expect(answer).toHaveProperty("kind", "ServiceList");
    }
  });

  it("refuses `npm run kubeconfig > FILE` with one line (npm's banner is in the file), and writes the file with --out or npm -s", async () => {
    const shell = (line: string) => run("bash", ["-c", line], { cwd: dev.dir, encoding: "utf8" });
    const refused = await shell("npm run kubeconfig > redirected.kubeconfig").then(
      () => expect.fail("npm run kubeconfig > file succeeded"),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.stderr).toContain("kubeconfig: npm printed its banner into that file; write it with `npm run kubeconfig -- --out svcedge.kubeconfig`");
    expect(refused.stderr).not.toMatch(/^\s+at /m);
    await shell("npm run -s kubeconfig > quiet.kubeconfig && npm run kubeconfig -- --out out.kubeconfig");
    for (const file of ["quiet.kubeconfig", "out.kubeconfig"]) {
      const { stdout } = await run("kubectl", ["--kubeconfig", file, "get", "namespaces", "-o", "name"], {
        cwd: dev.dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", HOME: dev.dir },
      });
      expect(stdout).toContain("namespace/default");
    }
  });

  it("routes a host asked for before its Service existed as soon as the registry's flush lands (no route cache locally)", async () => {
    const host = `early-default.${LB_DOMAIN}`;
    expect((await gateway(host)).status).toBe(404);
    await createService("early");
    await createPod("early", pods[0]!);
    await flushed();
    expect(await gateway(host)).toEqual({ status: 200, body: "a" });
  });

  it("takes a Pod marked not ready out of rotation at the flush, not a cache period later", async () => {
    const host = `rotation-default.${LB_DOMAIN}`;
    await createService("rotation");
    for (const pod of pods) await createPod("rotation", pod);
    await flushed();
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await gateway(host)).body);
    expect(seen).toEqual(new Set(["a", "b"]));
    const res = await admin("PATCH", "/api/v1/namespaces/default/pods/rotation-a/status", { status: { conditions: [{ type: "Ready", status: "False" }] } });
    expect(res.status).toBe(200);
    await flushed();
    // P(pod a never drawn in 20 requests, were it still in rotation) = 2^-20.
    for (let i = 0; i < 20; i++) expect(await gateway(host)).toEqual({ status: 200, body: "b" });
  });

  it("gives each X-Forwarded-For client its own pod under sessionAffinity: ClientIP", async () => {
    const host = `sticky-default.${LB_DOMAIN}`;
    await createService("sticky", { sessionAffinity: "ClientIP" });
    for (const pod of pods) await createPod("sticky", pod);
    await flushed();
    const byClient = new Map<string, string>();
    for (let i = 1; i <= 16; i++) {
      const client = `198.18.0.${i}`;
      const first = (await gateway(host, client)).body;
      for (let again = 0; again < 3; again++) expect((await gateway(host, client)).body).toBe(first);
      byClient.set(client, first);
    }
    // With one address for every caller (CF-Connecting-IP: 127.0.0.1), all 16 would share a pod.
    expect(new Set(byClient.values())).toEqual(new Set(["a", "b"]));
  });

  it("leaves no stack trace in its log when watch clients hang up and events then go to them (http and the TLS port)", async () => {
    const metric = async (name: string): Promise<number> =>
      Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await admin("GET", "/metrics")).text())?.[1]);
    const path = "/api/v1/namespaces/default/services?watch=true&allowWatchBookmarks=true";
    const before = await metric("svcedge_registry_watchers");
    // Over http with fetch, over the TLS port with curl (as the printed commands do).
    const aborted = new AbortController();
    const res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${dev.adminToken}` }, signal: aborted.signal });
    await res.body!.getReader().read(); // the first ADDED event: the watch is open
    const curl = execFile(
      "curl",
      ["-sS", "-N", "--cacert", ".wrangler/svcedge-tls/cert.pem", "-H", `Authorization: Bearer ${dev.adminToken}`, `https://127.0.0.1:${dev.httpsPort}${path}`],
      { cwd: dev.dir },
    );
    let watchers = before;
    for (let attempt = 0; attempt < 100 && watchers < before + 2; attempt++) watchers = await metric("svcedge_registry_watchers");
    expect(watchers).toBe(before + 2);
    aborted.abort();
    curl.kill("SIGKILL");
    // Events for the watchers whose clients are gone: the writes that used to end in "Network connection lost" stacks.
    for (const name of ["after-1", "after-2"]) await createService(name);
    await admin("DELETE", "/api/v1/namespaces/default/services/after-1");
    expect(dev.output()).not.toMatch(/^\s+at .+:\d+:\d+\)?$|uncaught exception|Uncaught|^stack:/im);
  });

  it("stops wrangler and workerd when only npm is signalled, as `timeout npm start` does", async () => {
    await dev.signal("SIGTERM");
    const port = Number(new URL(api).port);
    let free = false;
    for (let attempt = 0; attempt < 100 && !free; attempt++) {
      free = (await isPortFree("127.0.0.1", port)) && (await isPortFree("127.0.0.1", dev.httpsPort));
      if (!free) await new Promise((r) => setTimeout(r, 100));
    }
    expect(free, "a process of npm start still holds its ports").toBe(true);
  });
});
