// The host filter's contract: every host it was built from passes, about 1 % of other
// hosts do, and only a well-formed stored filter is ever used.
import { describe, expect, it } from "vitest";
import { buildHostFilter, decodeHostFilter, encodeHostFilter, mayContainHost } from "../../src/api/host-filter";

const hostsOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}-ns${i % 97}.lb.svcedge.local`);

describe("host filter", () => {
  it("has no false negatives and about 1 % false positives", () => {
    const known = hostsOf("svc", 20_000);
    const filter = buildHostFilter(known, known.length);
    for (const host of known) expect(mayContainHost(filter, host)).toBe(true);
    const unknown = hostsOf("nobody", 100_000);
    const passed = unknown.filter((h) => mayContainHost(filter, h)).length;
    expect(passed / unknown.length).toBeGreaterThan(0.002);
    expect(passed / unknown.length).toBeLessThan(0.02);
    // ≈ 9.6 bits a host.
    expect(filter.data.byteLength).toBeLessThan(known.length * 1.25);
  });

  it("rules every host out when built from none", () => {
    const filter = buildHostFilter([], 0);
    expect(hostsOf("any", 1000).some((h) => mayContainHost(filter, h))).toBe(false);
  });

  it("survives its stored form (JSON with base64 bits)", () => {
    const known = hostsOf("svc", 500);
    const stored = encodeHostFilter(buildHostFilter(known, known.length), known.length);
    expect(JSON.parse(stored)).toMatchObject({ v: 1, probes: 7, hosts: 500 });
    const decoded = decodeHostFilter(stored)!;
    for (const host of known) expect(mayContainHost(decoded, host)).toBe(true);
    expect(decoded).toEqual(buildHostFilter(known, known.length));
  });

  it("refuses stored values it cannot use (the gateway then looks every host up)", () => {
    const good = JSON.parse(encodeHostFilter(buildHostFilter(["a.example"], 1), 1));
    const variants = [
      { ...good, v: 2 },
      { ...good, probes: 0 },
      { ...good, probes: 1.5 },
      { ...good, bits: good.bits * 2 },
      { ...good, data: "!!" },
      { ...good, data: undefined },
    ];
    for (const bad of ["", "not json", "null", '"x"', "[]", ...variants.map((v) => JSON.stringify(v))]) {
      expect(decodeHostFilter(bad), bad).toBeNull();
    }
  });
});
