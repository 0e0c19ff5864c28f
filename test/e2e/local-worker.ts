// The real Worker for the end-to-end suites: `wrangler dev` alone (startLocalWorker, in
// scripts/lab/local-worker.ts, which `npm run lab` shares), and `npm start` itself, as a user
// runs it (startDevServer), for the README's walk-through.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { freePort } from "../../scripts/lab/local-worker";

export { freePort, startLocalWorker, type LocalWorker, type LocalWorkerOptions } from "../../scripts/lab/local-worker";

const ROOT = resolve(import.meta.dirname, "../..");

export interface DevServer {
  /** A folder laid out like the repository's root (its sources linked), where `npm start` runs and writes .dev.vars and .wrangler/. */
  dir: string;
  httpPort: number;
  httpsPort: number;
  adminToken: string;
  /** What `npm start` printed so far. */
  output(): string;
  /** A signal to npm alone, as `timeout npm start` sends it; resolves with npm's exit. */
  signal(signal?: NodeJS.Signals): Promise<number | null>;
  /** Ends the process group (SIGKILL after `signal`) and removes the folder. */
  stop(): Promise<void>;
}

/** The repository's entries `npm start` needs, linked into a fresh folder so that its state and files stay out of the checkout. */
const DEV_SERVER_LINKS = ["node_modules", "src", "scripts", "package.json", "wrangler.toml", "tsconfig.json"];
/** Written by scripts/dev.mjs once the server answers. */
const DEV_SERVER_FILE = ".wrangler/svcedge-dev.json";

/** Two free consecutive ports: `npm start` serves https on the port after the http one. */
export async function freePortPair(ip = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(ip);
    if (port < 65535 && (await isPortFree(ip, port + 1))) return port;
  }
  throw new Error("no two consecutive free ports");
}

/** Whether `port` can be bound on `ip` (nothing listens there). */
export function isPortFree(ip: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once("error", () => res(false));
    srv.listen(port, ip, () => srv.close(() => res(true)));
  });
}

/**
 * Runs `npm start` (scripts/dev.mjs) as a user does, through npm, in a fresh folder, and
 * waits until it has printed its URLs. `command` is the shell line (default `npm start`);
 * `env` adds to the environment (PORT, HOST, HTTPS_PORT).
 */
export async function startDevServer(opts: { command?: string; env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), "svcedge-dev-"));
  for (const entry of DEV_SERVER_LINKS) symlinkSync(join(ROOT, entry), join(dir, entry));
  const child = spawn("bash", ["-c", `exec ${opts.command ?? "npm start"}`], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, HOME: dir, WRANGLER_SEND_METRICS: "false", CI: "true", WRANGLER_LOG_PATH: join(dir, "wrangler-logs"), ...opts.env },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is gone.
    }
  };
  const signal = async (sig: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  const stop = async () => {
    killGroup("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    killGroup("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  while (Date.now() < deadline && child.exitCode === null) {
    if (existsSync(join(dir, DEV_SERVER_FILE)) && output.includes("svcedge is running")) {
      const urls = JSON.parse(readFileSync(join(dir, DEV_SERVER_FILE), "utf8")) as { http: string; https: string };
      const adminToken = /^ADMIN_TOKEN="(.*)"$/m.exec(readFileSync(join(dir, ".dev.vars"), "utf8"))![1]!;
      return { dir, httpPort: Number(new URL(urls.http).port), httpsPort: Number(new URL(urls.https).port), adminToken, output: () => output, signal, stop };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`npm start did not become ready:\n${output.slice(-3000)}`);
}
