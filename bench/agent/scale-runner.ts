// Runs scale-child.ts for one backend and size, bounded in time, and hands back the figures
// it measured, with the one line that says why it stopped when it did not finish.
import { join } from "node:path";
import { NODE_BIN } from "../pods";
import { startProcess } from "../processes";
import type { ScaleOptions, ScaleResult } from "./scale";
import { deleteNamespacesOf } from "./netns";

const ROOT = join(import.meta.dirname, "../..");
const CHILD = join(import.meta.dirname, "scale-child.ts");
/** Node flags for TypeScript from src/ (as `npm run bench`), and gc() for the memory figure. */
const NODE_FLAGS = ["--expose-gc", "--experimental-transform-types", "--disable-warning=ExperimentalWarning", "--import", "./src/agent/ts-resolve.mjs"];

export interface ScaleRun {
  figures: Partial<ScaleResult>;
  /** Why the run stopped before the end, if it did. */
  error?: string;
}

export async function runScaleChild(opts: ScaleOptions, timeoutMs: number): Promise<ScaleRun> {
  const proc = startProcess([NODE_BIN, ...NODE_FLAGS, CHILD, JSON.stringify(opts)], { cwd: ROOT });
  // If this process ends first (SIGINT kills the child outright), the child's namespace goes too.
  const sweep = () => deleteNamespacesOf(proc.child.pid!);
  process.once("exit", sweep);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = new Promise<"exited">((resolve) => proc.child.once("exit", () => resolve("exited")));
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
  const how = await Promise.race([exited, late]);
  clearTimeout(timer);
  await proc.stop();
  process.off("exit", sweep);
  sweep();
  const lines = proc.output().trim().split("\n");
  const figures: Partial<ScaleResult> = {};
  for (const line of lines) if (line.startsWith("SCALE ")) Object.assign(figures, JSON.parse(line.slice("SCALE ".length)) as Partial<ScaleResult>);
  if (how === "late") return { figures, error: `stopped after ${timeoutMs / 1000} s` };
  const error = lines.find((l) => l.startsWith("error: "));
  if (error) return { figures, error: error.slice("error: ".length) };
  if (proc.child.exitCode !== 0) return { figures, error: `exited ${proc.child.exitCode ?? proc.child.signalCode}: ${lines[lines.length - 1] ?? ""}` };
  return { figures };
}
