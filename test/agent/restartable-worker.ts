// The real Worker under wrangler dev, with state that survives a restart: stopping and
// starting it again on the same port and storage is a real API outage (the registry's
// watch history survives it, so watches resume).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, wranglerDevArgs } from "../../scripts/lab/local-worker";

const ROOT = resolve(import.meta.dirname, "../..");
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 5000;

export class RestartableWorker {
  readonly adminToken = randomBytes(24).toString("base64url");
  private readonly state = mkdtempSync(join(tmpdir(), "svcedge-worker-"));
  private child: ChildProcess | undefined;
  private port = 0;
  private output = "";

  /** `vars`: Worker variables beside the admin token (wrangler dev --var). */
  constructor(private readonly vars: Record<string, string> = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const args = wranglerDevArgs("127.0.0.1", this.port, this.state, { ADMIN_TOKEN: this.adminToken, ...this.vars });
    const child = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    });
    this.child = child;
    child.stdout!.on("data", (d) => (this.output += d));
    child.stderr!.on("data", (d) => (this.output += d));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`${this.url}/version`, { headers: { authorization: `Bearer ${this.adminToken}` } });
        if (res.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.stop();
    throw new Error(`wrangler dev did not become ready:\n${this.output.slice(-2000)}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // Already gone.
      }
    };
    kill("SIGTERM");
    const timer = setTimeout(() => kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.state, { recursive: true, force: true });
  }

  async admin<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": contentType },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async nodeToken(node: string): Promise<string> {
    return (await this.admin<{ status: { token: string } }>("POST", `/api/v1/nodes/${node}/token`)).status.token;
  }
}
