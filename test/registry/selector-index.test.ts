import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Pod, Service } from "../../src/api/types";
import { selectorMatches, selectsPods } from "../../src/registry/endpoints-controller";
import { ServicePodIndex } from "../../src/registry/indexes";

type Labels = Record<string, string>;

const svc = (namespace: string, name: string, selector: Labels | undefined, type?: Service["spec"]["type"]): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace, name },
  spec: { ...(selector ? { selector } : {}), ...(type ? { type } : {}) },
});
const pod = (namespace: string, name: string, labels?: Labels): Pod =>
  ({ apiVersion: "v1", kind: "Pod", metadata: { namespace, name, ...(labels ? { labels } : {}) }, spec: { containers: [] } }) as Pod;

/** A namespace's Pods, kept beside the index as the registry's store keeps them. */
class Cluster {
  readonly index: ServicePodIndex;
  readonly pods = new Map<string, Pod>();
  readonly services = new Map<string, Service>();

  constructor(sql: SqlStorage) {
    this.index = new ServicePodIndex(sql);
  }

  service(namespace: string, name: string, selector: Labels | undefined, type?: Service["spec"]["type"]): void {
    const s = svc(namespace, name, selector, type);
    this.services.set(`${namespace}/${name}`, s);
    this.index.serviceChanged(namespace, name, s);
  }

  deleteService(namespace: string, name: string): void {
    this.services.delete(`${namespace}/${name}`);
    this.index.serviceChanged(namespace, name, undefined);
  }

  /** Writes a Pod (or deletes it: `labels` null) and returns the Services the index says it touched. */
  pod(namespace: string, name: string, labels: Labels | undefined | null): string[] {
    const key = `${namespace}/${name}`;
    const before = this.pods.get(key)?.metadata.labels;
    if (labels === null) this.pods.delete(key);
    else this.pods.set(key, pod(namespace, name, labels));
    return this.index.podChanged(namespace, name, before, labels ?? undefined).sort();
  }

  selected(namespace: string, name: string): string[] {
    return this.index.selected(namespace, name);
  }
}

let instances = 0;
/** Each test gets the SQLite of a Durable Object of its own (a Registry that stores nothing). */
async function withCluster(test: (c: Cluster) => void): Promise<void> {
  const stub = env.REGISTRY.get(env.REGISTRY.idFromName(`selector-index-${Date.now()}-${instances++}`));
  await runInDurableObject(stub, (_instance, state) => test(new Cluster(state.storage.sql)));
}

