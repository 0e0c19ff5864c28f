// The admin API fuzzer (issue 16): seeded hostile-but-plausible requests
// (fuzz-requests.ts) sent through the Worker's real fetch handler. Every answer
// must be below 500 and a Kubernetes object or Status (a 4xx: a Status whose
// code is the HTTP status), and a rejected request must leave the registry as
// it was. All failures are collected and reported together, grouped by cause,
// each with its case number and a one-line repro.
// `npm test`: 3,000 cases; SVCEDGE_SOAK=1 (`npm run soak`): 30,000. To choose:
//   FUZZ_SEED=<n> FUZZ_CASES=<n> npm test -- test/admin/fuzz.test.ts
// (vitest.config.ts passes both to workerd.)
import { exports } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { bySize } from "../soak-size";
import type { RegistryStats } from "../../src/registry/registry";
import { parseYaml } from "../../src/api/yaml";
import { ADMIN_TOKEN, call, registry, settledStats } from "./client";
import { describeRequest, FUZZ_NAMESPACES, fuzzRequest, type FuzzRequest } from "./fuzz-requests";

declare module "vitest" {
  export interface ProvidedContext {
    /** FUZZ_SEED and FUZZ_CASES from the environment vitest ran in ("" when unset). */
    fuzz: { seed: string; cases: string };
  }
}

const DEFAULT_SEED = 0x5eed;
/** About 20 s on a 2-core machine, and about 4 minutes at soak size. */
const DEFAULT_CASES = bySize(3_000, 30_000);
/** A request that has not answered by then is reported as hanging, and the run goes on. */
const CASE_TIMEOUT_MS = 15_000;
/** The test's own time limit grows with the case count (a case takes a few ms). */
const MS_PER_CASE_LIMIT = 40;
/** Repros printed per cause; the count covers them all. */
const REPROS_PER_CAUSE = 3;

const setting = (raw: string | undefined, fallback: number): number => {
  const n = raw ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
};
const seed = setting(inject("fuzz")?.seed, DEFAULT_SEED);
const cases = setting(inject("fuzz")?.cases, DEFAULT_CASES);

interface Failure {
  index: number;
  /** The cause, the same for every case that failed the same way. */
  cause: string;
  request: FuzzRequest;
}

const sameState = (a: RegistryStats, b: RegistryStats): boolean =>
  a.resourceVersion === b.resourceVersion && JSON.stringify(a.objects) === JSON.stringify(b.objects);

