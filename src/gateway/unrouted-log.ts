// Why the gateway refused a request, for the Worker's log only (`wrangler tail`): the
// client gets the same opaque 404 whatever the reason. At most UNROUTED_LOGS_PER_SECOND
// lines a second per isolate, so a flood of made-up hosts cannot flood the log.
// `GET /debug/routes/<host>` on the admin API explains a host in full (explain-route.ts).
import { TokenBucket } from "../api/token-bucket";

/** Log lines about unrouted requests, per second per isolate (and as a burst). */
const UNROUTED_LOGS_PER_SECOND = 5;
/** A Host header is logged cut to this (a DNS name is at most 253 characters, plus a port). */
const MAX_LOGGED_HOST_LENGTH = 260;

/** This isolate's budget of log lines. */
export const unroutedLog = new TokenBucket(
  () => UNROUTED_LOGS_PER_SECOND,
  () => UNROUTED_LOGS_PER_SECOND,
);

export function logNotRouted(host: string, reason: string): void {
  if (unroutedLog.take()) console.log(JSON.stringify({ level: "info", msg: "gateway: not routed", host: host.slice(0, MAX_LOGGED_HOST_LENGTH), reason }));
}
