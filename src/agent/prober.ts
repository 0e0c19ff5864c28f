// Readiness probes with kubelet semantics (pkg/kubelet/prober): httpGet succeeds on
// 200–399, tcpSocket on an established connection, grpc on a SERVING health check; a result changes the container's
// readiness only after successThreshold (or failureThreshold) equal results in a row.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { ContainerPort, Probe } from "../api/types";
import { grpcHealthProbe } from "./grpc-probe";

export type ProbeResult = "success" | "failure";

export interface ProbeOutcome {
  result: ProbeResult;
  /** Why it failed (or the HTTP status), for logs. */
  message: string;
}

/** core/v1 Probe defaults, as the apiserver fills them in. */
export const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } as const;
/** kubelet reads at most this much of a probe's response body. */
const MAX_PROBE_BODY_BYTES = 10 * 1024;
/** kubelet's User-Agent for probes is kube-probe/<major>.<minor>. */
const PROBE_USER_AGENT = "kube-probe/svcedge";

export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Defaults for unset (or zero) fields, with the API's minimum of 1 where it has one. */
export function probeSettings(p: Probe): ProbeSettings {
  const pick = (v: number | undefined, d: number) => (v === undefined || v <= 0 ? d : v);
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds) * 1000,
    periodMs: pick(p.periodSeconds, PROBE_DEFAULTS.periodSeconds) * 1000,
    timeoutMs: pick(p.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds) * 1000,
    successThreshold: pick(p.successThreshold, PROBE_DEFAULTS.successThreshold),
    failureThreshold: pick(p.failureThreshold, PROBE_DEFAULTS.failureThreshold),
  };
}

export interface ProbeTarget {
  podIP?: string;
  /** The probed container's ports, to resolve a named port. */
  ports: ContainerPort[];
}

/** A port number, or a container port's name (IANA_SVC_NAME) looked up in the container. */
export function resolveProbePort(port: number | string, ports: ContainerPort[]): number | undefined {
  if (typeof port === "number") return port >= 1 && port <= 65535 ? port : undefined;
  if (/^\d+$/.test(port)) return resolveProbePort(Number(port), ports);
  return ports.find((p) => p.name === port)?.containerPort;
}

const fail = (message: string): ProbeOutcome => ({ result: "failure", message });

function httpGetProbe(h: NonNullable<Probe["httpGet"]>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolveProbePort(h.port, target.ports);
  if (port === undefined) return Promise.resolve(fail(`unknown port ${JSON.stringify(h.port)}`));
  const host = h.host || target.podIP;
  if (!host) return Promise.resolve(fail("pod has no IP"));
  const headers: Record<string, string> = { "user-agent": PROBE_USER_AGENT, accept: "*/*", connection: "close" };
  for (const hd of h.httpHeaders ?? []) headers[hd.name.toLowerCase()] = hd.value;
  const path = h.path ? (h.path.startsWith("/") ? h.path : `/${h.path}`) : "/";
  const request = h.scheme === "HTTPS" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    // kubelet does not verify probe certificates; redirects are not followed (3xx is a success).
    const req = request({ host, port, path, method: "GET", headers, agent: false, rejectUnauthorized: false }, (res: IncomingMessage) => {
      const code = res.statusCode ?? 0;
      let read = 0;
      res.on("data", (b: Buffer) => {
        read += b.length;
        if (read > MAX_PROBE_BODY_BYTES) res.destroy();
      });
      res.on("error", () => {});
      res.on("close", () =>
        done(code >= 200 && code < 400 ? { result: "success", message: `HTTP ${code}` } : fail(`HTTP probe failed with statuscode: ${code}`)),
      );
      res.resume();
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(fail(`Get "http://${host}:${port}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`));
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => done(fail(`Get "http://${host}:${port}${path}": ${e.code ?? e.message}`)));
    req.end();
  });
}

function tcpSocketProbe(t: NonNullable<Probe["tcpSocket"]>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolveProbePort(t.port, target.ports);
  if (port === undefined) return Promise.resolve(fail(`unknown port ${JSON.stringify(t.port)}`));
  const host = t.host || target.podIP;
  if (!host) return Promise.resolve(fail("pod has no IP"));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(fail(`dial tcp ${host}:${port}: i/o timeout`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ result: "success", message: "connected" });
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(fail(`dial tcp ${host}:${port}: ${e.code ?? e.message}`));
    });
  });
}

