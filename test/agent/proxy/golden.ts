// Golden files: the expected ruleset text lives in golden/<case>.<ext>. Run with
// UPDATE_GOLDEN=1 to rewrite them, then review the diff like any code change.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const GOLDEN_DIR = join(import.meta.dirname, "golden");

export function expectGolden(file: string, actual: string): { expected: string; actual: string } {
  const path = join(GOLDEN_DIR, file);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, actual);
  if (!existsSync(path)) throw new Error(`missing golden file ${path}; run with UPDATE_GOLDEN=1 and review it`);
  return { expected: readFileSync(path, "utf8"), actual };
}
