// One long-lived `nft -i` process that takes transactions on its stdin, so an incremental
// sync pays neither a process start (plus `ip netns exec`) nor nft's library setup.
//
// How nft 1.0.6 behaves in interactive mode with a pipe for stdin: every input line is one
// transaction (the commands on it, separated by ";", are parsed, evaluated and committed as
// one netlink batch, so a failure leaves nothing applied); errors go to stderr, unbuffered,
// and the process carries on with the next line. nft prints nothing on success, so after
// each transaction we send a line that is a syntax error on purpose: its error, which
// echoes the line, marks the end of the transaction's own output on stderr.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { Outcome } from "../command";

/** A transaction nft has not answered within this long is taken as lost: the process is killed. */
const TRANSACTION_TIMEOUT_MS = 30_000;
const MARKER_PREFIX = "svcedge-transaction-end-";
/** nft echoes the failing line; a failed 1,000-element command need not fill the log. */
const MAX_ERROR_CHARS = 2000;

export interface NftSessionOptions {
  /** Run inside `ip netns exec <netns>`. */
  netns?: string;
}

interface Pending {
  marker: string;
  resolve: (r: Outcome) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class NftSession {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stderr = "";
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private count = 0;

  constructor(private readonly opts: NftSessionOptions = {}) {}

  /**
   * Applies `transaction` (commands one per line, no blocks) as one nft transaction. Any
   * error, or the process dying, fails it; the process is then dropped and the next call
   * starts a new one.
   */
  apply(transaction: string): Promise<Outcome> {
    const run = this.queue.then(() => this.send(transaction));
    this.queue = run;
    return run;
  }

  /** Starts the process ahead of the first transaction, so that one does not wait for it. */
  warm(): void {
    this.child ??= this.start();
  }

  /** Ends the process (it would also end when this process exits and its stdin closes). */
  close(): void {
    this.drop("nft session closed");
  }

  private start(): ChildProcessWithoutNullStreams {
    const argv = [...(this.opts.netns ? ["ip", "netns", "exec", this.opts.netns] : []), "nft", "-i"];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    this.stderr = "";
    child.stdout.resume();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => this.onStderr(child, text));
    child.stdin.on("error", () => {});
    child.on("error", (e) => this.dropChild(child, `nft -i: ${e.message}`));
    child.on("close", (code) => this.dropChild(child, `nft -i exited (${code})`));
    // An idle session must not keep the agent (or a script) alive.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    return (this.child = child);
  }

  private send(transaction: string): Promise<Outcome> {
    const lines = transaction.split("\n").filter((l) => l.trim() !== "");
    if (lines.length === 0) return Promise.resolve({ ok: true });
    const child = this.child ?? this.start();
    const marker = `${MARKER_PREFIX}${++this.count}`;
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => this.dropChild(child, `nft -i did not answer within ${TRANSACTION_TIMEOUT_MS} ms`), TRANSACTION_TIMEOUT_MS);
      this.pending = { marker, resolve, timer };
      child.stdin.write(`${lines.join("; ")}\n${marker}\n`);
    });
  }

  private onStderr(child: ChildProcessWithoutNullStreams, text: string): void {
    if (child !== this.child) return;
    this.stderr += text;
    const pending = this.pending;
    if (!pending) return;
    // The marker's own error: "Error: …\n<marker>\n<carets>\n".
    const at = this.stderr.indexOf(`\n${pending.marker}\n`);
    if (at < 0) return;
    const end = this.stderr.indexOf("\n", at + pending.marker.length + 2);
    if (end < 0) return;
    const before = this.stderr.slice(0, this.stderr.lastIndexOf("\n", at - 1) + 1);
    this.stderr = this.stderr.slice(end + 1);
    this.finish(pending, before.includes("Error") ? { ok: false, error: `nft -i: ${before.trim().slice(0, MAX_ERROR_CHARS)}` } : { ok: true });
    // Whatever nft holds after a failed transaction, the next one starts from a fresh process.
    if (before.includes("Error")) this.dropChild(child, "");
  }

  private finish(pending: Pending, r: Outcome): void {
    clearTimeout(pending.timer);
    if (this.pending === pending) this.pending = undefined;
    pending.resolve(r);
  }

  private dropChild(child: ChildProcessWithoutNullStreams, why: string): void {
    if (child === this.child) this.drop(why);
  }

  private drop(why: string): void {
    const child = this.child;
    this.child = undefined;
    if (this.pending) this.finish(this.pending, { ok: false, error: why });
    if (child && child.exitCode === null && child.signalCode === null) child.kill();
  }
}
