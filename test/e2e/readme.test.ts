// The README's walk-through, run as written: its `sh` blocks, top to bottom, in one bash
// session (`set -euo pipefail`: every command must succeed), against a fresh `npm start`
// in a folder laid out like the repository's root. Markers in HTML comments before a
// block: `readme-test: skip` (not run: installs, the whole test suite, the agent),
// `readme-test: server` (`npm start`, run in the background first), `readme-test: lab`
// (`sudo npm run lab`: not run here; test/e2e/lab-command.test.ts runs it). A `console` block
// after `readme-test: fails COMMAND` is what COMMAND prints when it fails, and is checked.
// The only change to the text: ports 8787/8788 become free ones, so that a developer's
// own `npm start` is not disturbed. Under REQUIRE_KUBECTL=1 (CI) a missing kubectl fails.
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findKubectl } from "./kubectl/run-kubectl";
import { freePortPair, startDevServer, type DevServer } from "./local-worker";

const ROOT = resolve(import.meta.dirname, "../..");
const KUBECTL = findKubectl();
/** The whole session, bounded: a hung command fails the test instead of the suite. */
const SESSION_TIMEOUT_MS = 240_000;

interface Block {
  /** Fenced language: sh (run) or console (expected output). */
  lang: string;
  text: string;
  /** The HTML-comment marker right above the block, if any. */
  marker?: string;
}

function readmeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /(?:<!-- readme-test: (.+?) -->\n)?```(\w+)\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(fence)) blocks.push({ marker: m[1], lang: m[2]!, text: m[3]! });
  return blocks;
}

const README = readFileSync(join(ROOT, "README.md"), "utf8");

if (!KUBECTL && process.env.REQUIRE_KUBECTL === "1") {
  it("finds kubectl (REQUIRE_KUBECTL=1)", () => {
    expect.fail("kubectl is not installed, and REQUIRE_KUBECTL=1 requires it (apt-get install kubectl)");
  });
}

describe.skipIf(!KUBECTL)("the README's walk-through", () => {
  let server: DevServer;
  let port: number;
  const forPorts = (text: string) => text.replaceAll("8787", String(port)).replaceAll("8788", String(port + 1));
  const blocks = readmeBlocks(README);
  /** Output of each run block, by its index in `blocks`. */
  const outputs = new Map<number, string>();
  let session: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    port = await freePortPair();
    const serverBlocks = blocks.filter((b) => b.marker === "server");
    expect(serverBlocks.map((b) => b.text)).toEqual(["npm start"]);
    server = await startDevServer({ command: forPorts(serverBlocks[0]!.text), env: { PORT: String(port) } });
    // PORT above only pins the port the README's `npm start` uses by default (8787, here `port`).
    expect(server.httpPort).toBe(port);
    expect(server.httpsPort).toBe(port + 1);

    const script = ["set -euo pipefail"];
    blocks.forEach((block, i) => {
      const fails = block.marker?.match(/^fails (.+)$/)?.[1];
      // On a line of its own: curl's JSON answers end without a newline.
      const mark = `printf '\\n::block ${i}::\\n'`;
      if (fails) script.push(mark, `if out=$(${forPorts(fails)} 2>&1); then echo "unexpectedly succeeded: $out"; exit 1; fi`, `printf '%s\\n' "$out"`);
      else if (block.lang === "sh" && block.marker === undefined) script.push(mark, forPorts(block.text));
    });
    session = await runBash(script.join("\n"), server.dir);
    const parts = session.stdout.split(/^::block (\d+)::\n/m);
    // Each part ends with the newline that put the next marker on a line of its own.
    for (let i = 1; i < parts.length; i += 2) outputs.set(Number(parts[i]), parts[i + 1]!.replace(/\n$/, ""));
  }, SESSION_TIMEOUT_MS + 150_000);

  afterAll(async () => {
    await server?.stop();
  });

  const outputOf = (needle: string): string => {
    const i = blocks.findIndex((b) => (b.lang === "sh" && b.marker === undefined && b.text.includes(needle)) || b.marker?.startsWith(`fails ${needle}`));
    expect(i, `a README block with ${needle}`).toBeGreaterThanOrEqual(0);
    return outputs.get(i) ?? "";
  };

  it("runs every shell block, top to bottom, without a failing command", () => {
    expect(session.stderr).not.toMatch(/error|Unhandled|Traceback/i);
    expect(session.code, session.stderr).toBe(0);
    const run = blocks.filter((b) => b.lang === "sh" && b.marker === undefined).length;
    expect(outputs.size).toBeGreaterThanOrEqual(run);
  });

  it("leaves npm start's log free of stack traces and uncaught exceptions (a healthy run)", () => {
    expect(server.output()).not.toMatch(/^\s+at .+:\d+:\d+\)?$|uncaught exception|Uncaught|^stack:/im);
  });

  it("creates the Service with curl and gets a Kubernetes Status for the invalid one", () => {
    expect(outputOf("--data-binary @nginx.yaml")).toMatch(/clusterIP: 10\.\d+\.\d+\.\d+/);
    const invalid = JSON.parse(outputOf('"nodePort":30080'));
    expect(invalid).toMatchObject({ kind: "Status", status: "Failure", reason: "Invalid", code: 422 });
    expect(invalid.message).toBe(`Service "bad" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when \`type\` is 'ClusterIP'`);
    expect(outputOf("-X DELETE")).toContain('"kind":"Service"');
  });

  it("reaches the pod through the gateway, and explains the host that does not route", () => {
    const out = outputOf("python3 -m http.server");
    expect(out).toContain("Directory listing for /");
    expect(out).toContain("404 page not found");
    expect(out).toMatch(/"host":"nothing\.lb\.svcedge\.local","routable":false/);
  });

  it("writes a clean, private kubeconfig through npm run, and kubectl's apply, patch, watch and server-side apply answer as the README says", () => {
    const kubeconfig = join(server.dir, "svcedge.kubeconfig");
    expect(readFileSync(kubeconfig, "utf8")).toMatch(/^apiVersion: v1\nkind: Config\n/);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const kubectl = outputOf("kubectl apply -f nginx.yaml");
    expect(kubectl).toMatch(/^service\/nginx created\nservice\/nginx unchanged\n/m);
    expect(kubectl).toMatch(/^nginx\s+ClusterIP\s+[\d.]+\s+<none>\s+8080\/TCP,8443\/TCP\s+\S+\s+app=nginx$/m);
    expect(kubectl).toMatch(/^web\s+LoadBalancer\s+[\d.]+\s+web-default\.lb\.svcedge\.local\s+80:\d+\/TCP\s+\S+\s+app=web$/m);
    expect(kubectl).toMatch(/service\/nginx patched\nservice\/nginx patched\n$/);
    const conflict = blocks.findIndex((b) => b.marker?.startsWith("fails"));
    expect(outputs.get(conflict)?.trim()).toBe(blocks[conflict]!.text.trim());
    expect(outputOf("--force-conflicts")).toMatch(/^service\/nginx serverside-applied\n443\nservice "nginx" deleted\n$/);
  });
});

/** Runs the script in `cwd` with the test's HOME (kubectl's caches stay there); the process group ends with it. */
function runBash(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn("bash", ["-c", script], {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: cwd, LANG: "C.UTF-8" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    };
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${SESSION_TIMEOUT_MS} ms]`;
      killGroup();
    }, SESSION_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      // Whatever the script left running (the README's pod if a command failed before `kill`).
      killGroup();
      res({ code, stdout, stderr });
    });
  });
}
