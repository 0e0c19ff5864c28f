// Bounds on what one write may cost (issue: one request killed the Worker, labels
// filled the registry's memory, an oversized object was half-written). Each case
// is an attack that used to succeed; each must now be refused whole, with nothing
// stored, allocated or published.
import { describe, expect, it } from "vitest";
import { call, expectRejectedWithoutWrites, freshNamespace, json, pod, readEvents, registry } from "../admin/client";
import { WATCH_WINDOW_BYTES } from "../../src/registry/watch-history";
import { MAX_OBJECT_BYTES } from "../../src/registry/store";

const JSON_PATCH = "application/json-patch+json";

async function ownNode(): Promise<{ node: string; token: string }> {
  const node = `bounds-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const token = (await json(await call("POST", `/api/v1/nodes/${node}/token`, undefined, { raw: "{}" }))).status.token as string;
  expect((await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: node } }, { token })).status).toBe(201);
  return { node, token };
}

const bigAnnotation = (bytes: number) => ({ big: "x".repeat(bytes) });

describe("JSON patch work is bounded before it is done", () => {
  it("refuses a patch that copies a document into itself (the 26-operation bomb) with 422, and the Worker lives on", async () => {
    const { node, token } = await ownNode();
    const ops: unknown[] = [
      { op: "add", path: "/metadata/annotations", value: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, "v".repeat(100)])) },
    ];
    for (let i = 0; i < 25; i++) ops.push({ op: "copy", from: "/metadata/annotations", path: `/metadata/annotations/c${i}` });
    const body = await expectRejectedWithoutWrites(() => call("PATCH", `/api/v1/nodes/${node}`, ops, { token, contentType: JSON_PATCH }), 422);
    expect(body.message).toContain("accumulated size increase of copy operations exceeds 3145728");
    expect((await call("GET", `/api/v1/nodes/${node}`, undefined, { token })).status).toBe(200);
  });

  it("refuses more than 10,000 operations with 413 before applying any", async () => {
    const { node, token } = await ownNode();
    const ops = Array.from({ length: 10_001 }, () => ({ op: "test", path: "/kind", value: "Node" }));
    const body = await expectRejectedWithoutWrites(() => call("PATCH", `/api/v1/nodes/${node}`, ops, { token, contentType: JSON_PATCH }), 413);
    expect(body.message).toBe("The allowed maximum operations in a JSON patch is 10000, got 10001");
  });

  it("refuses a patch whose result nests deeper than a body may (422), not a stack overflow", async () => {
    const { node, token } = await ownNode();
    const ops: unknown[] = [{ op: "add", path: "/metadata/x", value: {} }];
    let path = "/metadata/x";
    for (let i = 0; i < 150; i++) ops.push({ op: "add", path: (path += "/y"), value: {} });
    const body = await expectRejectedWithoutWrites(() => call("PATCH", `/api/v1/nodes/${node}`, ops, { token, contentType: JSON_PATCH }), 422);
    expect(body.message).toContain("nests deeper than 100 levels");
  });
});

describe("object limits", () => {
  it("refuses 25,000 labels on a Node (422 Too many), and accepts 256", async () => {
    const { node, token } = await ownNode();
    const many = Object.fromEntries(Array.from({ length: 25_000 }, (_, i) => [`label-${i}`, "v"]));
    const body = await expectRejectedWithoutWrites(
      () => call("PATCH", `/api/v1/nodes/${node}`, { metadata: { labels: many } }, { token, contentType: "application/merge-patch+json" }),
      422,
    );
    expect(body.details.causes[0]).toMatchObject({ reason: "FieldValueTooMany", field: "metadata.labels" });
    const fine = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`label-${i}`, "v"]));
    expect((await call("PATCH", `/api/v1/nodes/${node}`, { metadata: { labels: fine } }, { token, contentType: "application/merge-patch+json" })).status).toBe(
      200,
    );
  });

  it("refuses annotations over 256 KiB in total (422 Too long), as Kubernetes does", async () => {
    const { node, token } = await ownNode();
    const patch = { metadata: { annotations: { a: "x".repeat(200 * 1024), b: "y".repeat(60 * 1024) } } };
    const body = await expectRejectedWithoutWrites(
      () => call("PATCH", `/api/v1/nodes/${node}`, patch, { token, contentType: "application/merge-patch+json" }),
      422,
    );
    expect(body.details.causes[0]).toMatchObject({ reason: "FieldValueTooLong", field: "metadata.annotations" });
  });

  it("refuses a Service larger than the stored-object limit with 413: nothing stored or allocated (no resourceVersion taken, so nothing watched or queued)", async () => {
    const ns = await freshNamespace();
    const loadBalancerSourceRanges = Array.from({ length: 110_000 }, () => "198.18.0.0/15");
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "huge" },
      spec: { type: "LoadBalancer", loadBalancerSourceRanges, selector: { app: "a" }, ports: [{ port: 80, nodePort: 30062 }] },
    };
    expect(JSON.stringify(svc).length).toBeGreaterThan(MAX_OBJECT_BYTES);
    const body = await expectRejectedWithoutWrites(() => call("POST", `/api/v1/namespaces/${ns}/services`, svc), 413);
    expect(body.message).toContain("too large to store");
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/huge`)).status).toBe(404);
    // The NodePort it asked for was never held: a small Service takes it.
    const small = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "huge" },
      spec: { type: "NodePort", selector: { app: "a" }, ports: [{ port: 80, nodePort: 30062 }] },
    };
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, small)).status).toBe(201);
  });

  it("refuses an oversized Lease from a node the same way", async () => {
    const { node, token } = await ownNode();
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: node }, spec: { holderIdentity: "h".repeat(MAX_OBJECT_BYTES + 1) } };
    await expectRejectedWithoutWrites(() => call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease, { token }), 413);
  });
});

