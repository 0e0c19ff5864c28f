// `npm run lab` as a user types it (scripts/lab/): the README's line, one-line errors for a
// non-root user and a bad argument, and `npm run lab -- --check` (what CI runs), which builds
// the two-node lab, makes one request of each kind (a ClusterIP from a pod, a NodePort from
// the client, the edge hostname through the gateway, a cluster DNS name) and tears down.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { describeNetns } from "../agent/netns";

const ROOT = resolve(import.meta.dirname, "../..");
/** Building, the Worker's first compile, probes and syncs, then teardown, on a busy machine. */
const CHECK_TIMEOUT_MS = 300_000;

/** Runs a shell line in the repository's root, as typed in a terminal. */
function sh(line: string, opts: { uid?: number; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn("bash", ["-c", line], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

/** The lab's own lines on stderr (npm adds its banner and, on failure, its own notes). */
const labLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("svcedge-lab: "));

describe("npm run lab", () => {
  it("is in the README next to the opening lines, in a block of its own that this file runs", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /<!-- readme-test: lab -->\n```sh\n([\s\S]*?)\n```/.exec(readme);
    expect(block?.[1]).toMatch(/^sudo npm run lab\s+#/);
    // Right after the opening block, before the first section.
    expect(readme.indexOf("<!-- readme-test: lab -->")).toBeLessThan(readme.indexOf("\n## "));
  });

  it("a bad argument: one line, exit 2", async () => {
    const r = await sh("npm run lab -- --nope");
    expect(r.code).toBe(2);
    expect(labLines(r.stderr)).toEqual(['svcedge-lab: unknown argument "--nope" (usage: sudo npm run lab [-- --check])']);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(process.getuid?.() !== 0)("a user who is not root: one line, exit 1", async () => {
    const home = mkdtempSync(join(tmpdir(), "svcedge-lab-home-"));
    try {
      const r = await sh("npm run lab", { uid: 65534, env: { HOME: home, npm_config_cache: join(home, "npm") } });
      expect(labLines(r.stderr), r.stderr).toEqual(["svcedge-lab: run as root: sudo npm run lab"]);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describeNetns("npm run lab -- --check", ["nft", "iptables", "iptables-save", "iptables-restore", "conntrack"], () => {
  it(
    "builds the lab, answers one request of each kind, and leaves nothing behind",
    async () => {
      const r = await sh("npm run lab -- --check");
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.code, out).toBe(0);
      for (const kind of ["ClusterIP", "NodePort", "edge hostname", "DNS name"])
        expect(r.stdout, out).toMatch(new RegExp(`^ok +${kind} +answered by 198\\.18\\.10[12]\\.2:8080 +sudo ip netns exec svlab-`, "m"));
      expect(r.stdout).toContain("lab: every check passed; torn down");
      expect(r.stdout).not.toContain("FAIL");
      // Torn down: no namespace and no resolv.conf of the lab's left.
      const namespaces = await sh("ip netns list");
      expect(namespaces.stdout).not.toContain("svlab-");
      expect(existsSync("/etc/netns") ? readdirSync("/etc/netns").filter((name) => name.startsWith("svlab-")) : []).toEqual([]);
    },
    CHECK_TIMEOUT_MS,
  );
});
