// One scale measurement in a process of its own (so each size's memory and garbage are its
// own): `scale-child.ts '<ScaleOptions as JSON>'` prints a `SCALE {...}` line for each
// batch of figures as it is measured, and `error: <why>` (exit 1) if it fails. Started by
// scale-runner.ts.
import { measureScale, type ScaleOptions } from "./scale";

// The parent stops a run that takes too long with SIGTERM: exit, so the lab's exit hook
// deletes the namespace.
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(143));

try {
  const opts = JSON.parse(process.argv[2] ?? "") as ScaleOptions;
  await measureScale(opts, (figures) => process.stdout.write(`SCALE ${JSON.stringify(figures)}\n`));
} catch (e) {
  process.stdout.write(`error: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}\n`);
  process.exitCode = 1;
  // A sync that timed out is still running (iptables-restore, nft): end it with this process,
  // which leads its own process group when started by scale-runner.ts.
  try {
    process.kill(-process.pid, "SIGTERM");
  } catch {
    // Not a group leader (run by hand): nothing of ours is left but this process.
  }
}
