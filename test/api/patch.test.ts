import { describe, expect, it } from "vitest";
import { applyJsonPatch, applyMergePatch } from "../../src/api/patch";

describe("JSON merge patch (RFC 7386 appendix A)", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  cases.forEach(([target, patch, want], i) => {
    it(`case ${i + 1}`, () => {
      expect(applyMergePatch(target, patch)).toEqual(want);
    });
  });

  it("does not mutate its inputs", () => {
    const target = { spec: { ports: [{ port: 80 }], selector: { app: "a" } } };
    const patch = { spec: { selector: { tier: "b" } } };
    const out = applyMergePatch(target, patch) as typeof target & { spec: { selector: Record<string, string> } };
    out.spec.ports[0]!.port = 1;
    out.spec.selector.tier = "changed";
    expect(target).toEqual({ spec: { ports: [{ port: 80 }], selector: { app: "a" } } });
    expect(patch).toEqual({ spec: { selector: { tier: "b" } } });
  });
});

describe("JSON patch (RFC 6902 appendix A)", () => {
  const ok: [string, unknown, unknown[], unknown][] = [
    ["A.1 add an object member", { foo: "bar" }, [{ op: "add", path: "/baz", value: "qux" }], { baz: "qux", foo: "bar" }],
    ["A.2 add an array element", { foo: ["bar", "baz"] }, [{ op: "add", path: "/foo/1", value: "qux" }], { foo: ["bar", "qux", "baz"] }],
    ["A.3 remove an object member", { baz: "qux", foo: "bar" }, [{ op: "remove", path: "/baz" }], { foo: "bar" }],
    ["A.4 remove an array element", { foo: ["bar", "qux", "baz"] }, [{ op: "remove", path: "/foo/1" }], { foo: ["bar", "baz"] }],
    ["A.5 replace a value", { baz: "qux", foo: "bar" }, [{ op: "replace", path: "/baz", value: "boo" }], { baz: "boo", foo: "bar" }],
    [
      "A.6 move a value",
      { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } },
      [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }],
      { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
    ],
    [
      "A.7 move an array element",
      { foo: ["all", "grass", "cows", "eat"] },
      [{ op: "move", from: "/foo/1", path: "/foo/3" }],
      { foo: ["all", "cows", "eat", "grass"] },
    ],
    [
      "A.8 test a value: success",
      { baz: "qux", foo: ["a", 2, "c"] },
      [
        { op: "test", path: "/baz", value: "qux" },
        { op: "test", path: "/foo/1", value: 2 },
      ],
      { baz: "qux", foo: ["a", 2, "c"] },
    ],
    ["A.10 add a nested member object", { foo: "bar" }, [{ op: "add", path: "/child", value: { grandchild: {} } }], { foo: "bar", child: { grandchild: {} } }],
    ["A.11 ignore unrecognized elements", { foo: "bar" }, [{ op: "add", path: "/baz", value: "qux", xyz: 123 }], { foo: "bar", baz: "qux" }],
    ["A.14 ~ escape ordering", { "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: 10 }], { "/": 9, "~1": 10 }],
    ["A.16 add an array value", { foo: ["bar"] }, [{ op: "add", path: "/foo/-", value: ["abc", "def"] }], { foo: ["bar", ["abc", "def"]] }],
    ["copy", { a: { b: 1 } }, [{ op: "copy", from: "/a", path: "/c" }], { a: { b: 1 }, c: { b: 1 } }],
    ["replace the whole document", { a: 1 }, [{ op: "replace", path: "", value: [1] }], [1]],
    [
      "escaped key with a slash",
      { metadata: { labels: { "app.kubernetes.io/name": "x" } } },
      [{ op: "remove", path: "/metadata/labels/app.kubernetes.io~1name" }],
      { metadata: { labels: {} } },
    ],
  ];
  for (const [name, doc, ops, want] of ok) {
    it(name, () => {
      expect(applyJsonPatch(doc, ops)).toEqual({ ok: true, value: want });
    });
  }

  const failing: [string, unknown, unknown, string][] = [
    ["A.9 test a value: error", { baz: "qux" }, [{ op: "test", path: "/baz", value: "bar" }], "testing value /baz failed: test failed"],
    [
      "A.12 add to a nonexistent target",
      { foo: "bar" },
      [{ op: "add", path: "/baz/bat", value: "qux" }],
      'add operation does not apply: doc is missing path: "/baz/bat": missing value',
    ],
    ["A.15 comparing strings and numbers", { "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: "10" }], "testing value /~01 failed: test failed"],
    ["remove a missing member", { a: 1 }, [{ op: "remove", path: "/b" }], 'remove operation does not apply: doc is missing path: "/b": missing value'],
    [
      "replace a missing member",
      { a: 1 },
      [{ op: "replace", path: "/b", value: 2 }],
      "replace operation does not apply: doc is missing key: /b: missing value",
    ],
    ["index out of range", { a: [1] }, [{ op: "add", path: "/a/5", value: 2 }], "Unable to access invalid index: 5: invalid index referenced"],
    ["leading zero index", { a: [1, 2] }, [{ op: "remove", path: "/a/01" }], "Unable to access invalid index: 01: invalid index referenced"],
    ["unknown op", {}, [{ op: "frobnicate", path: "/a" }], "Unexpected kind: frobnicate"],
    ["not an array", {}, { op: "add" }, "invalid JSON Patch: the patch must be a JSON array of operations"],
    ["missing value", {}, [{ op: "add", path: "/a" }], "add operation does not apply: value is missing"],
  ];
  for (const [name, doc, ops, message] of failing) {
    it(name, () => {
      expect(applyJsonPatch(doc, ops)).toEqual({ ok: false, message });
    });
  }

  it("is all-or-nothing and never mutates its inputs", () => {
    const doc = { a: { b: [1, 2] } };
    const ops = [
      { op: "add", path: "/a/b/-", value: { x: 1 } },
      { op: "test", path: "/a/c", value: 1 },
    ];
    expect(applyJsonPatch(doc, ops).ok).toBe(false);
    expect(doc).toEqual({ a: { b: [1, 2] } });
    const res = applyJsonPatch(doc, ops.slice(0, 1));
    if (!res.ok) throw new Error(res.message);
    (res.value as { a: { b: { x: number }[] } }).a.b[2]!.x = 5;
    expect(ops[0]!.value).toEqual({ x: 1 });
  });
});
