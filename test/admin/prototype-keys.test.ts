// Keys chosen by callers are data (issue: prototype pollution → authorization bypass).
// `__proto__` is refused at the body, keys such as `constructor` round-trip as plain
// labels and fields, and the node policy ignores anything Object.prototype might hold.
// test/setup/prototypes-untouched.ts checks after every test that no prototype changed.
import { describe, expect, it } from "vitest";
import { authorize } from "../../src/registry/authorize";
import { call, expectRejectedWithoutWrites, freshNamespace, json, pod } from "./client";

const SMP = "application/strategic-merge-patch+json";
const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const APPLY = "application/apply-patch+yaml";
const PROTOTYPE_NAMES = ["constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "isPrototypeOf"];

async function nodeWithToken(): Promise<{ node: string; token: string }> {
  const node = `proto-node-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const res = await call("POST", `/api/v1/nodes/${node}/token`, undefined, { raw: "{}" });
  const token = (await json(res)).status.token as string;
  expect((await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: node } }, { token })).status).toBe(201);
  return { node, token };
}

describe("__proto__ in request bodies", () => {
  it("refuses a node's strategic merge patch of its own Node carrying __proto__, and the node gains nothing", async () => {
    const { node, token } = await nodeWithToken();
    const raw = '{"__proto__":{"coarse":true},"metadata":{"labels":{"a":"b"}}}';
    const body = await expectRejectedWithoutWrites(() => call("PATCH", `/api/v1/nodes/${node}`, undefined, { token, raw, contentType: SMP }), 400);
    expect(body).toMatchObject({ kind: "Status", reason: "BadRequest" });
    expect(body.message).toContain('"__proto__" is not allowed');
    expect(({} as { coarse?: unknown }).coarse).toBeUndefined();
    // What the pollution used to unlock stays forbidden.
    const ns = await freshNamespace();
    const withUrl = pod("hijack", { app: "x" }, "198.18.0.9", { nodeName: "someone-else", annotations: { "svcedge.io/url": "https://attacker.example" } });
    expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, withUrl, { token })).status).toBe(403);
  });

  it("refuses __proto__ anywhere, in every body type: JSON, YAML, each patch type, nested", async () => {
    const { node, token } = await nodeWithToken();
    const cases: [string, string, string][] = [
      ["PATCH", MERGE, '{"metadata":{"labels":{"__proto__":{"coarse":true}}}}'],
      ["PATCH", SMP, '{"spec":{"podCIDRs":[{"__proto__":{"x":1}}]}}'],
      ["PATCH", `${APPLY}`, `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node}\n__proto__:\n  coarse: true\n`],
      ["PUT", "application/yaml", `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node}\n  annotations:\n    __proto__: {coarse: true}\n`],
    ];
    for (const [method, contentType, raw] of cases) {
      const path = `/api/v1/nodes/${node}${contentType === APPLY ? "?fieldManager=m" : ""}`;
      const res = await expectRejectedWithoutWrites(() => call(method, path, undefined, { token, raw, contentType }), 400);
      expect(res.message).toContain("__proto__");
    }
    const created = await call("POST", "/api/v1/namespaces", undefined, {
      raw: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"p","labels":{"__proto__":"x"}}}',
    });
    expect(created.status).toBe(400);
  });

  it("refuses a JSON patch whose pointer names __proto__ (422, as a path that cannot exist)", async () => {
    const { node, token } = await nodeWithToken();
    for (const path of ["/__proto__", "/__proto__/coarse", "/metadata/__proto__", "/metadata/labels/__proto__"]) {
      const ops = [{ op: "add", path, value: { coarse: true } }];
      const body = await expectRejectedWithoutWrites(() => call("PATCH", `/api/v1/nodes/${node}`, ops, { token, contentType: JSON_PATCH }), 422);
      expect(body.message).toContain("__proto__");
    }
    const copy = [{ op: "copy", from: "/metadata", path: "/__proto__" }];
    await expectRejectedWithoutWrites(() => call("PATCH", `/api/v1/nodes/${node}`, copy, { token, contentType: JSON_PATCH }), 422);
  });
});

describe("keys named like Object.prototype's members are plain data", () => {
  it("round-trips them as labels, annotations and selector keys, through create and every patch type", async () => {
    const ns = await freshNamespace();
    const labels = Object.fromEntries(PROTOTYPE_NAMES.map((k) => [k, "v"]));
    const created = await call(
      "POST",
      `/api/v1/namespaces/${ns}/pods`,
      pod("named", labels, "198.18.0.10", { annotations: { constructor: "c", toString: "t" } }),
    );
    expect(created.status).toBe(201);
    expect((await json(created)).metadata.labels).toEqual(labels);
    const url = `/api/v1/namespaces/${ns}/pods/named`;
    const smp = await call("PATCH", url, { metadata: { labels: { constructor: "w", valueOf: null } } }, { contentType: SMP });
    expect(smp.status).toBe(200);
    const merged = await call("PATCH", url, { metadata: { annotations: { hasOwnProperty: "h", toString: null } } }, { contentType: MERGE });
    expect(merged.status).toBe(200);
    const jp = await call("PATCH", url, [{ op: "add", path: "/metadata/labels/prototype", value: "p2" }], { contentType: JSON_PATCH });
    expect(jp.status).toBe(200);
    const got = await json(await call("GET", url));
    expect(got.metadata.labels).toEqual({ constructor: "w", toString: "v", hasOwnProperty: "v", prototype: "p2", isPrototypeOf: "v" });
    expect(got.metadata.annotations).toEqual({ constructor: "c", hasOwnProperty: "h" });
    const selected = await json(await call("GET", `/api/v1/namespaces/${ns}/pods?labelSelector=constructor%3Dw`));
    expect(selected).toMatchObject({ kind: "PodList" });
    expect(selected.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(["named"]);
    // `constructor` without a value is an existence selector: only Pods that have the label match.
    await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("plain", { app: "x" }, "198.18.0.11"));
    const exists = await json(await call("GET", `/api/v1/namespaces/${ns}/pods?labelSelector=toString`));
    expect(exists.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(["named"]);
  });

  it("treats them as unknown fields (a warning, never a 500), in JSON and server-side apply", async () => {
    const ns = await freshNamespace();
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s", constructor: { x: 1 } },
      spec: { ports: [{ port: 80, toString: 1 }], valueOf: "x", hasOwnProperty: [] },
    };
    const created = await call("POST", `/api/v1/namespaces/${ns}/services`, svc);
    expect(created.status).toBe(201);
    expect(created.headers.get("warning")).toContain("metadata.constructor");
    const applied = await call("PATCH", `/api/v1/namespaces/${ns}/services/s?fieldManager=m`, undefined, {
      contentType: APPLY,
      raw: "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: {constructor: a}\nspec:\n  ports: [{port: 80, valueOf: 2}]\n  constructor: {}\n",
    });
    expect(applied.status).toBeLessThan(500);
    expect((await json(await call("GET", `/api/v1/namespaces/${ns}/services/s`))).metadata.labels).toEqual({ constructor: "a" });
  });
});

describe("the node policy reads only what the caller set", () => {
  it("denies a node another node's Pod even when Object.prototype carries the fields the policy reads", () => {
    const proto = Object.prototype as unknown as Record<string, unknown>;
    const polluted = ["coarse", "nodeName", "svcedge.io/registered-by"];
    try {
      proto.coarse = true;
      proto.nodeName = "n1";
      proto["svcedge.io/registered-by"] = "n1";
      const theirs = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "d", annotations: {} }, spec: {} };
      const denied = authorize({ kind: "node", node: "n1" }, { verb: "delete", resource: "pods", group: "", namespace: "d", name: "p", current: theirs });
      expect(denied?.code).toBe(403);
      const edit = authorize(
        { kind: "node", node: "n1" },
        { verb: "update", resource: "pods", group: "", namespace: "d", name: "p", current: theirs, next: theirs },
      );
      expect(edit?.code).toBe(403);
    } finally {
      for (const k of polluted) delete proto[k];
    }
  });
});
