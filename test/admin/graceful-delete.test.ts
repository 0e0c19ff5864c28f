// metadata.deletionGracePeriodSeconds, which graceful deletion sets beside deletionTimestamp, is a
// field of ObjectMeta like any other: writes to a terminating Pod keep it (the apiserver's
// BeforeUpdate: an update can never remove it) and do not warn that it is unknown, and a create
// cannot set it (BeforeCreate clears it with the deletion timestamp).
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, pod } from "./client";

describe("metadata.deletionGracePeriodSeconds", () => {
  it("is set by a graceful delete and kept, without a warning, by a patch and a put of the terminating Pod", async () => {
    const ns = await freshNamespace();
    const url = `/api/v1/namespaces/${ns}/pods/grace-1`;
    expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, pod("grace-1", { app: "grace" }, "10.5.0.1"))).status).toBe(201);
    const deleted = await json(await call("DELETE", url, { gracePeriodSeconds: 30 }));
    expect(deleted.metadata.deletionGracePeriodSeconds).toBe(30);

    const patched = await call("PATCH", url, { metadata: { labels: { app: "grace", extra: "yes" } } }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.headers.get("warning")).toBeNull();
    expect((await json(patched)).metadata).toMatchObject({ deletionGracePeriodSeconds: 30, deletionTimestamp: deleted.metadata.deletionTimestamp });

    const current = await json(await call("GET", url));
    delete current.metadata.deletionGracePeriodSeconds;
    const put = await call("PUT", url, current);
    expect(put.status).toBe(200);
    expect((await json(put)).metadata.deletionGracePeriodSeconds).toBe(30);
  });

  it("is not taken from a create", async () => {
    const ns = await freshNamespace();
    const body = pod("grace-2", { app: "grace" }, "10.5.0.2");
    Object.assign(body.metadata, { deletionGracePeriodSeconds: 5 });
    const created = await call("POST", `/api/v1/namespaces/${ns}/pods`, body);
    expect(created.status).toBe(201);
    expect(created.headers.get("warning")).toBeNull();
    expect((await json(created)).metadata.deletionGracePeriodSeconds).toBeUndefined();
  });
});
