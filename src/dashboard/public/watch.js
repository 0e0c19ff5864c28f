// Browser module /dashboard/watch.js: follows a collection through the admin API's
// watch (`?watch=1&resourceVersion=…`, newline-delimited JSON events over a streamed
// fetch), as client-go's reflector does: resume from the last resourceVersion seen
// (BOOKMARKs included) when the server ends the stream, back off on failures, and
// hand a 410 Expired to the caller, which lists again.
import { apiFetch } from "./api.js";

/**
 * Each stream asks the server to end it after this long, and the page resumes at once. It bounds
 * how long a watch the page left keeps counting at the registry: under wrangler dev, a stream the
 * browser aborted stays open at the registry until it ends (seen in svcedge_registry_watchers).
 */
const WATCH_TIMEOUT_SECONDS = 60;
/** Backoff between failed attempts: client-go's reflector starts near 1 s and caps in the tens of seconds. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;

/** Watches that are failing right now; the header shows "reconnecting" while there are any. */
const failing = new Set();
let nextId = 1;

function report(id, ok) {
  const before = failing.size;
  if (ok) failing.delete(id);
  else failing.add(id);
  if (before !== failing.size) window.dispatchEvent(new CustomEvent("svcedge:live", { detail: failing.size === 0 }));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects): the pause between polls and retries. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * Calls handlers.onEvent(type, object) for ADDED, MODIFIED and DELETED after
 * resourceVersion, and handlers.onExpired() (then stops) when that version is
 * compacted away. Stops when signal aborts.
 */
export function watchCollection(path, params, resourceVersion, handlers, signal) {
  const id = nextId++;
  let rv = resourceVersion;
  let delay = RETRY_MIN_MS;
  signal.addEventListener("abort", () => report(id, true), { once: true });
  const expired = () => {
    report(id, true);
    if (!signal.aborted) handlers.onExpired();
  };
  (async () => {
    while (!signal.aborted) {
      const q = new URLSearchParams(params || {});
      q.set("watch", "1");
      q.set("allowWatchBookmarks", "true");
      q.set("timeoutSeconds", String(WATCH_TIMEOUT_SECONDS));
      if (rv) q.set("resourceVersion", rv);
      try {
        const res = await apiFetch(`${path}?${q.toString()}`, { signal });
        report(id, true);
        delay = RETRY_MIN_MS;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffered = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          let nl;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            const event = JSON.parse(line);
            const object = event.object || {};
            if (event.type === "ERROR") {
              await reader.cancel();
              if (object.code === 410) return expired();
              throw new Error(object.message || "watch error");
            }
            if (object.metadata?.resourceVersion) rv = object.metadata.resourceVersion;
            if (event.type !== "BOOKMARK") handlers.onEvent(event.type, object);
          }
        }
        // The server ended the stream (its timeout): go on from rv at once.
      } catch (err) {
        if (signal.aborted) return;
        if (err && err.code === 410) return expired();
        // 401 signed the session out; the view that owns this watch is being torn down.
        if (err && err.code === 401) return;
        report(id, false);
        await sleep(delay, signal);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  })();
}
