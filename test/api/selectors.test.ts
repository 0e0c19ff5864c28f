import { describe, expect, it } from "vitest";
import { matchesFields, parseFieldSelector } from "../../src/api/fields";
import { labelSelectorString, matchesLabels, parseLabelSelector, selectorFromSet } from "../../src/api/labels";
import type { KubeObject, Pod, Service } from "../../src/api/types";

const LABELS = { app: "web", tier: "front", version: "3" };

function sel(s: string) {
  const r = parseLabelSelector(s);
  if (!r.ok) throw new Error(r.message);
  return r.selector;
}

describe("label selectors", () => {
  const matching: [string, boolean][] = [
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app in (web,db)", true],
    ["app in (db)", false],
    ["app notin (db, cache)", true],
    ["app notin (web)", false],
    ["missing notin (x)", true],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["app=web,tier=front", true],
    ["app=web, tier=back", false],
    ["version>2", true],
    ["version<3", false],
    ["app>2", false],
    ["app=", false],
    ["missing=", false],
    ["app in (in, web)", true],
    ["app=in", false],
  ];
  for (const [s, want] of matching) {
    it(`${JSON.stringify(s)} ${want ? "matches" : "does not match"}`, () => {
      expect(matchesLabels(sel(s), LABELS)).toBe(want);
    });
  }

  it("sorts requirements by key and prints them canonically", () => {
    // "!x" sorts under its key, x.
    expect(labelSelectorString(sel("tier in (b,a), app=web,!x, y"))).toBe("app=web,tier in (a,b),!x,y");
  });

  const invalid: [string, string][] = [
    ["app=web db", "found 'db', expected: ',' or 'end of string'"],
    ["app=web,", "found '', expected: identifier after ','"],
    [",app", "found ',', expected: !, identifier, or 'end of string'"],
    ["app in web", "unable to parse requirement: found 'web' expected: '('"],
    ["app in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ["app in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    // "~" is an ordinary identifier character, so it stands where the operator should be.
    ["app ~ web", "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt"],
    ["app=(x)", "unable to parse requirement: found '(', expected: identifier"],
    ["!=x", "found '!=', expected: !, identifier, or 'end of string'"],
    ["!(x)", "unable to parse requirement: found '(', expected: identifier"],
    ["app (x)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    [
      "-app=x",
      "unable to parse requirement: <nil>: Invalid value: \"-app\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
    [
      "app=-x",
      "unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
    ["version>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"],
  ];
  for (const [s, message] of invalid) {
    it(`rejects ${JSON.stringify(s)}`, () => {
      expect(parseLabelSelector(s)).toEqual({ ok: false, message });
    });
  }

  it("a Service selector map selects by equality; an empty or missing one selects nothing", () => {
    expect(matchesLabels(selectorFromSet({ app: "web" }), LABELS)).toBe(true);
    expect(matchesLabels(selectorFromSet({ app: "web", tier: "back" }), LABELS)).toBe(false);
    expect(matchesLabels(selectorFromSet({}), LABELS)).toBe(false);
    expect(matchesLabels(selectorFromSet(undefined), LABELS)).toBe(false);
    expect(matchesLabels(sel("app=web"), undefined)).toBe(false);
  });
});

describe("field selectors", () => {
  const podObj = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default" },
    spec: { nodeName: "node-a", containers: [] },
    status: { phase: "Running" },
  } as Pod;
  const svcObj = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "prod" },
    spec: { type: "NodePort", clusterIP: "10.96.0.9" },
  } as Service;

  function fsel(s: string, obj: KubeObject): boolean {
    const r = parseFieldSelector(s, obj.kind as "Pod" | "Service");
    if (!r.ok) throw new Error(r.message);
    return matchesFields(r.selector, obj);
  }

  it("matches metadata fields for every kind", () => {
    expect(fsel("metadata.name=web-1", podObj)).toBe(true);
    expect(fsel("metadata.name==web-2", podObj)).toBe(false);
    expect(fsel("metadata.namespace!=default", podObj)).toBe(false);
    expect(fsel("metadata.namespace=prod,metadata.name=web", svcObj)).toBe(true);
    expect(fsel("", svcObj)).toBe(true);
  });

  it("matches Pod spec.nodeName and status.phase", () => {
    expect(fsel("spec.nodeName=node-a,status.phase=Running", podObj)).toBe(true);
    expect(fsel("spec.nodeName!=node-a", podObj)).toBe(false);
    expect(fsel("spec.nodeName=", { ...podObj, spec: { containers: [] } } as Pod)).toBe(true);
  });

  it("matches Service spec.type and spec.clusterIP", () => {
    expect(fsel("spec.type=NodePort", svcObj)).toBe(true);
    expect(fsel("spec.clusterIP=10.96.0.9", svcObj)).toBe(true);
    expect(fsel("spec.type=ClusterIP", svcObj)).toBe(false);
  });

  it("unescapes values", () => {
    const named = { ...podObj, metadata: { name: "a,b=c" } } as Pod;
    expect(fsel("metadata.name=a\\,b\\=c", named)).toBe(true);
  });

  it("rejects unsupported field labels with the apiserver's messages", () => {
    expect(parseFieldSelector("spec.nodeName=a", "Service")).toEqual({ ok: false, message: "field label not supported: spec.nodeName" });
    expect(parseFieldSelector("foo=bar", "Pod")).toEqual({ ok: false, message: "field label not supported: foo" });
    expect(parseFieldSelector("addressType=IPv4", "EndpointSlice")).toEqual({
      ok: false,
      message: '"addressType" is not a known field selector: only "metadata.name", "metadata.namespace"',
    });
  });

  it("cluster-scoped kinds offer only their own field labels", () => {
    expect(parseFieldSelector("metadata.namespace=default", "Node")).toEqual({ ok: false, message: "field label not supported: metadata.namespace" });
    expect(parseFieldSelector("status.phase=Active,metadata.name=team-a", "Namespace").ok).toBe(true);
    expect(parseFieldSelector("spec.unschedulable=false", "Node").ok).toBe(true);
  });

  it("accepts the legacy spec.host alias for Pods", () => {
    expect(fsel("spec.host=node-a", podObj)).toBe(true);
  });

  it("rejects malformed selectors", () => {
    expect(parseFieldSelector("metadata.name", "Pod")).toEqual({ ok: false, message: "invalid selector: 'metadata.name'; can't understand 'metadata.name'" });
    expect(parseFieldSelector("metadata.name=a=b", "Pod")).toEqual({ ok: false, message: "invalid field selector: unescaped character in value: 61" });
    expect(parseFieldSelector("metadata.name=a\\x", "Pod")).toEqual({ ok: false, message: "invalid field selector: invalid escape sequence: \\x" });
  });
});
