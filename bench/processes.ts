// Child processes for the benchmarks: started in their own process group, stopped on every
// exit path (normal end, error, SIGINT/SIGTERM), with their output kept for error messages.
import { spawn, type ChildProcess } from "node:child_process";

export { hasBinary } from "../scripts/lab/netns";

export interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far (last 64 KiB). */
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<Proc>();
const killAll = () => {
  for (const p of live) {
    try {
      process.kill(-p.child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
};
process.once("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

export function startProcess(argv: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Proc {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-65536);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const proc: Proc = {
    child,
    output: () => out,
    stop: async () => {
      live.delete(proc);
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // The group is gone.
        }
      };
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        signalGroup("SIGTERM");
        const timer = setTimeout(() => signalGroup("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      // The leader's exit does not end the rest of its group (workerd under wrangler, say).
      signalGroup("SIGKILL");
    },
  };
  live.add(proc);
  return proc;
}

/** Resolves once `check` returns a value, polling; rejects with `what` after the deadline. */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
