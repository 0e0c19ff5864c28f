// Probe semantics against real loopback servers: the HTTP status ranges, TCP connects,
// timeouts and named ports, gRPC health checks against a real HTTP/2 server; then kubelet's
// threshold rules on a real timer.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Stream } from "node:http2";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProbeWorker, firstProbeDelayMs, probeSettings, resolveProbePort, runProbe, type ProbeOutcome } from "../../src/agent/prober";

let http: HttpServer;
let httpPort = 0;
let tcp: TcpServer;
let tcpPort = 0;
let closedPort = 0;
const seen: { path: string; headers: Record<string, string | string[] | undefined> }[] = [];
let grpc: Http2Server;
let grpcPort = 0;
const grpcSeen: { path: string; contentType: string; service: string }[] = [];

/** grpc.health.v1 as a server sees it: HealthCheckRequest{service = 1} in, HealthCheckResponse{status = 1} out. */
function answerHealthCheck(stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>): void {
  const chunks: Buffer[] = [];
  stream.on("data", (b: Buffer) => chunks.push(b));
  stream.on("end", () => {
    const body = Buffer.concat(chunks);
    // Only field 1 (tag 0x0a), shorter than 128 bytes, is sent by the prober.
    const service = body.length > 5 && body[5] === 0x0a ? body.subarray(7, 7 + body[6]!).toString() : "";
    grpcSeen.push({ path: String(headers[":path"]), contentType: String(headers["content-type"]), service });
    if (service === "hang") return;
    if (service === "unimplemented")
      return void stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unknown service" },
        { endStream: true },
      );
    const status = service === "draining" ? 2 : 1;
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
  });
}

const listen = (srv: HttpServer | TcpServer | Http2Server): Promise<number> =>
  new Promise((r) => srv.listen(0, "127.0.0.1", () => r((srv.address() as { port: number }).port)));

beforeAll(async () => {
  http = createHttpServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    const m = /^\/status\/(\d+)/.exec(req.url ?? "");
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 1500);
    res.writeHead(m ? Number(m[1]) : 200, m && m[1]!.startsWith("3") ? { location: "http://127.0.0.1:1/elsewhere" } : {});
    res.end("x".repeat(20_000));
  });
  httpPort = await listen(http);
  grpc = createHttp2Server();
  grpc.on("stream", answerHealthCheck);
  grpcPort = await listen(grpc);
  tcp = createTcpServer((s) => s.end());
  tcpPort = await listen(tcp);
  const tmp = createTcpServer();
  closedPort = await listen(tmp);
  await new Promise((r) => tmp.close(r));
});
afterAll(async () => {
  await new Promise((r) => http.close(r));
  await new Promise((r) => tcp.close(r));
  await new Promise((r) => grpc.close(r));
});

const target = { podIP: "127.0.0.1", ports: [{ name: "web", containerPort: 0 }] };

