// Paged lists are one snapshot: every page shows the objects as they were at the first
// page's resourceVersion, whatever is written between pages; once the history no longer
// reaches that far, the apiserver's 410 Expired carries a token that goes on from the same key.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, service } from "../admin/client";

const names = (list: { items: { metadata: { name: string } }[] }) => list.items.map((o) => o.metadata.name);
const page = async (ns: string, limit: number, token?: string) =>
  json(await call("GET", `/api/v1/namespaces/${ns}/services?limit=${limit}${token ? `&continue=${encodeURIComponent(token)}` : ""}`));

describe("paged lists", () => {
  it("serve every page as of the first page's resourceVersion while others write", async () => {
    const ns = await freshNamespace();
    for (const n of ["a", "b", "c", "d", "e", "f"]) await call("POST", `/api/v1/namespaces/${ns}/services`, service(n, {}, { labels: { v: "1" } }));
    const first = await page(ns, 2);
    expect(names(first)).toEqual(["a", "b"]);
    const rv = first.metadata.resourceVersion;
    // Between pages: one created, one deleted, one changed, all after the first page's keys.
    await call("POST", `/api/v1/namespaces/${ns}/services`, service("cc"));
    await call("DELETE", `/api/v1/namespaces/${ns}/services/d`);
    await call("PATCH", `/api/v1/namespaces/${ns}/services/e`, { metadata: { labels: { v: "2" } } }, { contentType: "application/merge-patch+json" });
    const second = await page(ns, 2, first.metadata.continue);
    const third = await page(ns, 2, second.metadata.continue);
    expect([second.metadata.resourceVersion, third.metadata.resourceVersion]).toEqual([rv, rv]);
    expect([...names(second), ...names(third)]).toEqual(["c", "d", "e", "f"]);
    expect(third.items.find((s: { metadata: { name: string } }) => s.metadata.name === "e").metadata.labels).toEqual({ v: "1" });
    expect(third.metadata.continue).toBeUndefined();
    // A new list sees the writes.
    expect(names(await json(await call("GET", `/api/v1/namespaces/${ns}/services`)))).toEqual(["a", "b", "c", "cc", "e", "f"]);
  });

  it("answer 410 Expired with a token that goes on from the same key once the history is compacted past them", async () => {
    const ns = await freshNamespace();
    for (const n of ["a", "b", "c", "d"]) await call("POST", `/api/v1/namespaces/${ns}/services`, service(n));
    const first = await page(ns, 2);
    // Push the watch history past its byte bound (32 MiB): ~0.4 MB an event.
    for (let i = 0; i < 90; i++) {
      const res = await call(
        "PATCH",
        `/api/v1/namespaces/${ns}/services/a`,
        { metadata: { annotations: { big: "x".repeat(200_000 + i) } } },
        { contentType: "application/merge-patch+json" },
      );
      expect(res.status).toBe(200);
    }
    const res = await call("GET", `/api/v1/namespaces/${ns}/services?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`);
    expect(res.status).toBe(410);
    const st = await json(res);
    expect(st).toMatchObject({ kind: "Status", reason: "Expired", code: 410 });
    expect(st.message).toContain("The provided continue parameter is too old to display a consistent list result");
    const rest = await page(ns, 2, st.metadata.continue);
    expect(names(rest)).toEqual(["c", "d"]);
    expect(Number(rest.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
  });
});
