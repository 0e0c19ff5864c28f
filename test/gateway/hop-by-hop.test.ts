// RFC 9110 §7.6.1: a field named in a message's Connection header belongs to that one
// connection. The gateway drops such fields from the request it forwards (the fields it
// then writes itself start afresh) and from the pod's response it returns.
import { beforeEach, expect, it } from "vitest";
import { downstreamResponse } from "../../src/gateway/forward-headers";
import { resetGatewayState } from "./reset-state";
import { VIA_ENTRY } from "../../src/gateway/forward-headers";
import { gateway, httpPort, seedRoute, type Echo } from "./fixtures";

const HOST = "hop-default.lb.svcedge.local";

beforeEach(async () => {
  resetGatewayState();
  await seedRoute(HOST, { ports: [httpPort(["a"])] });
});

it("drops request fields that Connection names, even those the gateway then writes itself", async () => {
  const res = await gateway(`http://${HOST}/`, {
    headers: {
      connection: "close, X-Secret, X-Forwarded-For, Forwarded, Via",
      "x-secret": "for the first hop only",
      "x-forwarded-for": "10.9.9.9",
      forwarded: "for=10.9.9.9",
      via: "1.0 first-hop",
      "cf-connecting-ip": "203.0.113.7",
      "x-end-to-end": "kept",
    },
  });
  expect(res.status).toBe(200);
  const { headers } = await res.json<Echo>();
  expect(headers["x-secret"]).toBeUndefined();
  expect(headers["x-forwarded-for"]).toBe("203.0.113.7");
  expect(headers.forwarded).toBe(`for=203.0.113.7;host=${HOST};proto=http`);
  expect(headers.via).toBe(VIA_ENTRY);
  expect(headers["x-end-to-end"]).toBe("kept");
});

it("skips Connection options that are not field names instead of failing the request", async () => {
  const res = await gateway(`http://${HOST}/`, { headers: { connection: "close, not a field, (x), X-Secret", "x-secret": "1" } });
  expect(res.status).toBe(200);
  expect((await res.json<Echo>()).headers["x-secret"]).toBeUndefined();
});

it("drops response fields that the pod's Connection header names", async () => {
  const res = await gateway(`http://${HOST}/hop-by-hop`);
  expect(res.status).toBe(200);
  expect(res.headers.get("x-pod-hop")).toBeNull();
  expect(res.headers.get("connection")).toBeNull();
  expect(res.headers.get("keep-alive")).toBeNull();
  expect(res.headers.get("x-pod-end-to-end")).toBe("kept");
  expect(res.headers.get("x-pod")).toBe("a");
  expect(await res.text()).toBe("hop\n");
});

it("leaves a response alone when its Connection header names only what workerd drops itself", () => {
  const plain = new Response("ok", { headers: { connection: "keep-alive", "keep-alive": "timeout=5" } });
  expect(downstreamResponse(plain)).toBe(plain);
  const absent = new Response("ok", { headers: { connection: "close, X-Not-Here" } });
  expect(downstreamResponse(absent)).toBe(absent);
  const none = new Response("ok");
  expect(downstreamResponse(none)).toBe(none);
});
