import { describe, expect, it } from "vitest";
import { familyHeader, formatSampleValue, labelText } from "../../src/api/prometheus";

describe("Prometheus text format", () => {
  it("sorts label names and escapes backslash, newline and double quote in values", () => {
    expect(labelText({})).toBe("");
    expect(labelText({ resource: "pods", le: "0.5" })).toBe('{le="0.5",resource="pods"}');
    expect(labelText({ path: 'C:\\x "y"\nz' })).toBe('{path="C:\\\\x \\"y\\"\\nz"}');
  });

  it("writes infinities as the format spells them, and HELP before TYPE", () => {
    expect([Infinity, -Infinity, 0.25, 3].map(formatSampleValue)).toEqual(["+Inf", "-Inf", "0.25", "3"]);
    expect(familyHeader("svcedge_x_total", "counter", "Things.")).toEqual(["# HELP svcedge_x_total Things.", "# TYPE svcedge_x_total counter"]);
  });
});
