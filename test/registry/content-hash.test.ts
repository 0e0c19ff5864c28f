// The route records' change detection keeps a hash per host instead of the JSON: equal texts
// must hash equal, and the near-identical texts route records differ by must not.
import { describe, expect, it } from "vitest";
import { contentHash } from "../../src/api/content-hash";

describe("contentHash", () => {
  it("is the same for the same text and an integer below 2^53", () => {
    const text = JSON.stringify({ v: 1, ports: [{ port: 80, ready: [{ id: "a", url: "http://10.0.0.1:8080" }] }] });
    expect(contentHash(text)).toBe(contentHash(String(text)));
    expect(Number.isSafeInteger(contentHash(text))).toBe(true);
    expect(contentHash("")).toBe(contentHash(""));
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
