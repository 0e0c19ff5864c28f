// The `timeout` query parameter every request may carry (kubectl --request-timeout sends it), as
// kube-apiserver's WithRequestDeadline filter reads it: a Go duration ("30s", "1m30s", "250ms");
// a malformed one is a 400; a request that is not long-running (not a watch) gets the shorter of
// it and REQUEST_TIMEOUT_MAXIMUM_MS, and an answer that is not ready by then is a 504 Timeout.
// (A watch's own limit is timeoutSeconds: registry/watch-hub.ts.)
import { badRequest, status } from "../api/status";
import type { Status } from "../api/types";
import { queryBool } from "./query-bool";

/** kube-apiserver's --request-timeout default: the longest a non-long-running request may take. */
export const REQUEST_TIMEOUT_MAXIMUM_MS = 60_000;

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in milliseconds; an Error carries Go's message. */
export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw invalid();
  let ns = 0;
  while (s !== "") {
    const m = /^([0-9]*)(\.[0-9]*)?/.exec(s)!;
    if (m[0] === "" || m[0] === ".") throw invalid();
    s = s.slice(m[0].length);
    const unit = /^[^0-9.]+/.exec(s)?.[0];
    if (!unit) throw new Error(`time: missing unit in duration ${JSON.stringify(text)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    s = s.slice(unit.length);
    ns += Number(m[0]) * scale;
  }
  return (sign * ns) / 1e6;
}

/** A watch runs until its own timeoutSeconds: the request deadline does not apply (the apiserver's long-running check). */
const isLongRunning = (url: URL): boolean => queryBool(url.searchParams, "watch") === true || /^\/apis?\/(?:[^/]+\/)*watch\//.test(url.pathname);

/** The request's deadline in milliseconds from now, or a 400 for a malformed `timeout`; undefined for a long-running request. */
export function requestDeadline(url: URL): { ms: number } | { status: Status } | undefined {
  if (isLongRunning(url)) return undefined;
  const raw = url.searchParams.get("timeout");
  if (raw === null || raw === "") return { ms: REQUEST_TIMEOUT_MAXIMUM_MS };
  let ms: number;
  try {
    ms = parseGoDuration(raw);
  } catch (e) {
    return { status: badRequest(`invalid timeout specified in the request URL - ${(e as Error).message}`) };
  }
  // 0 (or less) means no timeout of the client's own; the server's maximum still holds.
  return { ms: ms > 0 && ms < REQUEST_TIMEOUT_MAXIMUM_MS ? ms : REQUEST_TIMEOUT_MAXIMUM_MS };
}

export const requestTimedOut = (): Status =>
  status(504, "Timeout", "Timeout: request did not complete within requested timeout - context deadline exceeded", {});

/** The handler's answer, or a 504 when it is not ready within `ms` (the work itself is not cancelled, as in the apiserver). */
export async function withinDeadline(answer: Promise<Response>, ms: number, timedOut: () => Response): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<Response>((resolve) => {
    timer = setTimeout(() => resolve(timedOut()), ms);
  });
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
