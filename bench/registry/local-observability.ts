// wrangler dev (4.15x) runs a local observability collector beside the Worker: every
// invocation's tail events and every span (each Durable Object SQL statement has one) are
// streamed to a collector Worker that writes them into a SQLite database of its own, in the
// same workerd process as the registry. Profiled at 1,000 Pod creates it took about a sixth
// of that process's CPU (TailStreamTarget::report and the collector's own SQLite writes),
// as much as the registry's SQL: production has nothing like it in a request's path.
// wrangler reads X_LOCAL_OBSERVABILITY (default true) to attach it; "false" leaves it out,
// and nothing else in wrangler dev changes (same flags, same workerd, same ProxyWorker).

/** Environment that leaves wrangler dev's local observability collector out. */
export const LOCAL_OBSERVABILITY_OFF: Readonly<Record<string, string>> = { X_LOCAL_OBSERVABILITY: "false" };
