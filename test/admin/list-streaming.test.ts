// Lists over bounded RPC pages (src/admin/list-response.ts): the Worker asks the
// Registry for at most LIST_RPC_PAGE_ITEMS objects per RPC and streams one List.
// The handler runs against the real Registry; a recording stub in front of it
// counts the RPCs and what each asked for.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gone } from "../../src/api/status";
import { parseYaml, toYaml } from "../../src/api/yaml";
import type { List } from "../../src/api/types";
import type { Env } from "../../src/env";
import { handleResource } from "../../src/admin/resource-handler";
import { jsonDocumentWriter, yamlDocumentWriter, type DocumentWriter } from "../../src/admin/list-encoding";
import { configOf, parseConfig } from "../../src/config";
import { objectResponse } from "../../src/admin/respond";
import { listToTable } from "../../src/admin/tables";
import type { ListOptions } from "../../src/registry/list-filter";
import type { ResourceRef, Result } from "../../src/registry/registry";
import type { Caller } from "../../src/registry/authorize";
import { call, freshNamespace, json, pod, registry } from "./client";

const ADMIN: Caller = { kind: "admin" };
const PAGE = 3;
const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
type Page = Result<List>;

/** The handler with a Registry stub that records every list RPC; `fault` answers the n-th (1-based) instead of the Registry. */
function recordingHandler(fault?: (n: number) => Promise<Page | Error | undefined> | Page | Error | undefined) {
  const calls: ListOptions[] = [];
  const answers: Page[] = [];
  const real = registry();
  const stub = {
    async list(caller: Caller, ref: ResourceRef, opts: ListOptions): Promise<Page> {
      calls.push(opts);
      const injected = await fault?.(calls.length);
      if (injected instanceof Error) throw injected;
      const page = injected ?? ((await real.list(caller, ref, opts)) as Page);
      answers.push(page);
      return page;
    },
  };
  const namespace = { idFromName: () => ({}), get: () => stub } as unknown as Env["REGISTRY"];
  const testEnv: Env = { ...(env as Env), REGISTRY: namespace, LIST_RPC_PAGE_ITEMS: String(PAGE) };
  const get = (path: string, accept?: string) => handleResource(new Request(`http://localhost${path}`, { headers: accept ? { accept } : {} }), testEnv, ADMIN);
  return { get, calls, answers };
}

async function podsIn(ns: string, count: number, extra: (i: number) => Parameters<typeof pod>[3] = () => ({})): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `p-${String(i).padStart(2, "0")}`;
    const res = await call("POST", `/api/v1/namespaces/${ns}/pods`, pod(name, { app: "s", parity: i % 2 ? "odd" : "even" }, `198.18.9.${i + 1}`, extra(i)));
    if (res.status !== 201) throw new Error(`${name}: ${res.status} ${await res.text()}`);
    names.push(name);
  }
  return names;
}

/** The body as text, whatever its Content-Type (workerd warns on .text() of application/yaml). */
const bodyText = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

/** Reads a body to its end or its error: what arrived before, and the error's message. */
async function readUntilError(res: Response): Promise<{ text: string; error?: string }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  } catch (e) {
    return { text, error: (e as Error).message };
  }
  return { text };
}

const namesOf = (list: { items: { metadata: { name: string } }[] }) => list.items.map((o) => o.metadata.name);

/** What the handler answered before lists streamed: one RPC for the whole list, rendered by objectResponse. */
async function unstreamed(ns: string, accept: string, table = false): Promise<string> {
  const list = (await registry().list(ADMIN, { group: "", resource: "pods", namespace: ns }, {})) as Page;
  if (!list.ok) throw new Error(list.status.message);
  const req = new Request("http://localhost/", { headers: { accept } });
  return bodyText(objectResponse(req, table ? listToTable("pods", list.value, "Metadata") : list.value));
}

