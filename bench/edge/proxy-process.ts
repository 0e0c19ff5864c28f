// Starts a proxy under test (a wrangler dev, nginx) as a child process with a temporary
// directory of its own, waits until it answers 200 on its URL, and stops it (and removes
// the directory) on request or when it never becomes ready, saying why in one line.
import { rmSync } from "node:fs";
import { startProcess, waitUntil, type Proc } from "../processes";

export interface ProxyProcessOptions {
  /** For messages, e.g. "nginx". */
  what: string;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Where it answers once ready. */
  url: string;
  /** Removed when it stops. */
  tempDir: string;
  readyTimeoutMs: number;
}

export interface ProxyProcess {
  proc: Proc;
  stop(): Promise<void>;
}

export async function startProxyProcess(opts: ProxyProcessOptions): Promise<ProxyProcess> {
  const proc = startProcess(opts.argv, { env: opts.env, cwd: opts.cwd });
  const stop = async () => {
    await proc.stop();
    rmSync(opts.tempDir, { recursive: true, force: true });
  };
  let outcome: "ready" | "exited" | "timeout";
  try {
    outcome = await waitUntil(
      `${opts.what} on ${opts.url}`,
      opts.readyTimeoutMs,
      async () => {
        if (proc.child.exitCode !== null) return "exited" as const;
        const res = await fetch(opts.url);
        await res.arrayBuffer();
        return res.status === 200 ? ("ready" as const) : undefined;
      },
      100,
    );
  } catch {
    outcome = "timeout";
  }
  if (outcome === "ready") return { proc, stop };
  await stop();
  const lastLine = proc.output().trim().split("\n").slice(-1)[0] ?? "";
  throw new Error(
    `${opts.what} did not start: ${outcome === "exited" ? `exited: ${lastLine}` : `no 200 on ${opts.url} within ${opts.readyTimeoutMs / 1000} s`}`,
  );
}
