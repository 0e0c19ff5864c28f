// The Worker's sources as they were when the bench started, for wrangler dev to run.
// wrangler dev bundles with esbuild in watch mode (no flag turns it off) and restarts the
// Worker, and the Durable Object with it, whenever a file under src/ changes: a run that
// takes minutes on a tree someone is editing would measure several builds, get 503s
// ("Your worker restarted mid-request") and lose its inspector session. So wrangler runs
// in a copy of src/ and the files wrangler reads, with node_modules linked, not copied.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
/** What `wrangler dev` reads besides node_modules: the config, the entry and everything it imports. */
const COPIED = ["src", "wrangler.toml", "tsconfig.json", "package.json"];

export interface SourceSnapshot {
  dir: string;
  /** A command prefix for startLocalWorker's `wrap`: runs wrangler in the copy. */
  wrap: string[];
  remove(): void;
}

export function snapshotSources(): SourceSnapshot {
  const dir = mkdtempSync(join(tmpdir(), "svcedge-bench-src-"));
  for (const entry of COPIED) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return { dir, wrap: ["env", `--chdir=${dir}`], remove: () => rmSync(dir, { recursive: true, force: true }) };
}
