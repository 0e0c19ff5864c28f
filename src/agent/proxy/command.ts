// Running the netfilter tools, optionally inside a named network namespace. Failures
// come back as values: the sync loop decides whether to retry or fall back.
import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a command reads: one string, or pieces written one after another as the pipe drains. */
export type Stdin = string | Iterable<string>;

/** Runs argv with optional stdin; never rejects for a non-zero exit. */
export type RunCommand = (argv: string[], stdin?: Stdin) => Promise<CommandResult>;

/** What an apply or cleanup came to: done, or why not. */
export type Outcome = { ok: true } | { ok: false; error: string };

export interface CommandOptions {
  /** Run inside `ip netns exec <netns>` (lab namespaces, tests). */
  netns?: string;
  /** Injected runner (defaults to spawning the binary). */
  run?: RunCommand;
}

export const spawnCommand: RunCommand = (argv, stdin) =>
  new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => resolve({ code: 127, stdout: "", stderr: String(e) }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    // A tool that exits before reading stdin closes the pipe; its exit code tells the story.
    child.stdin.on("error", () => {});
    if (typeof stdin !== "object") child.stdin.end(stdin ?? "");
    else void writePieces(child.stdin, stdin);
  });

/**
 * Writes the pieces as the reader takes them, so a large input (a full nft transaction) is
 * never one string and one buffer in memory at once; pieces are made only when needed.
 */
async function writePieces(stream: NodeJS.WritableStream, pieces: Iterable<string>): Promise<void> {
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  stream.once("close", onClose);
  for (const piece of pieces) {
    if (closed) return;
    if (!stream.write(piece)) await new Promise<void>((r) => ((wake = r), stream.once("drain", r)));
  }
  stream.removeListener("close", onClose);
  stream.end();
}

/** A runner bound to the options' namespace. */
export function commandRunner(opts: CommandOptions = {}): RunCommand {
  const run = opts.run ?? spawnCommand;
  return opts.netns ? (argv, stdin) => run(["ip", "netns", "exec", opts.netns!, ...argv], stdin) : run;
}

export const failure = (what: string, r: CommandResult): Outcome & { ok: false } => ({
  ok: false,
  error: `${what}: exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
});
