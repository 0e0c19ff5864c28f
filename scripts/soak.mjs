#!/usr/bin/env node
// `npm run soak [-- --quick] [--cases N] [--seed N]`: the long versions of the
// security runs, one after the other, each a vitest run of its own. SVCEDGE_SOAK=1
// makes the suites full size (test/soak-size.ts): the admin API fuzzer sends
// 30,000 requests from a fresh seed (printed, to rerun a failure with --seed),
// the auth matrix every combination, concurrency and durability their large
// numbers. --quick is npm test's short form of the same files; --cases and
// --seed choose the fuzzer's. Exits non-zero when any part fails.
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function usage(msg) {
  process.stderr.write(`error: ${msg}\nusage: npm run soak -- [--quick] [--cases <n>] [--seed <n>]\n`);
  process.exit(2);
}

function count(flag, value) {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(value ?? "")) usage(`${flag} takes a non-negative integer; got "${value ?? ""}"`);
  return String(Number(value));
}

function parseArgs(argv) {
  const opts = { quick: false, cases: undefined, seed: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") opts.quick = true;
    else if (a === "--cases") opts.cases = count(a, argv[++i]);
    else if (a === "--seed") opts.seed = count(a, argv[++i]);
    else if (a === "--help" || a === "-h") usage("help");
    else usage(`unknown argument "${a}"`);
  }
  return opts;
}

/** Each part: its test files, and what it takes from the command line. */
const PARTS = [
  {
    name: "admin API fuzzer",
    files: ["test/admin/fuzz.test.ts"],
    env: (opts) => {
      const env = {};
      if (opts.cases !== undefined) env.FUZZ_CASES = opts.cases;
      const seed = opts.seed ?? (opts.quick ? undefined : String(randomInt(2 ** 31)));
      if (seed !== undefined) env.FUZZ_SEED = seed;
      return env;
    },
  },
  { name: "auth matrix", files: ["test/admin/auth-matrix.test.ts"], env: () => ({}) },
  { name: "registry concurrency", files: ["test/registry/concurrency.test.ts"], env: () => ({}) },
  { name: "durability across kills", files: ["test/e2e/durability.test.ts"], env: () => ({}) },
];

const opts = parseArgs(process.argv.slice(2));
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
let failed = 0;
for (const part of PARTS) {
  // Set either way, so that a SVCEDGE_SOAK=1 left in the shell cannot make --quick long.
  const env = { SVCEDGE_SOAK: opts.quick ? "0" : "1", ...part.env(opts) };
  const settings = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  process.stderr.write(`soak: ${part.name} (${settings})\n`);
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [vitest, "run", ...part.files], { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  const ok = run.status === 0;
  if (!ok) failed++;
  process.stderr.write(
    `soak: ${part.name}: ${ok ? "passed" : `failed (${run.error?.message ?? `exit ${run.status ?? run.signal}`})`} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${settings})\n`,
  );
}
process.exit(failed === 0 ? 0 : 1);