describe("lists over bounded RPC pages", () => {
  it("returns every item of a list past several pages exactly once, in order, at the first page's resourceVersion", async () => {
    const ns = await freshNamespace();
    const names = await podsIn(ns, 10);
    const other = await freshNamespace();
    // A write elsewhere between the first and second page moves the cluster's resourceVersion on.
    let laterRv = 0;
    const h = recordingHandler(async (n) => {
      if (n === 2)
        laterRv = Number((await json(await call("POST", `/api/v1/namespaces/${other}/pods`, pod("elsewhere", {}, "198.18.9.200")))).metadata.resourceVersion);
      return undefined;
    });
    const res = await h.get(`/api/v1/namespaces/${ns}/pods`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const list = await json(res);
    expect(list.kind).toBe("PodList");
    expect(namesOf(list)).toEqual(names);
    expect(list.metadata).toEqual({ resourceVersion: (h.answers[0] as { value: List }).value.metadata.resourceVersion });
    expect(Number(list.metadata.resourceVersion)).toBeLessThan(laterRv);
    // 10 items at 3 a page: four RPCs, none asking for more than the page size.
    expect(h.calls.map((c) => c.limit)).toEqual([PAGE, PAGE, PAGE, PAGE]);
    expect(h.calls[0]!.continue).toBeUndefined();
    for (const [i, c] of h.calls.slice(1).entries()) expect(c.continue).toBe((h.answers[i] as { value: List }).value.metadata.continue);
  });

  it("fetches a page only when the client has read the ones before", async () => {
    const ns = await freshNamespace();
    await podsIn(ns, 12);
    const h = recordingHandler();
    const res = await h.get(`/api/v1/namespaces/${ns}/pods`);
    const reader = res.body!.getReader();
    await reader.read();
    // The first chunk is the first page; at most one more page is fetched to refill the queue, however long the client waits.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.calls.length).toBeLessThanOrEqual(2);
    let rest = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest++;
    expect(rest).toBeGreaterThan(0);
    expect(h.calls).toHaveLength(4);
  });

  it("applies label and field selectors across pages, and a continue token without limit streams the rest", async () => {
    const ns = await freshNamespace();
    const names = await podsIn(ns, 10);
    const h = recordingHandler();
    const even = await json(await h.get(`/api/v1/namespaces/${ns}/pods?labelSelector=parity%3Deven&resourceVersion=0`));
    expect(namesOf(even)).toEqual(names.filter((_, i) => i % 2 === 0));
    expect(h.calls.every((c) => c.labelSelector === "parity=even" && c.limit === PAGE)).toBe(true);
    // The client's resourceVersion goes with the first page only: kube-apiserver refuses one beside a continue token.
    expect(h.calls.map((c) => c.resourceVersion)).toEqual(["0", undefined]);
    const one = await json(await h.get(`/api/v1/namespaces/${ns}/pods?fieldSelector=metadata.name%3Dp-07`));
    expect(namesOf(one)).toEqual(["p-07"]);
    const across = await json(await h.get(`/api/v1/pods?fieldSelector=metadata.namespace%3D${ns}&labelSelector=parity%3Dodd`));
    expect(namesOf(across)).toEqual(names.filter((_, i) => i % 2 === 1));
    const first = await json(await h.get(`/api/v1/namespaces/${ns}/pods?limit=2`));
    const rest = await json(await h.get(`/api/v1/namespaces/${ns}/pods?continue=${encodeURIComponent(first.metadata.continue)}`));
    expect(namesOf(rest)).toEqual(names.slice(2));
    expect(rest.metadata).toEqual({ resourceVersion: first.metadata.resourceVersion });
  });

  it("serves at most a page for a larger limit, with a continue token that kubectl-style chunking follows", async () => {
    const ns = await freshNamespace();
    const names = await podsIn(ns, 8);
    const h = recordingHandler();
    const small = await json(await h.get(`/api/v1/namespaces/${ns}/pods?limit=2`));
    expect(namesOf(small)).toEqual(names.slice(0, 2));
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await json(await h.get(`/api/v1/namespaces/${ns}/pods?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ""}`));
      seen.push(...namesOf(page));
      token = page.metadata.continue ?? "";
      if (token) expect(page.metadata.remainingItemCount).toBe(names.length - seen.length);
      pages++;
    } while (token);
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
    expect(h.calls.map((c) => c.limit)).toEqual([2, PAGE, PAGE, PAGE]);
  });

  it("caps limit through the Worker's fetch handler too (the worker test project sets LIST_RPC_PAGE_ITEMS=3)", async () => {
    expect(configOf(env as Env).listRpcPageItems).toBe(PAGE);
    const ns = await freshNamespace();
    await podsIn(ns, 5);
    const page = await json(await call("GET", `/api/v1/namespaces/${ns}/pods?limit=500`));
    expect(page.items).toHaveLength(PAGE);
    expect(page.metadata.remainingItemCount).toBe(2);
  });

  it("streams YAML and Tables exactly as the unstreamed answer was, foldable and multi-line strings included", async () => {
    const ns = await freshNamespace();
    const annotations = {
      // Folded onto several lines: continuation lines break at a width that counts the list's indentation.
      "example.com/long": "a long annotation value that the YAML writer folds at eighty columns, counting the indentation of the list; ".repeat(3).trim(),
      "example.com/lines": "first line\nsecond line\n  indented third\n",
      "example.com/quoted": "yes",
      "example.com/number": "0123",
      "example.com/colon": "a: b # c",
      "example.com/unicode": "ünïcødé ✓",
      "example.com/empty": "",
    };
    await podsIn(ns, 7, (i) => (i % 3 === 0 ? { annotations } : { nodeName: "n1" }));
    const h = recordingHandler();
    const yaml = await h.get(`/api/v1/namespaces/${ns}/pods`, "application/yaml");
    expect(yaml.headers.get("content-type")).toBe("application/yaml");
    expect(await bodyText(yaml)).toBe(await unstreamed(ns, "application/yaml"));
    expect(await (await h.get(`/api/v1/namespaces/${ns}/pods`)).text()).toBe(await unstreamed(ns, "application/json"));
    const empty = await freshNamespace();
    expect(await bodyText(await h.get(`/api/v1/namespaces/${empty}/pods`, "application/yaml"))).toBe(await unstreamed(empty, "application/yaml"));
    expect(await (await h.get(`/api/v1/namespaces/${empty}/pods`)).text()).toBe(await unstreamed(empty, "application/json"));
    // A Table's Age column is computed at render time: compare with it blanked.
    const blankAge = (text: string) => {
      const t = JSON.parse(text);
      const age = t.columnDefinitions.findIndex((c: { name: string }) => c.name === "Age");
      for (const row of t.rows) row.cells[age] = "";
      return JSON.stringify(t);
    };
    const table = await h.get(`/api/v1/namespaces/${ns}/pods`, TABLE);
    const text = await table.text();
    expect(text.indexOf('"columnDefinitions"')).toBeLessThan(text.indexOf('"rows"'));
    expect(blankAge(text)).toBe(blankAge(await unstreamed(ns, "application/json", true)));
    expect(JSON.parse(text).rows).toHaveLength(7);
    expect(h.calls.every((c) => c.limit === PAGE)).toBe(true);
  });

  it("answers errors before the stream starts with a Status, as before", async () => {
    const ns = await freshNamespace();
    const h = recordingHandler();
    const bad = await h.get(`/api/v1/namespaces/${ns}/pods?labelSelector=a%20in%20(`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).kind).toBe("Status");
    const bad2 = await h.get(`/api/v1/namespaces/${ns}/pods?fieldSelector=spec.bogus%3Dx`);
    expect(bad2.status).toBe(400);
    expect(h.calls).toHaveLength(2);
    expect((await h.get(`/api/v1/namespaces/${ns}/widgets`)).status).toBe(404);
    expect((await call("GET", `/api/v1/namespaces/${ns}/pods`, undefined, { token: "wrong" })).status).toBe(401);
  });

  it("breaks the body, not the list, when a later page fails (410 Expired or a failed RPC): no parser accepts what was sent", async () => {
    const ns = await freshNamespace();
    await podsIn(ns, 7);
    for (const accept of ["application/json", "application/yaml"])
      for (const fault of [gone("The provided continue parameter is too old"), new Error("RPC failed")]) {
        const h = recordingHandler((n) => (n === 2 ? (fault instanceof Error ? fault : { ok: false, status: fault }) : undefined));
        const res = await h.get(`/api/v1/namespaces/${ns}/pods`, accept);
        // The status line went out with the first page.
        expect(res.status).toBe(200);
        const { text, error } = await readUntilError(res);
        expect(error).toMatch(/list aborted after its first page/);
        expect(text).toMatch(/\n\]\]\] list aborted after its first page: ".*(410 Expired|RPC failed).*"\n$/);
        // Cut between items, a YAML list would still parse; the last line keeps it from it.
        expect(() => parseYaml(text)).toThrow();
        expect(() => JSON.parse(text)).toThrow();
        expect(h.calls).toHaveLength(2);
      }
  });

  it("stops on a registry that answers with the continue token it was given", async () => {
    const ns = await freshNamespace();
    await podsIn(ns, 4);
    const h = recordingHandler((n) =>
      n === 2 ? { ok: true, value: { apiVersion: "v1", kind: "PodList", metadata: { continue: h.calls[1]!.continue! }, items: [] } } : undefined,
    );
    await expect((await h.get(`/api/v1/namespaces/${ns}/pods`)).text()).rejects.toThrow(/continue token it was given/);
  });
});

