// wrangler dev (4.x) attaches a DevTools inspector to the Worker, enables its Network
// domain, and relays every event to its Node process, which appends it to its debug log:
// four events (an HTTP request and a file append each) per subrequest. That costs more CPU
// than the Worker itself and is the same on every Worker line, so it would flatten the
// difference between them; production has nothing like it. The CLI cannot turn it off;
// VSCODE_INSPECTOR_OPTIONS, which wrangler and miniflare read as "a debugger is already
// attached" (VS Code's JavaScript debug terminal), makes both skip the inspector proxy.
// Nothing else in wrangler dev changes: same flags, same workerd, same ProxyWorker.

/** Environment that turns wrangler dev's DevTools relay off. */
export const DEVTOOLS_RELAY_OFF: Readonly<Record<string, string>> = { VSCODE_INSPECTOR_OPTIONS: "{}" };

/**
 * Runs `start` (which spawns wrangler dev with this process's environment, as
 * startLocalWorker does) with the relay off; the environment is restored after.
 */
export async function withDevtoolsRelayOff<T>(start: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(DEVTOOLS_RELAY_OFF).map((k) => [k, process.env[k]]));
  Object.assign(process.env, DEVTOOLS_RELAY_OFF);
  try {
    return await start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
