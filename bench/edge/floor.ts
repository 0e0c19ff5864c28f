// Starts the floor Worker (floor-worker.ts) the way test/e2e/local-worker.ts starts the
// real one: `wrangler dev` with the same flags (loopback, temporary --persist-to, inspector
// on a free port, no interactive session, warnings only) and the same environment, with
// wrangler's DevTools relay and local observability collector off as the bench has them for
// the real Worker; so that the lines differ only in the Worker's code.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, wranglerDevArgs } from "../../scripts/lab/local-worker";
import { LOCAL_OBSERVABILITY_OFF } from "../registry/local-observability";
import { DEVTOOLS_RELAY_OFF } from "./devtools-relay";
import { startProxyProcess } from "./proxy-process";

const ROOT = resolve(import.meta.dirname, "../..");
const CONFIG = join(import.meta.dirname, "floor-wrangler.toml");
const READY_TIMEOUT_MS = 60_000;
/** An empty value reads as unset to wrangler, whatever this process inherited. */
const RELAY_ON = Object.fromEntries(Object.keys(DEVTOOLS_RELAY_OFF).map((k) => [k, ""]));
/** wrangler rejects an empty X_LOCAL_OBSERVABILITY: it takes "true" or "false". */
const OBSERVABILITY_ON = Object.fromEntries(Object.keys(LOCAL_OBSERVABILITY_OFF).map((k) => [k, "true"]));

export interface FloorWorker {
  url: string;
  stop(): Promise<void>;
}

/** The real Worker's compatibility date, so that both run on the same workerd behaviour. */
function realCompatibilityDate(): string {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const date = toml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return date;
}

/** What wrangler dev may add around the floor: off by default, as for the real Worker. */
export interface FloorExtras {
  /** wrangler dev's DevTools relay (devtools-relay.ts). */
  devtoolsRelay?: boolean;
  /** wrangler dev's local observability collector (../registry/local-observability.ts). */
  localObservability?: boolean;
}

export async function startFloorWorker(podUrl: string, extras: FloorExtras = {}): Promise<FloorWorker> {
  const ip = "127.0.0.1";
  const port = await freePort(ip);
  const state = mkdtempSync(join(tmpdir(), "svcedge-floor-"));
  const wrangler = join(ROOT, "node_modules/.bin/wrangler");
  const args = wranglerDevArgs(ip, port, state, { POD_URL: podUrl }, ["--config", CONFIG, "--compatibility-date", realCompatibilityDate()]);
  const url = `http://${ip}:${port}`;
  const { stop } = await startProxyProcess({
    what: "the floor Worker",
    argv: [wrangler, ...args],
    cwd: ROOT,
    // wrangler's debug log (where the relay's events end up) goes to the temporary folder, removed on stop.
    env: {
      WRANGLER_SEND_METRICS: "false",
      CI: "true",
      WRANGLER_LOG_PATH: state,
      ...(extras.devtoolsRelay ? RELAY_ON : DEVTOOLS_RELAY_OFF),
      ...(extras.localObservability ? OBSERVABILITY_ON : LOCAL_OBSERVABILITY_OFF),
    },
    url,
    tempDir: state,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return { url, stop };
}