async function send(req: FuzzRequest): Promise<Response | "timeout"> {
  const headers = new Headers(req.headers);
  headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
  const request = new Request(`http://localhost${req.path}`, { method: req.method, headers, ...(req.body !== undefined ? { body: req.body } : {}) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), CASE_TIMEOUT_MS)));
  try {
    return await Promise.race([exports.default.fetch(request), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an answer, or undefined. `text` is its whole body. */
function answerProblem(res: Response, text: string): string | undefined {
  if (res.status >= 500) return `answered ${res.status}`;
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  let body: unknown;
  try {
    if (type === "application/json") body = JSON.parse(text);
    else if (type === "application/yaml") body = parseYaml(text);
    else return `${res.status} with content-type ${JSON.stringify(type)}`;
  } catch {
    return `${res.status} with a body that is not ${type}`;
  }
  const kind = (body as { kind?: unknown } | null)?.kind;
  if (typeof kind !== "string" || kind === "") return `${res.status} with a body that is no Kubernetes object (no kind)`;
  if (res.status >= 400) {
    const s = body as { code?: unknown; apiVersion?: unknown };
    if (kind !== "Status") return `${res.status} with a ${kind}, not a Status`;
    if (s.code !== res.status) return `${res.status} with a Status whose code is ${String(s.code)}`;
  }
  return undefined;
}

/** The fuzz namespaces exist and are Active (a case may have deleted one, or set its phase). */
async function ensureNamespaces(): Promise<void> {
  for (const name of FUZZ_NAMESPACES) {
    const got = await call("GET", `/api/v1/namespaces/${name}`);
    if (got.status === 404) {
      const created = await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      if (created.status !== 201) throw new Error(`namespace ${name}: ${created.status} ${await created.text()}`);
      continue;
    }
    const ns = (await got.json()) as { status?: { phase?: string } };
    if (ns.status?.phase === "Active") continue;
    const fixed = await call("PATCH", `/api/v1/namespaces/${name}/status`, { status: { phase: "Active" } }, { contentType: "application/merge-patch+json" });
    if (fixed.status !== 200) throw new Error(`namespace ${name} stays ${ns.status?.phase}: ${fixed.status} ${await fixed.text()}`);
  }
}

/** A write answered 2xx on a namespace itself (delete, status): the fuzz namespaces need checking again. */
const touchesNamespace = (req: FuzzRequest): boolean => req.method !== "GET" && /^\/api\/v1\/namespaces\/[^/?]*(\/(status|finalize))?($|\?)/.test(req.path);

const ownKeyCounts = () => [Object.prototype, Array.prototype, Function.prototype].map((o) => Reflect.ownKeys(o).length).join(",");

function report(failures: Failure[]): string {
  const byCause = new Map<string, Failure[]>();
  for (const f of failures) byCause.set(f.cause, [...(byCause.get(f.cause) ?? []), f]);
  const lines = [
    `${failures.length} of ${cases} fuzzed requests failed in ${byCause.size} ways (seed ${seed}; rerun with FUZZ_SEED=${seed} FUZZ_CASES=${cases})`,
  ];
  for (const [cause, list] of [...byCause].sort((a, b) => b[1].length - a[1].length)) {
    lines.push("", `${cause}: ${list.length} case${list.length === 1 ? "" : "s"}`);
    for (const f of list.slice(0, REPROS_PER_CAUSE)) lines.push(`  #${f.index} ${describeRequest(f.request)}`);
  }
  return lines.join("\n");
}

describe("admin API fuzzer", () => {
  it(`answers ${cases} hostile requests (seed ${seed}) below 500, with a Status for each 4xx, and writes nothing when it rejects`, {
    timeout: 60_000 + cases * MS_PER_CASE_LIMIT,
  }, async () => {
    const failures: Failure[] = [];
    const codes = new Map<number, number>();
    // The Worker logs each 500's error: it names the cause better than the Status does.
    const logged: string[] = [];
    const errorSpy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    const prototypes = ownKeyCounts();
    let checkNamespaces = true;
    try {
      for (let index = 0; index < cases; index++) {
        const req = fuzzRequest(seed, index);
        if (checkNamespaces) await ensureNamespaces();
        checkNamespaces = false;
        const before = await settledStats();
        logged.length = 0;
        const res = await send(req);
        if (res === "timeout") {
          failures.push({ index, cause: `no answer within ${CASE_TIMEOUT_MS} ms`, request: req });
          checkNamespaces = true;
          continue;
        }
        // Decoded here: workerd warns on every .text() of a body whose type does not say text (YAML).
        const text = new TextDecoder().decode(await res.arrayBuffer());
        codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
        const problem = answerProblem(res, text);
        if (problem) {
          const why = logged.find((l) => l.includes("error")) ?? text.slice(0, 160);
          failures.push({ index, cause: `${problem}: ${why.replace(/\d+/g, "N")}`, request: req });
        }
        if (res.status >= 400) {
          const after = await registry().stats();
          if (!sameState(before, after)) {
            failures.push({
              index,
              cause: `rejected (${res.status}) but wrote: resourceVersion ${before.resourceVersion} -> ${after.resourceVersion}`,
              request: req,
            });
            checkNamespaces = true;
          }
        } else if (touchesNamespace(req)) checkNamespaces = true;
        if (ownKeyCounts() !== prototypes) failures.push({ index, cause: "a prototype gained or lost a property", request: req });
      }
    } finally {
      errorSpy.mockRestore();
    }
    console.log(
      `fuzz: seed ${seed}, ${cases} cases; answers ${[...codes]
        .sort((a, b) => a[0] - b[0])
        .map(([c, n]) => `${c}×${n}`)
        .join(" ")}`,
    );
    if (failures.length > 0) expect.fail(report(failures));
  });

  it("makes the same requests from the same seed, and others from another", () => {
    const a = Array.from({ length: 50 }, (_, i) => describeRequest(fuzzRequest(seed, i)));
    expect(Array.from({ length: 50 }, (_, i) => describeRequest(fuzzRequest(seed, i)))).toEqual(a);
    expect(Array.from({ length: 50 }, (_, i) => describeRequest(fuzzRequest(seed + 1, i)))).not.toEqual(a);
  });
});
