// src/api/yaml.ts: what a request body, a manifest file and a YAML answer mean.
import { describe, expect, it } from "vitest";
import { parseYaml, parseYamlDocuments, toYaml } from "../../src/api/yaml";

describe("parseYaml", () => {
  it("reads YAML 1.2's core schema: yes, timestamps and << stay strings; 0o17 and 0x1F are numbers; 1e400 stays text", () => {
    expect(parseYaml("a: yes\nb: 2001-12-14\nc: 0o17\nd: 0x1F\ne: ~\nf: 012\ng: 1e400\n<<: {h: 1}\n")).toEqual({
      a: "yes",
      b: "2001-12-14",
      c: 15,
      d: 31,
      e: null,
      f: 12,
      g: "1e400",
      "<<": { h: 1 },
    });
  });

  it("reads an empty or comment-only document as null, and refuses more than one", () => {
    expect(parseYaml("# nothing\n")).toBeNull();
    expect(() => parseYaml("a: 1\n---\nb: 2\n")).toThrow("expected a single document in the stream, but found more");
  });

  it("names the line of an error as go-yaml does, without a source snippet", () => {
    expect(() => parseYaml("metadata: {name: x\n  spec: [")).toThrow(/^line 2: missed comma between flow collection entries$/);
    expect(() => parseYaml("a: 1\nb: 2\na: 3\n")).toThrow(/^line 3: duplicated mapping key$/);
    expect(() => parseYaml("a: !custom 5\n")).toThrow("line 1: unknown scalar tag !<!custom>");
    expect(() => parseYaml("a: {? [x]: 1}\n")).toThrow("complex keys");
  });

  it("keeps a __proto__ key as data, never a prototype", () => {
    const v = parseYaml("__proto__: {polluted: true}\n") as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("accepts anchors and aliases in moderation", () => {
    expect(parseYaml("labels: &l {app: web}\nselector: *l\n")).toEqual({ labels: { app: "web" }, selector: { app: "web" } });
    // 200 aliases of a 3-node map in a 2,000-node document: go-yaml allows it.
    const items = Array.from({ length: 1000 }, (_, i) => `  - ${i}`).join("\n");
    const refs = Array.from({ length: 200 }, () => "  - *l").join("\n");
    expect(() => parseYaml(`l: &l {a: 1}\nitems:\n${items}\nrefs:\n${refs}\n`)).not.toThrow();
  });

  it("refuses an alias bomb (billion laughs) as go-yaml does, before anything expands it", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    expect(() => parseYaml(`${levels.join("\n")}\n`)).toThrow("document contains excessive aliasing");
  });
});

describe("parseYamlDocuments", () => {
  it("reads every document; a bad one is reported with its line in the file, and the others are still read", () => {
    const text = "---\nkind: Pod\n---\n# a comment\nkind: Pod\nkind: Service\n--- {kind: Service}\n---\n...\n";
    expect(parseYamlDocuments(text)).toEqual([
      { ok: true, value: { kind: "Pod" } },
      { ok: false, error: "line 6: duplicated mapping key" },
      { ok: true, value: { kind: "Service" } },
      { ok: true, value: null },
    ]);
  });

  it("keeps directives and comments before a --- with the document they precede", () => {
    expect(parseYamlDocuments("%YAML 1.2\n# first\n---\na: 1\n")).toEqual([{ ok: true, value: { a: 1 } }]);
    expect(parseYamlDocuments("a: 1\n---\n")).toEqual([
      { ok: true, value: { a: 1 } },
      { ok: true, value: null },
    ]);
    expect(parseYamlDocuments("# only a comment\n")).toEqual([]);
  });

  it("does not split at --- that is not a document start", () => {
    expect(parseYamlDocuments("a: |\n  ---\n  b\nc: ---x\n")).toEqual([{ ok: true, value: { a: "---\nb\n", c: "---x" } }]);
  });
});

describe("toYaml", () => {
  it("quotes every string a YAML 1.1 reader (kubectl's go-yaml, PyYAML) would take for another type", () => {
    const labels = { a: "yes", b: "on", c: "80", d: "true", e: "null", f: "~", g: "2001-12-14", h: "0x1F", i: "017", j: "1e3", k: "", l: ".inf" };
    const text = toYaml({ labels });
    for (const [key, value] of Object.entries(labels)) expect(text).toContain(`${key}: '${value}'\n`);
    expect(parseYaml(text)).toEqual({ labels });
  });

  it("writes JSON data back as it was: undefined fields left out, undefined elements as null, shared values twice", () => {
    const shared = { app: "web" };
    const value = { a: undefined, b: [1, undefined, null], c: shared, d: shared, e: "line 1\nline 2\n", f: "x ".repeat(60), g: {}, h: [] };
    const text = toYaml(value);
    expect(text).not.toContain("&");
    expect(parseYaml(text)).toEqual(JSON.parse(JSON.stringify(value)));
    expect(toYaml({ items: [] })).toBe("items: []\n");
  });
});