describe("ServicePodIndex", () => {
  it("selects the Pods present when a Service is added, and follows Pods added afterwards", () =>
    withCluster((c) => {
      c.pod("ns", "web-1", { app: "web" });
      c.pod("ns", "db-1", { app: "db" });
      c.service("ns", "web", { app: "web" });
      expect(c.selected("ns", "web")).toEqual(["web-1"]);
      expect(c.pod("ns", "web-2", { app: "web", extra: "x" })).toEqual(["web"]);
      expect(c.pod("ns", "db-2", { app: "db" })).toEqual([]);
      expect(c.selected("ns", "web")).toEqual(["web-1", "web-2"]);
    }));

  it("reports a Service whose selection a Pod leaves or enters, and one the Pod stays in", () =>
    withCluster((c) => {
      c.service("ns", "web", { app: "web" });
      c.service("ns", "db", { app: "db" });
      c.pod("ns", "p", { app: "web" });
      expect(c.pod("ns", "p", { app: "web", version: "2" })).toEqual(["web"]); // stays: its endpoint may still change
      expect(c.pod("ns", "p", { app: "db" })).toEqual(["db", "web"]); // leaves web, enters db
      expect(c.selected("ns", "web")).toEqual([]);
      expect(c.selected("ns", "db")).toEqual(["p"]);
      expect(c.pod("ns", "p", undefined)).toEqual(["db"]); // labels removed
      expect(c.selected("ns", "db")).toEqual([]);
      expect(c.pod("ns", "p", { app: "db" })).toEqual(["db"]);
      expect(c.pod("ns", "p", null)).toEqual(["db"]); // deleted
      expect(c.selected("ns", "db")).toEqual([]);
    }));

  it("keeps several Services that share a pair", () =>
    withCluster((c) => {
      c.service("ns", "web", { app: "web" });
      c.service("ns", "web-canary", { app: "web", track: "canary" });
      c.service("ns", "web-alias", { app: "web" });
      expect(c.pod("ns", "stable", { app: "web", track: "stable" })).toEqual(["web", "web-alias"]);
      expect(c.pod("ns", "canary", { app: "web", track: "canary" })).toEqual(["web", "web-alias", "web-canary"]);
      expect(c.selected("ns", "web")).toEqual(["canary", "stable"]);
      expect(c.selected("ns", "web-alias")).toEqual(["canary", "stable"]);
      expect(c.selected("ns", "web-canary")).toEqual(["canary"]);
      c.deleteService("ns", "web-alias");
      expect(c.pod("ns", "stable", null)).toEqual(["web"]);
      expect(c.selected("ns", "web")).toEqual(["canary"]);
    }));

  it("does not select a Pod that carries only some of a selector's pairs", () =>
    withCluster((c) => {
      c.service("ns", "api", { app: "api", tier: "back", env: "prod" });
      expect(c.pod("ns", "a", { app: "api", tier: "back" })).toEqual([]);
      expect(c.pod("ns", "b", { app: "api", tier: "back", env: "dev" })).toEqual([]);
      expect(c.pod("ns", "c", { app: "api", tier: "back", env: "prod", zone: "z" })).toEqual(["api"]);
      expect(c.selected("ns", "api")).toEqual(["c"]);
      expect(c.pod("ns", "c", { app: "api", tier: "back" })).toEqual(["api"]); // loses one pair: leaves
      expect(c.selected("ns", "api")).toEqual([]);
    }));

  it("re-selects when a Service's selector changes, and forgets the old pairs", () =>
    withCluster((c) => {
      c.pod("ns", "web-1", { app: "web" });
      c.pod("ns", "db-1", { app: "db" });
      c.service("ns", "s", { app: "web" });
      expect(c.selected("ns", "s")).toEqual(["web-1"]);
      c.service("ns", "s", { app: "db" });
      expect(c.selected("ns", "s")).toEqual(["db-1"]);
      expect(c.pod("ns", "web-2", { app: "web" })).toEqual([]);
      expect(c.pod("ns", "db-2", { app: "db" })).toEqual(["s"]);
      c.service("ns", "s", { app: "db" }); // unchanged selector: nothing recomputed, nothing lost
      expect(c.selected("ns", "s")).toEqual(["db-1", "db-2"]);
    }));

  it("forgets a deleted Service, and one that stops selecting (empty selector, ExternalName)", () =>
    withCluster((c) => {
      c.pod("ns", "p", { app: "web" });
      c.service("ns", "gone", { app: "web" });
      c.service("ns", "emptied", { app: "web" });
      c.service("ns", "external", { app: "web" });
      c.deleteService("ns", "gone");
      c.service("ns", "emptied", {});
      c.service("ns", "external", { app: "web" }, "ExternalName");
      for (const s of ["gone", "emptied", "external"]) expect(c.selected("ns", s)).toEqual([]);
      expect(c.pod("ns", "p", { app: "web", v: "2" })).toEqual([]);
      c.service("ns", "emptied", { app: "web" }); // selects again
      expect(c.selected("ns", "emptied")).toEqual(["p"]);
    }));

  it("selects no Pod for an empty or absent selector", () =>
    withCluster((c) => {
      c.service("ns", "empty", {});
      c.service("ns", "absent", undefined);
      expect(c.pod("ns", "p", { app: "web" })).toEqual([]);
      expect(c.pod("ns", "q", undefined)).toEqual([]);
      expect(c.selected("ns", "empty")).toEqual([]);
      expect(c.selected("ns", "absent")).toEqual([]);
    }));

  it("keeps namespaces apart", () =>
    withCluster((c) => {
      c.pod("b", "p-b", { app: "web" });
      c.service("a", "web", { app: "web" });
      c.service("b", "web", { app: "web" });
      expect(c.pod("a", "p-a", { app: "web" })).toEqual(["web"]);
      expect(c.selected("a", "web")).toEqual(["p-a"]);
      expect(c.selected("b", "web")).toEqual(["p-b"]);
      c.deleteService("a", "web");
      expect(c.pod("a", "p-a", null)).toEqual([]);
      expect(c.pod("b", "p-b", { app: "web", v: "2" })).toEqual(["web"]);
      expect(c.pod("c", "p-c", { app: "web" })).toEqual([]);
    }));

  it("agrees with matching every selector, over a seeded random sequence of writes", () =>
    withCluster((c) => {
      let seed = 0x5eed;
      const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
      const namespaces = ["a", "b"];
      const labels = (): Labels | undefined => {
        if (rand(6) === 0) return undefined;
        const l: Labels = {};
        for (const k of ["app", "tier", "env"]) if (rand(3) > 0) l[k] = `v${rand(3)}`;
        return l;
      };
      for (let step = 0; step < 2000; step++) {
        const ns = namespaces[rand(2)]!;
        if (rand(4) === 0) {
          const name = `s${rand(8)}`;
          if (rand(5) === 0) c.deleteService(ns, name);
          else c.service(ns, name, labels(), rand(10) === 0 ? "ExternalName" : undefined);
          continue;
        }
        const name = `p${rand(20)}`;
        const before = c.pods.get(`${ns}/${name}`)?.metadata.labels;
        const after = rand(8) === 0 ? null : labels();
        const expected = [...c.services.values()]
          .filter((s) => s.metadata.namespace === ns && selectsPods(s))
          .filter((s) => selectorMatches(s.spec.selector!, before) || (after !== null && selectorMatches(s.spec.selector!, after)))
          .map((s) => s.metadata.name!)
          .sort();
        expect(c.pod(ns, name, after)).toEqual(expected);
      }
      for (const s of c.services.values()) {
        const ns = s.metadata.namespace!;
        const want = [...c.pods.values()]
          .filter((p) => p.metadata.namespace === ns && selectsPods(s) && selectorMatches(s.spec.selector!, p.metadata.labels))
          .map((p) => p.metadata.name!)
          .sort();
        expect(c.selected(ns, s.metadata.name!)).toEqual(want);
      }
    }));
});