function grpcProbe(g: NonNullable<Probe["grpc"]>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolveProbePort(g.port, []);
  if (port === undefined) return Promise.resolve(fail(`unknown port ${JSON.stringify(g.port)}`));
  if (!target.podIP) return Promise.resolve(fail("pod has no IP"));
  return grpcHealthProbe(target.podIP, port, g.service ?? "", timeoutMs);
}

/** Runs one probe. A probe with no handler svcedge knows fails (exec is not one: see docs/agent.md). */
export function runProbe(probe: Probe, target: ProbeTarget, timeoutMs = probeSettings(probe).timeoutMs): Promise<ProbeOutcome> {
  if (probe.httpGet) return httpGetProbe(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket) return tcpSocketProbe(probe.tcpSocket, target, timeoutMs);
  if (probe.grpc) return grpcProbe(probe.grpc, target, timeoutMs);
  return Promise.resolve(fail("probe has no httpGet, tcpSocket or grpc handler"));
}

export interface ProbeWorkerOptions {
  probe: Probe;
  target: ProbeTarget;
  /** When the container started (initialDelaySeconds counts from here), in ms since the epoch. */
  startedAt: number;
  /** Readiness before any result counts: false as kubelet; true to carry over a Ready pod across an agent restart. */
  initialReady: boolean;
  /** Called when readiness flips. */
  onChange(ready: boolean, outcome: ProbeOutcome): void;
  /** Called for every probe result (metrics). */
  onResult?(outcome: ProbeOutcome): void;
  /** When the prober started (the agent), in ms since the epoch: see firstProbeDelayMs. */
  proberStartedAt?: number;
  run?: typeof runProbe;
  now?: () => number;
  random?: () => number;
}

/**
 * How long a new probe worker waits before its first probe: until initialDelaySeconds has
 * passed since the container started and, as kubelet does, while the prober itself started
 * less than a period ago (an agent restart finding running pods), a random part of the
 * period, so that a restarted agent does not probe every pod in the same instant.
 */
export function firstProbeDelayMs(
  settings: Pick<ProbeSettings, "initialDelayMs" | "periodMs">,
  at: { now: number; startedAt: number; proberStartedAt?: number; random: () => number },
): number {
  const untilInitialDelay = at.startedAt + settings.initialDelayMs - at.now;
  const jitter = at.proberStartedAt !== undefined && at.now - at.proberStartedAt < settings.periodMs ? at.random() * settings.periodMs : 0;
  return Math.max(0, untilInitialDelay, jitter);
}

/** One container's readiness probe on its period (kubelet's probe worker). */
export class ProbeWorker {
  private current: boolean;
  private lastResult: ProbeResult | undefined;
  private resultRun = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private readonly settings: ProbeSettings;
  private readonly opts: ProbeWorkerOptions;

  constructor(opts: ProbeWorkerOptions) {
    this.opts = opts;
    this.settings = probeSettings(opts.probe);
    this.current = opts.initialReady;
  }

  get ready(): boolean {
    return this.current;
  }

  start(): void {
    const o = this.opts;
    const delay = firstProbeDelayMs(this.settings, {
      now: (o.now ?? Date.now)(),
      startedAt: o.startedAt,
      random: o.random ?? Math.random,
      ...(o.proberStartedAt !== undefined ? { proberStartedAt: o.proberStartedAt } : {}),
    });
    this.timer = setTimeout(() => this.tick(), delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const started = (this.opts.now ?? Date.now)();
    const outcome = await (this.opts.run ?? runProbe)(this.opts.probe, this.opts.target, this.settings.timeoutMs);
    if (this.stopped) return;
    this.record(outcome);
    // The next probe is a period after this one started, as kubelet's ticker.
    const elapsed = (this.opts.now ?? Date.now)() - started;
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.settings.periodMs - elapsed));
  }

  /** kubelet's worker.doProbe: a result takes effect after threshold equal results in a row. */
  record(outcome: ProbeOutcome): void {
    this.opts.onResult?.(outcome);
    if (outcome.result === this.lastResult) this.resultRun++;
    else {
      this.lastResult = outcome.result;
      this.resultRun = 1;
    }
    const s = this.settings;
    if ((outcome.result === "failure" && this.resultRun < s.failureThreshold) || (outcome.result === "success" && this.resultRun < s.successThreshold)) return;
    const ready = outcome.result === "success";
    if (ready === this.current) return;
    this.current = ready;
    this.opts.onChange(ready, outcome);
  }
}