describe("LIST_RPC_PAGE_ITEMS", () => {
  it("is a positive integer, 500 when unset; anything else stops the Worker with a message naming it", () => {
    expect(parseConfig({ LIST_RPC_PAGE_ITEMS: "7" }).listRpcPageItems).toBe(7);
    for (const raw of [undefined, ""]) expect(parseConfig({ LIST_RPC_PAGE_ITEMS: raw }).listRpcPageItems).toBe(500);
    for (const raw of ["0", "-3", "1.5", "1e3", "0x10", " 5", "abc", "99999999999999999999"])
      expect(() => parseConfig({ LIST_RPC_PAGE_ITEMS: raw })).toThrow(/LIST_RPC_PAGE_ITEMS=/);
  });
});

describe("document writers", () => {
  const write = (w: DocumentWriter, elements: unknown[]) => w.start() + elements.map((e) => w.element(e)).join("") + w.end();
  const lists = [
    [],
    [{ a: 1 }],
    [
      { name: "x".repeat(120) },
      { text: "one two three ".repeat(12), lines: "a\n b\n\nc\n", nested: { list: [1, "2", null, { deep: ["y"] }], empty: {}, none: [] } },
    ],
    [{ k: { k: { k: { k: { k: { text: "one two three ".repeat(12) } } } } } }],
    [{ s: "yes" }, { s: "- dash" }, { s: "#hash" }, { s: "" }, { n: -0.5 }, { b: false }, { u: "☃\u2028" }],
  ];

  it("write what JSON.stringify and toYaml write for the whole object", () => {
    for (const items of lists) {
      const head = { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "42" } };
      expect(write(jsonDocumentWriter(head, "items"), items)).toBe(JSON.stringify({ ...head, items }));
      expect(write(yamlDocumentWriter(head, "items"), items)).toBe(toYaml({ ...head, items }));
      expect(write(jsonDocumentWriter({}, "rows"), items)).toBe(JSON.stringify({ rows: items }));
      expect(write(yamlDocumentWriter({}, "rows"), items)).toBe(toYaml({ rows: items }));
    }
  });
});
