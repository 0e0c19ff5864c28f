// Runs the real agent CLI through the launcher `npm run agent` uses (scripts/agent.mjs:
// builds the bundle if a source changed, then execs Node on it) as a child process,
// optionally inside a network namespace,
// and keeps its JSON log lines for assertions and for failure reports.
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The project's Node 22 (the system one may be older). */
export const NODE_BIN = join(ROOT, "node_modules/.bin/node");
export const AGENT_ARGV = [NODE_BIN, join(ROOT, "scripts/agent.mjs")];
/** How long a stopping agent gets before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

export interface AgentProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** SIGTERM, then SIGKILL after a timeout; resolves with the exit code. */
  stop(): Promise<number>;
}

export function startAgent(args: string[], opts: { netns?: string; env?: Record<string, string> } = {}): AgentProcess {
  const argv = opts.netns ? ["ip", "netns", "exec", opts.netns, ...AGENT_ARGV, ...args] : [...AGENT_ARGV, ...args];
  // Its own process group, so the whole tree (ip netns exec → node) stops together.
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, ...opts.env } });
  running.add(child);
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number>((res) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      res(code ?? (signal ? 128 : 1));
    }),
  );
  const logs = () =>
    out.split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  return { child, output: () => out, logs, exited, stop };
}

/** Runs the agent to completion (dry run, cleanup, bad flags). */
export async function runAgent(
  args: string[],
  opts: { netns?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = opts.netns ? ["ip", "netns", "exec", opts.netns, ...AGENT_ARGV, ...args] : [...AGENT_ARGV, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number>((res) => child.once("exit", (c) => res(c ?? 1)));
  return { code, stdout, stderr };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
