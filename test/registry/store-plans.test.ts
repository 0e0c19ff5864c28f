// The store's lookups must use their indexes, not read every row of a resource: a write
// runs them (the next graceful deletion is probed after every write), so a scan there makes
// every write cost the cluster's size. SQLite's own plans are the evidence.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ObjectStore } from "../../src/registry/store";
import { WatchHistory } from "../../src/registry/watch-history";

describe("store query plans", () => {
  it("searches the partial indexes for Pods by node, deletion deadline and a Service's slices", async () => {
    const stub = env.REGISTRY.get(env.REGISTRY.idFromName(`store-plans-${Date.now()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      new ObjectStore(sql, (fn) => state.storage.transactionSync(fn));
      const plan = (query: string, ...args: SqlStorageValue[]) =>
        sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, ...args)
          .toArray()
          .map((r) => r.detail)
          .join("; ");
      const src = ObjectStore.toString();
      for (const [index, pattern] of [
        ["store_objects_node", /SELECT value FROM store_objects INDEXED BY store_objects_node [^"]*/],
        ["store_objects_service", /SELECT value FROM store_objects INDEXED BY store_objects_service [^"]*/],
        ["store_objects_deleting", /SELECT namespace, name FROM store_objects INDEXED BY store_objects_deleting [^"]*/],
        ["store_objects_deleting", /SELECT min\(deleting\) AS at FROM store_objects INDEXED BY store_objects_deleting [^"]*/],
      ] as const) {
        const query = src.match(pattern)?.[0];
        expect(query, index).toBeDefined();
        const args = (query!.match(/\?/g) ?? []).map(() => "x");
        expect(plan(query!, ...args)).toMatch(new RegExp(`USING (COVERING )?INDEX ${index}\\b`));
      }
    });
  });

  it("reads the watch history's sizes and times from its covering index, never its events' JSON", async () => {
    const stub = env.REGISTRY.get(env.REGISTRY.idFromName(`history-plans-${Date.now()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      new WatchHistory(sql, 0);
      const src = WatchHistory.toString();
      const queries = [...src.matchAll(/"(SELECT [^"]*FROM watch_history INDEXED BY watch_history_sizes[^"]*)"/g)].map((m) => m[1]!);
      // The totals at start, the compaction's scan, the oldest event's time and a replay's sizes.
      expect(queries.length).toBe(4);
      for (const query of queries) {
        const args = (query.match(/\?/g) ?? []).map(() => 1);
        const plan = sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, ...args)
          .toArray()
          .map((r) => r.detail)
          .join("; ");
        expect(plan, query).toMatch(/USING COVERING INDEX watch_history_sizes\b/);
      }
    });
  });

  it("keeps its object counts equal to the rows, without counting them again after the first time", async () => {
    const stub = env.REGISTRY.get(env.REGISTRY.idFromName(`store-counts-${Date.now()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      const store = new ObjectStore(sql, (fn) => state.storage.transactionSync(fn));
      const rows = () => sql.exec<{ n: number }>("SELECT count(*) AS n FROM store_objects WHERE resource = 'pods'").one().n;
      const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [] } });
      expect(store.count("pods")).toBe(rows());
      for (const name of ["a", "b", "c"]) store.put("pods", pod(name), true);
      store.put("pods", pod("b"), false);
      store.delete("pods", "default", "a");
      store.delete("pods", "default", "nobody");
      expect(store.count("pods")).toBe(2);
      expect(store.count("pods")).toBe(rows());
    });
  });
});
