// The real Worker under `wrangler dev` (workerd, local KV and Durable Object storage in a
// temporary folder), started for whoever drives it over HTTP: the end-to-end suites (kubectl,
// the node agent, the network-namespace lab) and `npm run lab`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";

export interface LocalWorker {
  url: string;
  adminToken: string;
  /** Ends the process group: `signal` first (default SIGTERM), then SIGKILL for what outlives wrangler. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface LocalWorkerOptions {
  ip?: string;
  port?: number;
  /** Command prefix, e.g. ["ip", "netns", "exec", "api"], to run the Worker inside a namespace. */
  wrap?: string[];
  /** Extra `--var NAME:value` pairs (e.g. ADMIN_HOSTS for a lab address). */
  vars?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Extra environment for wrangler (e.g. bench/edge/devtools-relay.ts's DEVTOOLS_RELAY_OFF). */
  env?: Record<string, string>;
  /** Local KV and Durable Object state to use and keep (a restart on the same state); default: a temporary folder that stop() removes. */
  stateDir?: string;
  /** Default: a random one. */
  adminToken?: string;
  /** The checkout to run (its wrangler.toml, sources and node_modules); default: this one. The bench's `--baseline` runs another revision. */
  root?: string;
}

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * `wrangler dev`'s arguments for a quiet local Worker on `ip:port` with its state in `state`:
 * no interactive session, a random inspector port, warnings only, and `vars` as `--var`s.
 * `extra` comes first (another config, say).
 */
export function wranglerDevArgs(ip: string, port: number, state: string, vars: Record<string, string>, extra: string[] = []): string[] {
  const args = ["dev", ...extra, "--ip", ip, "--port", String(port), "--persist-to", state, "--inspector-port", "0", "--show-interactive-dev-session=false"];
  args.push("--log-level", "warn");
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  return args;
}

export async function freePort(ip = "127.0.0.1"): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, ip, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export async function startLocalWorker(opts: LocalWorkerOptions = {}): Promise<LocalWorker> {
  const ip = opts.ip ?? "127.0.0.1";
  const port = opts.port ?? (await freePort(ip));
  const adminToken = opts.adminToken ?? randomBytes(24).toString("base64url");
  const state = opts.stateDir ?? mkdtempSync(join(tmpdir(), "svcedge-worker-"));
  const vars = { ADMIN_TOKEN: adminToken, ADMIN_HOSTS: `localhost,127.0.0.1,[::1],${ip}`, ...opts.vars };
  const root = opts.root ?? ROOT;
  const wrangler = join(root, "node_modules/.bin/wrangler");
  const args = wranglerDevArgs(ip, port, state, vars);
  const cmd = opts.wrap ? [...opts.wrap, wrangler, ...args] : [wrangler, ...args];
  const child: ChildProcess = spawn(cmd[0]!, cmd.slice(1), {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    // wrangler's debug log goes to the temporary state folder, removed by stop().
    // No fetch of the `Request.cf` sample from workers.cloudflare.com (svcedge reads no `cf`; offline it logs a stack).
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CI: "true",
      WRANGLER_LOG_PATH: join(state, "logs"),
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      ...opts.env,
    },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is gone.
    }
  };
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null) {
      killGroup(signal);
      await new Promise((r) => {
        const t = setTimeout(r, 5000);
        child.once("exit", () => {
          clearTimeout(t);
          r(null);
        });
      });
    }
    // workerd (a child of wrangler, same process group) can outlive wrangler's exit and ignore
    // SIGTERM for a while: the group always gets a SIGKILL, so nothing keeps the port or state.
    killGroup("SIGKILL");
    if (!opts.stateDir) rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/version`, { headers: { authorization: `Bearer ${adminToken}` } });
      if (res.status === 200) return { url, adminToken, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready on ${url}:\n${output.slice(-2000)}`);
}
