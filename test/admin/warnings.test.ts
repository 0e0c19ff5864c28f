// Warning headers are capped as kube-apiserver caps them, so that a write with
// thousands of unknown fields answers 200 with its warnings cut short (and counted)
// instead of overflowing the response headers after the write was committed.
import { describe, expect, it } from "vitest";
import { cappedWarnings, MAX_WARNING_RUNES_EACH, MAX_WARNING_RUNES_TOTAL } from "../../src/admin/warnings";
import { call, freshNamespace, json, service } from "./client";

const runes = (s: string) => [...s].length;

describe("cappedWarnings", () => {
  it("keeps distinct warnings whole while they fit, in order", () => {
    expect(cappedWarnings(["a", "b", "a", "", "c"])).toEqual(["a", "b", "c"]);
    const long = "é".repeat(1000);
    expect(cappedWarnings([long, `${long}x`])).toEqual([long, `${long}x`]);
  });

  it("past the total, cuts every warning to 256 runes, stops near the total and counts the rest", () => {
    const texts = Array.from({ length: 100 }, (_, i) => `${i}:${"✓".repeat(300)}`);
    const out = cappedWarnings(texts);
    const notice = out.pop()!;
    for (const w of out) expect(runes(w)).toBe(MAX_WARNING_RUNES_EACH);
    expect(out.map((w) => w.split(":")[0])).toEqual(texts.slice(0, out.length).map((t) => t.split(":")[0]));
    const total = out.reduce((n, w) => n + runes(w), 0);
    expect(total).toBeGreaterThanOrEqual(MAX_WARNING_RUNES_TOTAL);
    expect(total).toBeLessThan(MAX_WARNING_RUNES_TOTAL + MAX_WARNING_RUNES_EACH);
    expect(notice).toBe(`${100 - out.length} more warnings were dropped: a response carries at most ${MAX_WARNING_RUNES_TOTAL} characters of warnings`);
  });
});

describe("a write with thousands of unknown fields", () => {
  it("answers 200 with a bounded set of Warning headers ending in a count of the rest, and the change is stored", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/services`, service("wide")));
    const unknown: Record<string, string> = {};
    const count = 6000;
    for (let i = 0; i < count; i++) unknown[`extra${i}`] = "x";
    const body = { ...created, metadata: { ...created.metadata, labels: { changed: "yes" } }, spec: { ...created.spec, ...unknown } };
    const res = await call("PUT", `/api/v1/namespaces/${ns}/services/wide`, body);
    expect(res.status).toBe(200);
    const header = res.headers.get("warning") ?? "";
    const warnings = [...header.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(warnings.length).toBeGreaterThan(1);
    expect(warnings.length).toBeLessThan(300);
    expect(header.length).toBeLessThan(16 * 1024);
    expect(warnings[0]).toBe('unknown field "spec.extra0"');
    expect(warnings.at(-1)).toBe(
      `${count - (warnings.length - 1)} more warnings were dropped: a response carries at most ${MAX_WARNING_RUNES_TOTAL} characters of warnings`,
    );
    expect((await json(res)).metadata.labels).toEqual({ changed: "yes" });

    const stored = await json(await call("GET", `/api/v1/namespaces/${ns}/services/wide`));
    expect(stored.metadata.labels).toEqual({ changed: "yes" });
    expect(stored.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
  });
});
