// Passive health against pods that really stop: their servers are closed (sockets
// and all) through the pods' control server, then reopened. Only this file uses the
// "victim" pods, so stopping them cannot disturb other suites.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { gatewayStats } from "../../src/gateway/stats";
import { pickByRendezvous } from "../../src/gateway/pick-endpoint";
import { gateway, httpPort, podControl, podEndpoint, podOf, podRequests, seedRoute, type PodName } from "./fixtures";

const HOST = "flaky-default.lb.svcedge.local";
const VICTIMS: PodName[] = ["victim1", "victim2", "victim3"];

beforeEach(() => resetGatewayState());
afterEach(async () => {
  for (const victim of VICTIMS) await podControl("start", victim);
});

function delta(before: ReturnType<typeof gatewayStats>): { retries: number; ejections: number; requests: number } {
  const now = gatewayStats();
  return { retries: now.retries - before.retries, ejections: now.ejections - before.ejections, requests: now.requests - before.requests };
}

describe("a pod that stops", () => {
  it("is ejected after its first failure, the request is retried elsewhere, and no later request goes to it", async () => {
    configureGateway({ maxEjectionPercent: 50 });
    await seedRoute(HOST, { ports: [httpPort(["victim1", "victim2"])] });
    await podControl("stop", "victim1");
    const before = gatewayStats();
    for (let i = 0; i < 30; i++) {
      const res = await gateway(`http://${HOST}/`);
      expect(res.status).toBe(200);
      expect(await podOf(res)).toBe("victim2");
    }
    // victim1 is drawn at some point (P(never in 30) = 2^-30); after that, never again.
    expect(delta(before)).toEqual({ retries: 1, ejections: 1, requests: 30 });
  });

  it("comes back once its ejection time is over", async () => {
    configureGateway({ maxEjectionPercent: 50, baseEjectionMs: 100 });
    await seedRoute(HOST, { ports: [httpPort(["victim1", "victim2"])] });
    await podControl("stop", "victim1");
    for (let i = 0; i < 30 && gatewayStats().ejections === 0; i++) await podOf(await gateway(`http://${HOST}/`));
    expect(gatewayStats().ejections).toBe(1);
    await podControl("start", "victim1");
    await new Promise((resolve) => setTimeout(resolve, 150));
    const seen = new Set<string | null>();
    for (let i = 0; i < 30 && !seen.has("victim1"); i++) seen.add(await podOf(await gateway(`http://${HOST}/`)));
    expect(seen.has("victim1")).toBe(true);
  });

  it("never ejects more than the allowed share of a Service's endpoints (but always at least one)", async () => {
    // Default max_ejection_percent (10%) of 3 endpoints rounds to 0: one may still be ejected.
    await seedRoute(HOST, { ports: [httpPort(["victim1", "victim2", "victim3"])] });
    for (const victim of VICTIMS) await podControl("stop", victim);
    const before = gatewayStats();
    for (let i = 0; i < 5; i++) expect((await gateway(`http://${HOST}/`)).status).toBe(502);
    expect(delta(before).ejections).toBe(1);
  });

  it("answers 502 when every endpoint refuses the connection", async () => {
    await seedRoute(HOST, { ports: [httpPort(["victim1"])] });
    await podControl("stop", "victim1");
    const res = await gateway(`http://${HOST}/`);
    expect(res.status).toBe(502);
    expect(await res.text()).toBe("upstream connect error\n");
  });
});

describe("gateway errors from pods", () => {
  it("retry an idempotent request on another endpoint and return the last answer when all fail", async () => {
    configureGateway({ maxEjectionPercent: 100 });
    await seedRoute(HOST, { ports: [httpPort(["victim1", "victim2", "victim3"])] });
    const counts = await Promise.all(VICTIMS.map(podRequests));
    const before = gatewayStats();
    const res = await gateway(`http://${HOST}/status/503`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^status from victim[123]\n$/);
    expect(delta(before)).toEqual({ retries: 2, ejections: 3, requests: 1 });
    const after = await Promise.all(VICTIMS.map(podRequests));
    // Each victim saw the request once (plus its own /count call).
    expect(after.map((n, i) => n - counts[i]!)).toEqual([2, 2, 2]);
  });

  it("a POST that reached a pod is never retried", async () => {
    configureGateway({ maxEjectionPercent: 100 });
    await seedRoute(HOST, { ports: [httpPort(["victim1", "victim2", "victim3"])] });
    const counts = await Promise.all(VICTIMS.map(podRequests));
    const before = gatewayStats();
    const res = await gateway(`http://${HOST}/status/502`, { method: "POST", body: "order #1" });
    expect(res.status).toBe(502);
    expect(delta(before).retries).toBe(0);
    const after = await Promise.all(VICTIMS.map(podRequests));
    expect(after.reduce((sum, n, i) => sum + n - counts[i]!, 0)).toBe(3 + 1);
  });

  it("a 500 is the application's answer: passed through, no retry, no ejection", async () => {
    await seedRoute(HOST, { ports: [httpPort(["victim1", "victim2"])] });
    const before = gatewayStats();
    expect((await gateway(`http://${HOST}/status/500`)).status).toBe(500);
    expect(delta(before)).toEqual({ retries: 0, ejections: 0, requests: 1 });
  });
});

describe("with ClientIP affinity", () => {
  /** A client IP whose first choice among the victims is victim1. */
  function clientOfVictim1(): { ip: string; secondChoice: string } {
    const endpoints = VICTIMS.map(podEndpoint);
    for (let i = 1; i < 255; i++) {
      const ip = `192.0.2.${i}`;
      if (pickByRendezvous(endpoints, ip, () => true)?.id === "uid-victim1") {
        const second = pickByRendezvous(endpoints, ip, (e) => e.id !== "uid-victim1")!;
        return { ip, secondChoice: second.id.replace("uid-", "") };
      }
    }
    throw new Error("no client maps to victim1");
  }

  it("a client whose pod stops is retried on, then sent to, its second choice", async () => {
    configureGateway({ maxEjectionPercent: 50 });
    await seedRoute(HOST, { sessionAffinity: "ClientIP", ports: [httpPort(VICTIMS)] });
    const { ip, secondChoice } = clientOfVictim1();
    expect(await podOf(await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": ip } }))).toBe("victim1");
    await podControl("stop", "victim1");
    const before = gatewayStats();
    for (let i = 0; i < 5; i++) expect(await podOf(await gateway(`http://${HOST}/`, { headers: { "cf-connecting-ip": ip } }))).toBe(secondChoice);
    expect(delta(before)).toEqual({ retries: 1, ejections: 1, requests: 5 });
  });

  it("a request with a body whose connection failed is not replayed, but the next one avoids the dead pod", async () => {
    configureGateway({ maxEjectionPercent: 50 });
    await seedRoute(HOST, { sessionAffinity: "ClientIP", ports: [httpPort(VICTIMS)] });
    const { ip, secondChoice } = clientOfVictim1();
    await podControl("stop", "victim1");
    const before = gatewayStats();
    const post = () => gateway(`http://${HOST}/`, { method: "POST", body: "payload", headers: { "cf-connecting-ip": ip } });
    const first = await post();
    expect(first.status).toBe(502);
    await first.body?.cancel();
    const second = await post();
    expect(second.status).toBe(200);
    expect(await podOf(second)).toBe(secondChoice);
    expect(delta(before)).toEqual({ retries: 0, ejections: 1, requests: 2 });
  });
});
