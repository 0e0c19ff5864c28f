// The route records' change detection keeps a hash per host instead of the JSON: equal texts
// must hash equal, and the near-identical texts route records differ by must not.
import { describe, expect, it } from "vitest";
import { contentHash } from "../../src/api/content-hash";

describe("contentHash", () => {
  it("is cyrb53: the same value in every isolate and release, an integer below 2^53", () => {
    // Hashes outlive the code that made them (route_hashes in SQLite; the host filter in KV, probed
    // by the gateway): a change of function must come with a change of the filter's format.
    const record = JSON.stringify({ v: 1, ports: [{ port: 80, ready: [{ id: "a", url: "http://10.0.0.1:8080" }] }] });
    expect(contentHash("")).toBe(3338908027751811); // cyrb53's published value for "" (seed 0)
    expect(contentHash("shop-default.lb.svcedge.local")).toBe(5420818073087480);
    expect(contentHash(record)).toBe(5784793065762518);
    // Equal texts built apart hash equal.
    expect(contentHash(["shop", "default.lb.svcedge.local"].join("-"))).toBe(contentHash("shop-default.lb.svcedge.local"));
    for (const text of ["", "a", record]) expect(Number.isSafeInteger(contentHash(text))).toBe(true);
  });

  it("tells apart records that differ in one character, one endpoint or their order", () => {
    const record = (urls: string[]) => JSON.stringify({ v: 1, namespace: "default", service: "web", access: "public", ports: [{ name: "http", ready: urls }] });
    const variants = [
      record([]),
      record(["http://10.0.0.1:8080"]),
      record(["http://10.0.0.2:8080"]),
      record(["http://10.0.0.1:8081"]),
      record(["http://10.0.0.1:8080", "http://10.0.0.2:8080"]),
      record(["http://10.0.0.2:8080", "http://10.0.0.1:8080"]),
      ...Array.from({ length: 2000 }, (_, i) => record([`http://10.1.${i >> 8}.${i & 255}:9090`])),
    ];
    expect(new Set(variants.map(contentHash)).size).toBe(variants.length);
  });
});
