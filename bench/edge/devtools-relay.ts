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