describe("runProbe", () => {
  it.each([
    [200, "success"],
    [204, "success"],
    [301, "success"],
    [399, "success"],
    [400, "failure"],
    [404, "failure"],
    [500, "failure"],
    [503, "failure"],
  ])("httpGet answered %i is a %s", async (code, result) => {
    const o = await runProbe({ httpGet: { path: `/status/${code}`, port: httpPort } }, target);
    expect(o.result).toBe(result);
  });

  it("sends the path, headers and kube-probe User-Agent; resolves a named port", async () => {
    seen.length = 0;
    const o = await runProbe(
      { httpGet: { path: "healthz", port: "web", httpHeaders: [{ name: "X-Check", value: "1" }] } },
      { podIP: "127.0.0.1", ports: [{ name: "web", containerPort: httpPort }] },
    );
    expect(o.result).toBe("success");
    expect(seen[0]!.path).toBe("/healthz");
    expect(seen[0]!.headers["x-check"]).toBe("1");
    expect(seen[0]!.headers["user-agent"]).toMatch(/^kube-probe\//);
  });

  it("fails on timeout, on a refused connection, without a pod IP and for an unknown port name", async () => {
    expect((await runProbe({ httpGet: { path: "/slow", port: httpPort } }, target, 200)).result).toBe("failure");
    expect((await runProbe({ httpGet: { port: closedPort } }, target)).message).toMatch(/ECONNREFUSED/);
    expect((await runProbe({ httpGet: { port: httpPort } }, { ports: [] })).message).toBe("pod has no IP");
    expect((await runProbe({ httpGet: { port: "nope" } }, target)).message).toBe('unknown port "nope"');
  });

  it("tcpSocket succeeds on connect and fails on refusal", async () => {
    expect((await runProbe({ tcpSocket: { port: tcpPort } }, target)).result).toBe("success");
    expect((await runProbe({ tcpSocket: { port: closedPort } }, target)).result).toBe("failure");
  });

  it("grpc asks grpc.health.v1.Health/Check for the service and succeeds only on SERVING", async () => {
    grpcSeen.length = 0;
    const serving = await runProbe({ grpc: { port: grpcPort, service: "ready" } }, target);
    expect(serving).toEqual({ result: "success", message: "SERVING" });
    expect(grpcSeen[0]).toEqual({ path: "/grpc.health.v1.Health/Check", contentType: "application/grpc", service: "ready" });
    expect(await runProbe({ grpc: { port: grpcPort } }, target)).toEqual({ result: "success", message: "SERVING" });
    expect(grpcSeen[1]!.service).toBe("");
    expect(await runProbe({ grpc: { port: grpcPort, service: "draining" } }, target)).toEqual({
      result: "failure",
      message: 'service unhealthy (responded with "NOT_SERVING")',
    });
    expect((await runProbe({ grpc: { port: grpcPort, service: "unimplemented" } }, target)).message).toMatch(/does not implement the grpc health protocol/);
    expect((await runProbe({ grpc: { port: grpcPort, service: "hang" } }, target, 200)).message).toBe("timeout: health rpc did not complete within 0.2s");
    expect((await runProbe({ grpc: { port: closedPort } }, target)).message).toMatch(/failed to connect service .*ECONNREFUSED/);
    expect((await runProbe({ grpc: { port: grpcPort } }, { ports: [] })).message).toBe("pod has no IP");
  });

  it("fails a probe without an httpGet, tcpSocket or grpc handler", async () => {
    expect((await runProbe({}, target)).result).toBe("failure");
  });
});

describe("probe settings", () => {
  it("applies the core/v1 defaults", () => {
    expect(probeSettings({})).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
    expect(probeSettings({ initialDelaySeconds: 2, periodSeconds: 3, timeoutSeconds: 4, successThreshold: 5, failureThreshold: 6 })).toEqual({
      initialDelayMs: 2000,
      periodMs: 3000,
      timeoutMs: 4000,
      successThreshold: 5,
      failureThreshold: 6,
    });
  });

  it("resolves numeric and named ports", () => {
    expect(resolveProbePort(8080, [])).toBe(8080);
    expect(resolveProbePort("8080", [])).toBe(8080);
    expect(resolveProbePort("http", [{ name: "http", containerPort: 80 }])).toBe(80);
    expect(resolveProbePort(0, [])).toBeUndefined();
  });
});

describe("first probe delay (kubelet's worker.run)", () => {
  const settings = { initialDelayMs: 5000, periodMs: 10_000 };
  it("waits out initialDelaySeconds from the container's start", () => {
    expect(firstProbeDelayMs(settings, { now: 1000, startedAt: 0, random: () => 0.5 })).toBe(4000);
    expect(firstProbeDelayMs(settings, { now: 60_000, startedAt: 0, random: () => 0.5 })).toBe(0);
  });
  it("jitters by a random part of the period while the prober started less than a period ago", () => {
    // An agent restart finds a pod running for a minute: no initial delay left, jitter only.
    expect(firstProbeDelayMs(settings, { now: 60_000, startedAt: 0, proberStartedAt: 59_000, random: () => 0.25 })).toBe(2500);
    expect(firstProbeDelayMs(settings, { now: 60_000, startedAt: 0, proberStartedAt: 59_000, random: () => 0.75 })).toBe(7500);
    // The initial delay still wins when it is longer.
    expect(firstProbeDelayMs(settings, { now: 1000, startedAt: 0, proberStartedAt: 0, random: () => 0.1 })).toBe(4000);
  });
  it("does not jitter pods that appear after the prober's first period", () => {
    expect(firstProbeDelayMs(settings, { now: 100_000, startedAt: 100_000, proberStartedAt: 0, random: () => 0.9 })).toBe(5000);
  });
});

describe("ProbeWorker thresholds (kubelet's doProbe)", () => {
  const outcome = (result: "success" | "failure"): ProbeOutcome => ({ result, message: result });
  const worker = (probe: Parameters<typeof probeSettings>[0], initialReady = false) => {
    const changes: boolean[] = [];
    const w = new ProbeWorker({ probe, target, startedAt: 0, initialReady, onChange: (r) => changes.push(r) });
    return { w, changes };
  };

  it("starts not ready and turns ready after successThreshold successes in a row", () => {
    const { w, changes } = worker({ tcpSocket: { port: 1 }, successThreshold: 3 });
    expect(w.ready).toBe(false);
    w.record(outcome("success"));
    w.record(outcome("success"));
    w.record(outcome("failure"));
    w.record(outcome("success"));
    w.record(outcome("success"));
    expect(w.ready).toBe(false);
    w.record(outcome("success"));
    expect(w.ready).toBe(true);
    expect(changes).toEqual([true]);
  });

  it("turns not ready only after failureThreshold failures in a row", () => {
    const { w, changes } = worker({ tcpSocket: { port: 1 }, failureThreshold: 3 }, true);
    w.record(outcome("failure"));
    w.record(outcome("failure"));
    w.record(outcome("success"));
    w.record(outcome("failure"));
    w.record(outcome("failure"));
    expect(w.ready).toBe(true);
    w.record(outcome("failure"));
    expect(w.ready).toBe(false);
    w.record(outcome("failure"));
    expect(changes).toEqual([false]);
  });

  it("probes on its period after initialDelaySeconds, against a real server", async () => {
    const results: number[] = [];
    const started = Date.now();
    const w = new ProbeWorker({
      probe: { tcpSocket: { port: tcpPort }, initialDelaySeconds: 1, periodSeconds: 1 },
      target,
      startedAt: started,
      initialReady: false,
      onChange: () => {},
      onResult: () => results.push(Date.now() - started),
    });
    w.start();
    await new Promise((r) => setTimeout(r, 2500));
    w.stop();
    expect(w.ready).toBe(true);
    // At ~1 s and ~2 s: none before the initial delay, one per period after it.
    expect(results.length).toBe(2);
    expect(results[0]).toBeGreaterThanOrEqual(1000);
  });
});
