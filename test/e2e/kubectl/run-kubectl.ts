// Runs the real kubectl binary, always under a timeout, and returns what it printed.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, dirname, join } from "node:path";

/** Every kubectl call is bounded; a hung call fails the test instead of the suite. */
export const KUBECTL_TIMEOUT_MS = 30_000;

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** $KUBECTL names the binary explicitly (a missing one counts as no kubectl); otherwise /usr/bin, then PATH. */
export function findKubectl(): string | undefined {
  const explicit = process.env.KUBECTL;
  if (explicit) {
    try {
      accessSync(explicit, constants.X_OK);
      return explicit;
    } catch {
      return undefined;
    }
  }
  for (const dir of ["/usr/bin", ...(process.env.PATH ?? "").split(delimiter)]) {
    const candidate = join(dir, "kubectl");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export interface KubectlOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export function makeKubectl(binary: string, kubeconfig: string) {
  // HOME in the test's folder: kubectl's discovery and OpenAPI caches start empty and are thrown away.
  const baseEnv = { PATH: process.env.PATH ?? "", HOME: dirname(kubeconfig), KUBECONFIG: kubeconfig };
  const run = (args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = spawn(binary, args, { env: { ...baseEnv, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => {
        stderr += `\n[killed after ${opts.timeoutMs ?? KUBECTL_TIMEOUT_MS} ms]`;
        child.kill("SIGKILL");
      }, opts.timeoutMs ?? KUBECTL_TIMEOUT_MS);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.input ?? "");
    });
  /** Starts a long-running kubectl (get -w); the caller stops it. */
  const start = (args: string[]): { child: ChildProcess; output: () => string; stop: () => void } => {
    const child = spawn(binary, args, { env: baseEnv, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), KUBECTL_TIMEOUT_MS * 2);
    return {
      child,
      output: () => out,
      stop: () => {
        clearTimeout(timer);
        child.kill("SIGKILL");
      },
    };
  };
  return { run, start };
}

/** Polls `check` until it returns true or `attempts` run out (bounded, for eventually-true states). */
export async function eventually(check: () => Promise<boolean>, attempts = 40, intervalMs = 250): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}
