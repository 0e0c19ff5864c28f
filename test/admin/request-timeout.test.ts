// The `timeout` query parameter, as kube-apiserver's WithRequestDeadline reads it: a Go duration,
// 400 when malformed, ignored by watches (their limit is timeoutSeconds), and a 504 Timeout when
// the answer is not ready by the deadline.
import { describe, expect, it } from "vitest";
import { REQUEST_TIMEOUT_MAXIMUM_MS, parseGoDuration, requestDeadline, requestTimedOut, withinDeadline } from "../../src/admin/request-deadline";
import { statusResponse } from "../../src/admin/respond";
import { call, freshNamespace, json } from "./client";

describe("the timeout parameter", () => {
  it.each([
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["250ms", 250],
    ["1.5h", 5_400_000],
    ["1h2m3.5s", 3_723_500],
    ["0", 0],
    ["-1s", -1000],
    ["500us", 0.5],
  ])("parses %s as Go does", (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each([
    ["abc", 'time: invalid duration "abc"'],
    ["5", 'time: missing unit in duration "5"'],
    ["5x", 'time: unknown unit "x" in duration "5x"'],
    ["", 'time: invalid duration ""'],
    [".s", 'time: invalid duration ".s"'],
  ])("refuses %j with Go's message", (text, message) => expect(() => parseGoDuration(text)).toThrow(message));

  it("bounds the deadline by the apiserver's maximum, which a 0 or a longer timeout leaves in place", () => {
    const at = (q: string) => requestDeadline(new URL(`http://localhost/api/v1/services${q}`));
    expect(at("?timeout=5s")).toEqual({ ms: 5000 });
    expect(at("?timeout=0")).toEqual({ ms: REQUEST_TIMEOUT_MAXIMUM_MS });
    expect(at("?timeout=2h")).toEqual({ ms: REQUEST_TIMEOUT_MAXIMUM_MS });
    expect(at("")).toEqual({ ms: REQUEST_TIMEOUT_MAXIMUM_MS });
    expect(at("?watch=true&timeout=abc")).toBeUndefined();
  });

  it("answers a malformed timeout with 400 naming it, and serves a well-formed one", async () => {
    const ns = await freshNamespace("timeout");
    const bad = await call("GET", `/api/v1/namespaces/${ns}/services?timeout=abc`);
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({
      reason: "BadRequest",
      message: 'invalid timeout specified in the request URL - time: invalid duration "abc"',
    });
    expect((await call("GET", `/api/v1/namespaces/${ns}/services?timeout=32s`)).status).toBe(200);
    expect((await call("POST", `/api/v1/namespaces/${ns}/services?timeout=5s`, { metadata: { name: "t" }, spec: { ports: [{ port: 80 }] } })).status).toBe(201);
    // A watch's own limit is timeoutSeconds; the request deadline is not its.
    const watch = await call("GET", `/api/v1/namespaces/${ns}/services?watch=1&timeout=abc&timeoutSeconds=1`);
    expect(watch.status).toBe(200);
    await watch.body?.cancel();
  });

  it("answers 504 Timeout when the answer is not ready by the deadline, and the answer when it is", async () => {
    const never = new Promise<Response>(() => {});
    const late = await withinDeadline(never, 1, () => statusResponse(requestTimedOut()));
    expect(late.status).toBe(504);
    expect(await late.json()).toMatchObject({
      kind: "Status",
      reason: "Timeout",
      code: 504,
      message: "Timeout: request did not complete within requested timeout - context deadline exceeded",
    });
    const ready = await withinDeadline(Promise.resolve(new Response("ok")), 60_000, () => statusResponse(requestTimedOut()));
    expect(await ready.text()).toBe("ok");
  });
});
