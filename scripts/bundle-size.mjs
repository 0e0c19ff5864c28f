#!/usr/bin/env node
// `npm run bundle-size`: builds the Worker as `wrangler deploy` would (--dry-run, nothing is
// uploaded), prints its size, gzipped size and the modules that take the most of it, and
// fails when the upload is over the budget. CI runs it before the tests.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 512 * 1024;
const TOP = 12;

const outdir = mkdtempSync(join(tmpdir(), "svcedge-bundle-"));
try {
  const meta = join(outdir, "meta.json");
  const build = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir, "--metafile", meta], { encoding: "utf8" });
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    console.error("bundle-size: wrangler deploy --dry-run failed");
    process.exit(1);
  }
  const js = readdirSync(outdir).filter((f) => f.endsWith(".js"));
  const bytes = js.reduce((t, f) => t + statSync(join(outdir, f)).size, 0);
  const gzipped = js.reduce((t, f) => t + gzipSync(readFileSync(join(outdir, f))).length, 0);
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`bundle: ${kib(bytes)} (${kib(gzipped)} gzipped); budget ${kib(BUDGET_BYTES)}`);

  // Group the output by package (node_modules/<pkg>) or, for our own code, by top-level folder.
  const outputs = Object.values(JSON.parse(readFileSync(meta, "utf8")).outputs);
  const byModule = new Map();
  for (const output of outputs) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs ?? {})) {
      const pkg = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
      const key = pkg ?? input.split("/").slice(0, 2).join("/");
      byModule.set(key, (byModule.get(key) ?? 0) + bytesInOutput);
    }
  }
  const top = [...byModule].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [name, size] of top) console.log(`  ${kib(size).padStart(10)}  ${((100 * size) / bytes).toFixed(1).padStart(5)} %  ${name}`);

  if (bytes > BUDGET_BYTES) {
    console.error(`bundle-size: ${kib(bytes)} is over the ${kib(BUDGET_BYTES)} budget`);
    process.exit(1);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
