// The heap of the isolate that runs the registry, read through workerd's inspector (Chrome
// DevTools Protocol over a WebSocket): Runtime.getHeapUsage, after HeapProfiler.collectGarbage
// when a forced GC is wanted. Under wrangler dev the Durable Object and the Worker run in one
// isolate (one inspector target, `core:user:<worker name>`), so the figure holds the Worker's
// own heap too (route cache, admin app); in production the object has an isolate of its own.
//
// Finding it: wrangler dev starts workerd with an inspector on a random loopback port
// (miniflare's inspectorPort 0; `--inspector-port` is the port of wrangler's relay in front
// of it, not workerd's). The workerd that runs the Worker listens on a few loopback ports;
// the inspector is the one whose /json/list names the target. workerd answers one session
// per isolate: while wrangler's DevTools relay holds it (the default), a second client is
// connected but never answered, so the registry bench runs with the relay off
// (../edge/devtools-relay.ts) and talks to workerd directly.
//
// collectGarbage: V8 queues the collection as a task that workerd runs the next time the
// isolate is entered, and answers only then; the caller pokes the Worker (a request that
// the same isolate serves) until the answer comes.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Bound on one inspector call: the isolate answers between the events it is running. */
const CALL_TIMEOUT_MS = 15_000;
const POKE_INTERVAL_MS = 100;
export const MIB = 2 ** 20;

export interface HeapUsage {
  /** V8 heap in use, bytes (Runtime.getHeapUsage usedSize). */
  used: number;
  /** V8 heap committed, bytes (totalSize). */
  total: number;
}

/** Loopback TCP ports a process listens on: its socket inodes, looked up in /proc/net/tcp. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const row of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
    if (state === "0A" && inode !== undefined && inodes.has(inode)) ports.push(parseInt(local!.split(":")[1]!, 16));
  }
  return ports;
}

/** The inspector WebSocket URL of `target` among the ports workerd process `pid` listens on. */
async function findTarget(pid: number, target: string): Promise<string | undefined> {
  for (const port of listeningPorts(pid)) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) continue;
      const found = ((await res.json()) as { id?: string; webSocketDebuggerUrl?: string }[]).find((t) => t.id === target);
      if (found?.webSocketDebuggerUrl) return found.webSocketDebuggerUrl;
    } catch {
      // Not an inspector (the Worker's own sockets answer something else).
    }
  }
  return undefined;
}

export class IsolateHeap {
  /** Set when the session ended before close(): wrangler dev reloaded the Worker (a source file changed) or workerd exited. */
  lostAt?: Date;
  private closing = false;
  private nextId = 0;
  private readonly pending = new Map<number, (reply: { result?: unknown; error?: { message: string } }) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev: MessageEvent) => {
      const reply = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (reply.id === undefined) return; // An event: none is enabled.
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    ws.addEventListener("close", () => {
      if (!this.closing) this.lostAt ??= new Date();
    });
  }

  /** Connects to the inspector of `core:user:<workerName>` in workerd process `pid`. */
  static async connect(pid: number, workerName: string): Promise<IsolateHeap> {
    const target = `core:user:${workerName}`;
    const url = await findTarget(pid, target);
    if (!url) throw new Error(`no inspector of ${target} among the ports workerd (pid ${pid}) listens on`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${url}: no connection in ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
      ws.addEventListener("open", () => (clearTimeout(timer), resolve()));
      ws.addEventListener("error", () => (clearTimeout(timer), reject(new Error(`inspector ${url}: connection failed`))));
    });
    const heap = new IsolateHeap(ws);
    await heap.usage(); // Answered: no other session holds the isolate (the DevTools relay is off).
    return heap;
  }

  private call(method: string, timeoutMs = CALL_TIMEOUT_MS): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector ${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`inspector ${method}: ${reply.error.message}`));
        else resolve(reply.result);
      });
      this.ws.send(JSON.stringify({ id, method, params: {} }));
    });
  }

  async usage(): Promise<HeapUsage> {
    const r = (await this.call("Runtime.getHeapUsage")) as { usedSize: number; totalSize: number };
    return { used: r.usedSize, total: r.totalSize };
  }

  /** A forced full GC; `poke` enters the isolate (see the top) until the answer comes. */
  async collectGarbage(poke: () => Promise<unknown>): Promise<void> {
    let answered = false;
    const gc = this.call("HeapProfiler.collectGarbage").finally(() => (answered = true));
    while (!answered) {
      await Promise.race([gc, poke().catch(() => undefined)]);
      if (!answered) await new Promise((r) => setTimeout(r, POKE_INTERVAL_MS));
    }
    await gc;
  }

  /** Heap samples, one at a time every `intervalMs`, for as long as `work` runs; the largest `used`. */
  async maxWhile<T>(work: Promise<T>, intervalMs: number): Promise<{ result: T; maxUsed: number; samples: number }> {
    let done = false;
    const settled = work.finally(() => (done = true));
    let maxUsed = 0;
    let samples = 0;
    while (!done) {
      // A sample sent while the work runs counts, even when the busy isolate answers it later.
      const sample = await this.usage().catch(() => undefined);
      if (sample) {
        maxUsed = Math.max(maxUsed, sample.used);
        samples++;
      }
      await Promise.race([settled.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
    }
    return { result: await settled, maxUsed, samples };
  }

  close(): void {
    this.closing = true;
    this.ws.close();
    for (const [id, reply] of this.pending) {
      this.pending.delete(id);
      reply({ error: { message: "closed" } });
    }
  }
}
