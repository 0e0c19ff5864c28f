// Why a request with a body, or a non-idempotent one, is sent once even when its
// connection failed: workerd gives the gateway no way to tell "refused before
// anything was sent" from "reset after the pod got it". These tests pin those
// platform facts; if one starts failing, workerd changed and the retry rule in
// forward.ts (and docs/gateway.md) can be revisited.
import { beforeEach, expect, inject, it } from "vitest";
import type { RouteEndpoint } from "../../src/api/route";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { gatewayStats } from "../../src/gateway/stats";
import { pickByRendezvous } from "../../src/gateway/pick-endpoint";
import { gateway, podEndpoint, podRequests, pods, seedRoute } from "./fixtures";

const refusedPort = inject("refusedPort");

beforeEach(() => resetGatewayState());

/** A body stream that records how many chunks the upstream pulled from it. */
function trackedBody(text: string): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  const source = new Request("http://body/", { method: "POST", body: text }).body!.getReader();
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await source.read();
      if (done) return controller.close();
      pulled += 1;
      controller.enqueue(value);
    },
  });
  return { body, pulled: () => pulled };
}

async function failureOf(url: string, body: BodyInit | null): Promise<{ message: string; remote: unknown; retryable: unknown }> {
  try {
    const res = await fetch(url, { method: "POST", body });
    throw new Error(`expected a network error, got ${res.status}`);
  } catch (err) {
    const e = err as Error & { remote?: unknown; retryable?: unknown };
    return { message: e.message, remote: e.remote, retryable: e.retryable };
  }
}

it("workerd pulls body chunks before it knows whether the connection was refused", async () => {
  for (const size of [10, 200_000]) {
    const { body, pulled } = trackedBody("x".repeat(size));
    await failureOf(`http://127.0.0.1:${refusedPort}/`, body);
    // So "no chunk was pulled" cannot mean "never connected".
    expect(pulled(), `${size} bytes`).toBeGreaterThan(0);
  }
});

it("workerd reports a refused connection and a reset after the pod got the request alike", async () => {
  for (const body of [null, "payload"]) {
    const refused = await failureOf(`http://127.0.0.1:${refusedPort}/`, body);
    const reset = await failureOf(`http://127.0.0.1:${pods.a}/reset`, body);
    expect(reset, String(body)).toEqual(refused);
  }
});

it("so a POST whose first endpoint refuses is answered 502, not replayed, and the dead endpoint is ejected", async () => {
  configureGateway({ maxEjectionPercent: 100 });
  const HOST = "refusing-default.lb.svcedge.local";
  const dead: RouteEndpoint = { id: "uid-refusing", url: `http://127.0.0.1:${refusedPort}` };
  const live = podEndpoint("b");
  // Affinity makes the dead endpoint the first choice of this client.
  const ip = Array.from({ length: 254 }, (_, i) => `192.0.2.${i + 1}`).find((c) => pickByRendezvous([dead, live], c, () => true) === dead)!;
  await seedRoute(HOST, { sessionAffinity: "ClientIP", ports: [{ name: "http", port: 80, protocol: "TCP", ready: [dead, live], terminating: [] }] });
  const before = await podRequests("b");
  const stats = gatewayStats();
  const post = () => gateway(`http://${HOST}/`, { method: "POST", body: "order #7", headers: { "cf-connecting-ip": ip } });
  const first = await post();
  expect(first.status).toBe(502);
  await first.body?.cancel();
  expect((await podRequests("b")) - before).toBe(1); // the /count call only
  const second = await post();
  expect(second.status).toBe(200);
  await second.body?.cancel();
  expect(gatewayStats().retries - stats.retries).toBe(0);
  expect(gatewayStats().ejections - stats.ejections).toBe(1);
});
