// The agent launcher (scripts/agent.mjs, `npm run agent`) as a user runs it, in a folder laid
// out like the repository with no bundle yet, so that it builds: once it has exec'd the agent,
// the agent's process has no child left over from the build (no defunct esbuild).
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NODE_BIN, waitFor } from "../../scripts/lab/agent-process";

const ROOT = resolve(import.meta.dirname, "../..");
/** The launcher builds from these; copied or linked so its ROOT is the fresh folder. */
const LINKED = ["src", "node_modules", "package-lock.json", "package.json"];

/** The pids of a process's children, with their state letter (Z: a zombie), from /proc. */
function children(pid: number): { pid: number; state: string; name: string }[] {
  const out: { pid: number; state: string; name: string }[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let list = "";
    try {
      list = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const child of list.split(/\s+/).filter(Boolean)) {
      const stat = readFileSync(`/proc/${child}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.push({ pid: Number(child), state: stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!, name });
    }
  }
  return out;
}

describe.skipIf(!existsSync("/proc/self/task"))("the agent launcher", () => {
  const dir = mkdtempSync(join(tmpdir(), "svcedge-launcher-"));
  let api: Server | undefined;
  let agent: ChildProcess | undefined;
  afterAll(async () => {
    agent?.kill("SIGKILL");
    await new Promise((r) => (api ? api.close(r) : r(null)));
    rmSync(dir, { recursive: true, force: true });
  });

  it("builds the bundle and execs the agent with no zombie esbuild child", async () => {
    mkdirSync(join(dir, "scripts"));
    copyFileSync(join(ROOT, "scripts/agent.mjs"), join(dir, "scripts/agent.mjs"));
    for (const entry of LINKED) symlinkSync(join(ROOT, entry), join(dir, entry));
    // An API that accepts connections and never answers: the agent waits in its first request, alive.
    api = createServer(() => {});
    const port = await new Promise<number>((r) => api!.listen(0, "127.0.0.1", () => r((api!.address() as { port: number }).port)));
    agent = spawn(NODE_BIN, [join(dir, "scripts/agent.mjs"), "--api", `http://127.0.0.1:${port}`, "--token", "t", "--node", "n"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    agent.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    agent.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    const pid = agent.pid!;
    // The same pid runs the bundle once the launcher has exec'd.
    await waitFor("the launcher to build and exec the agent", 60_000, () =>
      readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(join(dir, "dist/agent.mjs")) ? true : undefined,
    );
    expect(existsSync(join(dir, "dist/agent.mjs"))).toBe(true);
    expect(children(pid), output).toEqual([]);
  }, 90_000);
});