describe("watch memory is bounded by bytes", () => {
  it("keeps the resume window within WATCH_WINDOW_BYTES while large objects change, and answers 410 for compacted resumes", async () => {
    const { node, token } = await ownNode();
    const start = (await json(await call("GET", `/api/v1/nodes/${node}`))).metadata.resourceVersion as string;
    // Each change holds the object and the one before it: ~0.4 MB an event, past WATCH_WINDOW_BYTES in 90.
    for (let i = 0; i < 90; i++) {
      const res = await call(
        "PATCH",
        `/api/v1/nodes/${node}`,
        { metadata: { annotations: bigAnnotation(200_000 + i) } },
        { token, contentType: "application/merge-patch+json" },
      );
      expect(res.status).toBe(200);
    }
    const { watchWindow } = await registry().stats();
    expect(watchWindow.bytes).toBeLessThanOrEqual(WATCH_WINDOW_BYTES);
    expect(watchWindow.events).toBeGreaterThan(0);
    const resume = await call("GET", `/api/v1/nodes?watch=1&resourceVersion=${start}`);
    expect(resume.status).toBe(410);
    const st = await json(resume);
    expect(st).toMatchObject({ kind: "Status", reason: "Expired", code: 410 });
    expect(st.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it("streams an initial list larger than a watcher's buffer whole (every ADDED event arrives)", async () => {
    const ns = await freshNamespace();
    const count = 40;
    for (let i = 0; i < count; i++) {
      const res = await call("POST", `/api/v1/namespaces/${ns}/pods`, pod(`p${i}`, { app: "w" }, `198.18.1.${i + 1}`, { annotations: bigAnnotation(250_000) }));
      expect(res.status).toBe(201);
    }
    const res = await call("GET", `/api/v1/namespaces/${ns}/pods?watch=1`);
    expect(res.status).toBe(200);
    const events = await readEvents(res, count, 15_000);
    expect(events.map((e) => e.type)).toEqual(Array(count).fill("ADDED"));
  });
});

describe("metadata.uid is immutable", () => {
  it("answers a JSON patch of metadata.uid with 422, and a PUT with another uid with 409", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("u", { app: "u" }, "198.18.2.1")));
    const url = `/api/v1/namespaces/${ns}/pods/u`;
    const patched = await expectRejectedWithoutWrites(
      () => call("PATCH", url, [{ op: "replace", path: "/metadata/uid", value: "other" }], { contentType: JSON_PATCH }),
      422,
    );
    expect(patched.details.causes).toContainEqual(expect.objectContaining({ field: "metadata.uid", message: expect.stringContaining("field is immutable") }));
    const put = await expectRejectedWithoutWrites(() => call("PUT", url, { ...created, metadata: { ...created.metadata, uid: "other" } }), 409);
    expect(put.message).toContain(`Precondition failed: UID in precondition: other, UID in object meta: ${created.metadata.uid}`);
    const same = await call("PUT", url, { ...created, metadata: { ...created.metadata, labels: { app: "v" } } });
    expect(same.status).toBe(200);
  });
});
