// `npm run bench [-- --quick] [--only edge|registry|agent|dns] [--baseline <dir>]`: runs the benchmark parts one
// after the other (never side by side: they would measure each other), prints one table,
// and writes the run as JSON (and its chart as SVG) under bench/results/.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BenchOptions, BenchPart, PartName, PartResult } from "./types";
import { machineFacts, printReport, writeReport } from "./report";

const PARTS: PartName[] = ["edge", "registry", "agent", "dns"];

function usage(msg: string): never {
  process.stderr.write(`error: ${msg}\nusage: npm run bench -- [--quick] [--only ${PARTS.join("|")}] [--out <dir>] [--baseline <checkout>]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { quick: boolean; only: PartName[]; out: string; baseline?: string } {
  let quick = false;
  let baseline: string | undefined;
  const only: PartName[] = [];
  let out = join(import.meta.dirname, "results");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      for (const p of (v ?? "").split(",")) {
        if (!PARTS.includes(p as PartName)) usage(`--only takes ${PARTS.join(", ")}; got "${p}"`);
        only.push(p as PartName);
      }
    } else if (a === "--out") out = argv[++i] ?? usage("--out needs a directory");
    else if (a === "--baseline") baseline = checkout(argv[++i] ?? usage("--baseline needs a directory"));
    else if (a === "--help" || a === "-h") usage("help");
    else usage(`unknown argument "${a}"`);
  }
  return { quick, only: only.length ? only : PARTS, out, baseline };
}

/** A directory wrangler dev can run: its wrangler.toml, and its own node_modules with wrangler in it. */
function checkout(dir: string): string {
  const abs = resolve(dir);
  for (const needed of ["wrangler.toml", "node_modules/.bin/wrangler"])
    if (!existsSync(join(abs, needed))) usage(`--baseline ${dir}: no ${needed} there (docs/benchmarks.md, "A baseline revision")`);
  return abs;
}

async function loadPart(name: PartName): Promise<BenchPart> {
  const mod = (await import(`./${name}`)) as { part: BenchPart };
  return mod.part;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  const opts: BenchOptions = { quick: args.quick, resultsDir: args.out, baseline: args.baseline, log: (m) => process.stderr.write(`bench: ${m}\n`) };
  const started = new Date();
  const results: PartResult[] = [];
  let failed = 0;
  for (const name of args.only) {
    opts.log(`${name}: starting${args.quick ? " (quick)" : ""}`);
    const t0 = performance.now();
    try {
      const part = await loadPart(name);
      const r = await part.run(opts);
      results.push(r);
      opts.log(`${name}: ${r.skipped ? `skipped: ${r.skipped}` : "done"} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      failed++;
      const msg = e instanceof Error ? e.message : String(e);
      results.push({ part: name, lines: [], ratios: [], targets: [], notes: [], skipped: `failed: ${msg.split("\n")[0]}` });
      opts.log(`${name}: failed: ${msg.split("\n")[0]}`);
    }
  }
  const report = { started: started.toISOString(), quick: args.quick, machine: machineFacts(), parts: results };
  printReport(report);
  const files = writeReport(report, args.out);
  opts.log(`wrote ${files.join(", ")}`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
