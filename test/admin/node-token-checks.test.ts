// Node tokens at the admin API: made-up ones must not reach the registry. A value
// without a node token's shape is refused in the Worker; lookups of well-shaped
// tokens the isolate has not seen valid are budgeted; unknown ones are remembered.
import { beforeEach, describe, expect, it } from "vitest";
import { randomToken } from "../../src/api/credentials";
import { resetNodeTokenChecks, UNSEEN_TOKEN_LOOKUP_BURST, UNSEEN_TOKEN_LOOKUPS_PER_SECOND } from "../../src/admin/auth";
import { call, json, registry } from "./client";

const lookups = async (): Promise<number> => (await registry().stats()).tokenLookups;

async function statusWith(token: string, path = "/api/v1/services"): Promise<number> {
  const res = await call("GET", path, undefined, { token });
  await res.body?.cancel();
  return res.status;
}

async function issueToken(node: string): Promise<string> {
  const res = await call("POST", `/api/v1/nodes/${node}/token`, undefined, { raw: "{}" });
  expect(res.status).toBe(201);
  return (await json(res)).status.token;
}

beforeEach(() => resetNodeTokenChecks());

describe("node-token checks before the registry", () => {
  it("counts one registry lookup for an unknown well-shaped token, and none for malformed ones", async () => {
    const start = await lookups();
    expect(await statusWith(randomToken())).toBe(401);
    expect((await lookups()) - start).toBe(1);

    const token = randomToken();
    const misfits = [
      "made-up",
      token.slice(0, 42),
      `${token}A`,
      `${token.slice(0, 42)}=`,
      `${token.slice(0, 42)}+`,
      `${token.slice(0, 42)}/`,
      "x".repeat(5000),
    ];
    const before = await lookups();
    for (const value of misfits) expect(await statusWith(value), value).toBe(401);
    for (let i = 0; i < 50; i++) expect(await statusWith(`invented-${i}`)).toBe(401);
    expect((await lookups()) - before).toBe(0);
  });

  it("asks the registry once about an unknown token, then refuses it unasked", async () => {
    const token = randomToken();
    const start = await lookups();
    for (let i = 0; i < 10; i++) expect(await statusWith(token)).toBe(401);
    expect((await lookups()) - start).toBe(1);
  });

  it("bounds lookups of unknown tokens per isolate; over the budget they are refused unasked, while tokens seen valid keep working", async () => {
    const known = await issueToken(`budget-node-${Date.now()}`);
    expect(await statusWith(known)).toBe(200);

    const start = await lookups();
    const began = Date.now();
    const sent = UNSEEN_TOKEN_LOOKUP_BURST + 100;
    for (let i = 0; i < sent; i++) expect(await statusWith(randomToken())).toBe(401);
    const elapsedSeconds = (Date.now() - began) / 1000;
    const spent = (await lookups()) - start;
    expect(spent).toBeGreaterThanOrEqual(UNSEEN_TOKEN_LOOKUP_BURST);
    expect(spent).toBeLessThanOrEqual(UNSEEN_TOKEN_LOOKUP_BURST + Math.ceil(elapsedSeconds * UNSEEN_TOKEN_LOOKUPS_PER_SECOND));
    expect(spent).toBeLessThan(sent);

    // The budget is spent: more unknown tokens cost only what refilled meanwhile…
    const drained = await lookups();
    const drainedAt = Date.now();
    for (let i = 0; i < 20; i++) expect(await statusWith(randomToken())).toBe(401);
    expect((await lookups()) - drained).toBeLessThanOrEqual(Math.ceil(((Date.now() - drainedAt) / 1000) * UNSEEN_TOKEN_LOOKUPS_PER_SECOND) + 1);
    // …and a token this isolate has seen valid is still checked with the registry (not cached), without budget.
    const beforeKnown = await lookups();
    expect(await statusWith(known)).toBe(200);
    expect((await lookups()) - beforeKnown).toBe(1);
  });
});
