// Runs the node agent (`npm run agent -- ...`, and the tests): bundles src/agent/main.ts into
// one JavaScript file with esbuild whenever a source is newer than the bundle, then replaces
// this process with Node running the bundle, so the pid, signals, stdio and exit code are the
// agent's own. Compiled JavaScript instead of Node's TypeScript loader, and a small young
// generation, keep the agent's memory down (docs/agent.md, "Running it").
import { mkdirSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = resolve(import.meta.dirname, "..");
const ENTRY = join(ROOT, "src/agent/main.ts");
const BUNDLE = join(ROOT, "dist/agent.mjs");
/** What the bundle is made of besides src/: the build options here and the locked dependencies. */
const BUILD_INPUTS = [import.meta.filename, join(ROOT, "package-lock.json")];
/**
 * 2 MB young-generation semi-spaces instead of V8's 16: the agent's garbage is small and
 * steady, and the larger nursery only held on to about 40 MB after the first full sync.
 */
const NODE_FLAGS = ["--max-semi-space-size=2"];
/**
 * glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), after
 * which blocks that size (the full sync's multi-MB nft input, list bodies) come from the
 * heap and stay there once freed; pinned at glibc's own starting value (128 KiB) they are
 * mapped and returned. And two arenas instead of one per thread that ever allocated (V8's
 * GC helpers, libuv's pool), each keeping its own freed blocks. Together 15–20 MB of the
 * agent's RSS at 10,000 Services (docs/agent.md). A value already in the environment wins.
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_ARENA_MAX: "2" };
/** esbuild's ESM output has no `require` for bundled CommonJS that loads Node built-ins. */
const REQUIRE_SHIM = 'import { createRequire as __svcedgeCreateRequire } from "node:module"; const require = __svcedgeCreateRequire(import.meta.url);';

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function newestInput() {
  let newest = Math.max(...BUILD_INPUTS.map(mtimeMs));
  for (const entry of readdirSync(join(ROOT, "src"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, mtimeMs(join(entry.parentPath, entry.name)));
  }
  return newest;
}

/**
 * esbuild's synchronous build runs its binary once and waits for it (execFileSync), so the
 * launcher has no child left when it execs the agent: the asynchronous API's service process,
 * killed but never waited for, stayed as a zombie child of the agent for its whole life. The
 * variable keeps buildSync off a worker thread, whose service would be such a child again.
 */
async function build() {
  const started = new Date();
  const before = process.env.ESBUILD_WORKER_THREADS;
  process.env.ESBUILD_WORKER_THREADS = "0";
  const esbuild = await import("esbuild");
  if (before === undefined) delete process.env.ESBUILD_WORKER_THREADS;
  else process.env.ESBUILD_WORKER_THREADS = before;
  const result = esbuild.buildSync({
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile: BUNDLE,
    banner: { js: REQUIRE_SHIM },
    write: false,
    logLevel: "silent",
  });
  // Written under a temporary name and renamed, so an agent starting meanwhile (tests start
  // several at once) never runs half a file; dated when the build started, so a source saved
  // during the build still counts as newer.
  mkdirSync(dirname(BUNDLE), { recursive: true });
  const temporary = `${BUNDLE}.${process.pid}.tmp`;
  writeFileSync(temporary, result.outputFiles[0].contents);
  utimesSync(temporary, started, started);
  renameSync(temporary, BUNDLE);
}

function buildError(e) {
  const first = e?.errors?.[0];
  if (!first) return e instanceof Error ? e.message : String(e);
  const where = first.location ? `${first.location.file}:${first.location.line}: ` : "";
  return `${where}${first.text}`;
}

if (mtimeMs(BUNDLE) < newestInput()) {
  try {
    await build();
  } catch (e) {
    process.stderr.write(`svcedge-agent: cannot build the agent: ${buildError(e).split("\n")[0]}\n`);
    process.exit(1);
  }
}
const args = process.argv.slice(2);
if (typeof process.execve === "function") {
  // The launcher's own Node flags come last so that they win over the defaults.
  process.execve(process.execPath, [process.execPath, ...NODE_FLAGS, ...process.execArgv, BUNDLE, ...args], { ...MALLOC_ENV, ...process.env });
} else {
  // Node before 22.15 cannot exec: run the bundle here, without the memory flags and settings.
  process.argv = [process.argv[0], BUNDLE, ...args];
  await import(pathToFileURL(BUNDLE).href);
}
