// Turns the edge part's measured windows into its table: lines, the ratios between them,
// the targets, and the notes a reader needs to trust them (pod headroom, KV reads).
import { DEFAULT_GATEWAY_CONFIG } from "../../src/gateway/config";
import type { Line, PartResult, Ratio, Target } from "../types";
import type { Window } from "./measure";

export type LineKind = "direct" | "floor" | "gateway-one" | "gateway-many" | "nginx" | "floor-relay-on" | "floor-observability-on";

export interface Measured {
  kind: LineKind;
  name: string;
  window: Window;
  /** What the line's proxy was given, for the reader. */
  setup: string;
  /** Pods its requests went to. */
  podsUsed: number;
}

export interface RunFacts {
  tool: string;
  connections: number;
  warmupS: number;
  durationS: number;
  services: number;
  /** Alternating windows of the floor and gateway lines. */
  rounds: number;
  roundWindowS: number;
  roundWarmupS: number;
}

/** The targets. */
const GOAL_THROUGHPUT_VS_FLOOR = 0.9;
const GOAL_P99_VS_FLOOR = 1.25;
const GOAL_SCALE_THROUGHPUT = 0.95;
/** Above this share of the direct line's rate, or of a core in one pod, the pods might have limited a line. */
const POD_HEADROOM_LIMIT = 0.8;

export const count = (n: number): string => Math.round(n).toLocaleString("en-US");
const fixed = (n: number, digits = 2): string => n.toFixed(digits);
const perRequestUs = (cpuS: number | undefined, w: Window): number | undefined =>
  cpuS === undefined || w.load.requests === 0 ? undefined : (cpuS / w.load.requests) * 1e6;
const busiestPodShare = (w: Window): number => Math.max(0, ...w.podCpuS.map((s) => (s ?? 0) / w.load.durationS));
/** "svcedge, 1 Service / 3 endpoints" → "1 Service / 3 endpoints". */
const gatewayLabel = (m: Measured): string => m.name.replace(/^svcedge, /, "");

function lineOf(m: Measured, facts: RunFacts): Line {
  const { load, proxyCpuS, workerCpuS, podCpuS } = m.window;
  const metrics: Record<string, number> = { rps: load.rps, p50_ms: load.p50Ms, p99_ms: load.p99Ms, errors: load.errors + load.non2xx };
  const proxyUs = perRequestUs(proxyCpuS, m.window);
  const workerUs = perRequestUs(workerCpuS, m.window);
  if (proxyUs !== undefined) metrics.proxy_cpu_us_per_req = proxyUs;
  if (workerUs !== undefined) metrics.worker_cpu_us_per_req = workerUs;
  const podShare = podCpuS.map((s) => (s === undefined ? "?" : `${Math.round((s / load.durationS) * 100)}%`)).join("/");
  const detail = [
    m.setup,
    m.window.windows === 1
      ? `${load.tool}, ${facts.connections} connections, ${fixed(load.durationS, 1)} s after ${facts.warmupS} s warm-up`
      : `${load.tool}, ${facts.connections} connections, ${fixed(load.durationS, 1)} s in ${m.window.windows} windows alternated with the other Worker lines, each after a warm-up (${facts.warmupS} s before the first, ${facts.roundWarmupS} s before the others); p50/p99 the mean of the windows'`,
    `${count(load.requests)} requests, ${count(load.errors)} errors, ${count(load.non2xx)} non-2xx${load.capped ? ", request bound reached (rps is a lower bound)" : ""}`,
    proxyCpuS === undefined ? undefined : `proxy CPU ${fixed(proxyCpuS / load.durationS)} cores`,
    `pods' CPU ${podShare} of a core`,
  ];
  return { name: m.name, metrics, detail: detail.filter(Boolean).join("; ") };
}

interface Extra {
  kind: LineKind;
  extra: string;
  what: string;
  /** Which CPU reading shows the extra's cost. */
  cpu: "proxyCpuS" | "workerCpuS";
  cpuOf: string;
  why: string;
}

/** The floor lines with one of wrangler dev's extras on, which every other Worker line runs without. */
const EXTRAS: readonly Extra[] = [
  {
    kind: "floor-relay-on",
    extra: "the DevTools relay",
    what: "wrangler dev's DevTools relay is off on every other Worker line (bench/edge/devtools-relay.ts)",
    cpu: "proxyCpuS",
    cpuOf: "its stack",
    why: "the same tax on every Worker line",
  },
  {
    kind: "floor-observability-on",
    extra: "local observability",
    what: "wrangler dev's local observability collector is off on every other Worker line (bench/registry/local-observability.ts)",
    cpu: "workerCpuS",
    cpuOf: "its Worker's workerd",
    why: "it writes every invocation's events into a SQLite database in the Worker's own workerd, more for a request that does more, and production has nothing like it",
  },
];

/** A floor line with one of wrangler dev's extras on, against the floor: its ratio, and a note of what the extra costs. */
function extraOn(ratios: Ratio[], notes: string[], floor: Window, on: Window, say: Extra): void {
  ratios.push({ name: `floor with / without ${say.extra}, throughput`, value: on.load.rps / floor.load.rps });
  const usOn = perRequestUs(on[say.cpu], on);
  const usOff = perRequestUs(floor[say.cpu], floor);
  const cpu = usOn !== undefined && usOff !== undefined ? `, ${say.cpuOf} spending ${count(usOn)} µs of CPU per request instead of ${count(usOff)}` : "";
  notes.push(`${say.what}: with it on, the floor ran at ${count(on.load.rps)} rps instead of ${count(floor.load.rps)}${cpu}; ${say.why}`);
}

export function summarise(measured: Measured[], facts: RunFacts, notes: string[]): PartResult {
  const find = (kind: LineKind) => measured.find((m) => m.kind === kind);
  const direct = find("direct")?.window;
  const floor = find("floor")?.window;
  const one = find("gateway-one")?.window;
  const many = find("gateway-many")?.window;
  const nginx = find("nginx")?.window;
  const ratios: Ratio[] = [];
  const targets: Target[] = [];
  if (one && floor) {
    const tput = one.load.rps / floor.load.rps;
    const p99 = one.load.p99Ms / floor.load.p99Ms;
    ratios.push({ name: "gateway / floor, throughput", value: tput, goal: { op: ">=", value: GOAL_THROUGHPUT_VS_FLOOR } });
    ratios.push({ name: "gateway / floor, p99", value: p99, goal: { op: "<=", value: GOAL_P99_VS_FLOOR } });
    const cpu = cpuRatio(one, floor);
    if (cpu !== undefined) ratios.push({ name: "gateway / floor, Worker CPU per request", value: cpu });
    const gap = cpuGap(
      one,
      floor,
      "the gateway's own work (routing, and the header rewrite it must do, whose cost is workerd's Headers API; no small fix found: bench/edge/README.md)",
    );
    if (gap) {
      notes.push(
        `CPU per request in the Worker's own workerd: gateway ${count(perRequestUs(one.workerCpuS, one)!)} µs, floor ${count(perRequestUs(floor.workerCpuS, floor)!)} µs; ` +
          `the whole wrangler dev stack: ${count(perRequestUs(one.proxyCpuS, one)!)} and ${count(perRequestUs(floor.proxyCpuS, floor)!)} µs. ` +
          "On top of the floor the gateway validates the Host, looks up the route cache, picks an endpoint, rewrites the headers (X-Forwarded-*, Forwarded, Via), arms a timeout and sends five more headers (bench/edge/README.md has the profile)",
      );
    }
    targets.push(target("gateway throughput", tput, ">=", GOAL_THROUGHPUT_VS_FLOOR, "floor", gap?.verdict));
    targets.push(target("gateway p99", p99, "<=", GOAL_P99_VS_FLOOR, "floor", gap?.verdict));
  }
  if (one && many) {
    const scale = many.load.rps / one.load.rps;
    ratios.push({ name: `${count(facts.services)} Services / 1 Service, throughput`, value: scale, goal: { op: ">=", value: GOAL_SCALE_THROUGHPUT } });
    const cpu = cpuRatio(many, one);
    if (cpu !== undefined) ratios.push({ name: `${count(facts.services)} Services / 1 Service, Worker CPU per request`, value: cpu });
    targets.push(
      target(
        `${count(facts.services)}-Service throughput`,
        scale,
        ">=",
        GOAL_SCALE_THROUGHPUT,
        "1 Service",
        cpuGap(
          many,
          one,
          "the same gateway code runs on both, so this is what the larger state costs per request: under wrangler dev the registry Durable Object's Services share the gateway's isolate and heap (see the RSS note), which production does not; paired runs in bench/edge/README.md found no such gap",
        )?.verdict,
      ),
    );
  }
  const kv = kvReads(measured, notes);
  ratios.push(...kv.ratios);
  if (kv.target) targets.push(kv.target);
  if (nginx && one) ratios.push({ name: "gateway / nginx, throughput", value: one.load.rps / nginx.load.rps });
  for (const say of EXTRAS) {
    const on = find(say.kind)?.window;
    if (on && floor) extraOn(ratios, notes, floor, on, say);
  }
  if (direct) notes.push(podHeadroom(direct, measured));
  for (const m of measured) {
    const { errors, non2xx, requests } = m.window.load;
    if (errors + non2xx > 0)
      notes.push(
        `${m.name}: ${count(errors)} connection errors and ${count(non2xx)} non-2xx answers in ${count(requests)} requests: its figures include failures`,
      );
  }
  notes.push(
    `load: ${facts.tool}, ${facts.connections} connections on every line; ${facts.durationS} s measured on each: in one window after ${facts.warmupS} s of warm-up (direct, nginx, relay on, observability on), ` +
      `or, for the floor and the gateway lines, in ${facts.rounds} windows of ${facts.roundWindowS} s taken in turn (floor, 1 Service, many; then backwards), each after its own warm-up. ` +
      "proxy_cpu_us_per_req: CPU of all the proxy's processes per request (wrangler's Node process, its ProxyWorker workerd and the Worker's workerd; or nginx); " +
      "worker_cpu_us_per_req: the workerd that runs the Worker's own code (and miniflare's entry and outbound Workers around it)",
  );
  return { part: "edge", lines: measured.map((m) => lineOf(m, facts)), ratios, targets, notes };
}

function target(name: string, value: number, op: ">=" | "<=", goal: number, unit: string, whyIfMissed: string | undefined): Target {
  const met = op === ">=" ? value >= goal : value <= goal;
  const t: Target = { name, measured: `${fixed(value)} × ${unit}`, goal: `${op === ">=" ? "≥" : "≤"} ${goal} × ${unit}`, met };
  if (!met) t.note = whyIfMissed ?? "no CPU readings to tell where the time went";
  return t;
}

/** Below this share of the whole stack's CPU per request, a CPU difference cannot explain a throughput gap. */
const NEGLIGIBLE_CPU_SHARE = 0.03;

interface CpuGap {
  /** Extra CPU per request in the Worker's own workerd, µs. */
  gapUs: number;
  /** That, as a share of the whole wrangler dev stack's CPU per request on the reference line. */
  shareOfStack: number;
  /** One line for a missed target's note: whose the time is. */
  verdict: string;
}

/** How two Worker lines' CPU per request differ: in the Worker's own workerd, against the whole wrangler dev stack. */
function cpuGap(a: Window, b: Window, whoseWork: string): CpuGap | undefined {
  const aWorker = perRequestUs(a.workerCpuS, a);
  const bWorker = perRequestUs(b.workerCpuS, b);
  const bStack = perRequestUs(b.proxyCpuS, b);
  if (aWorker === undefined || bWorker === undefined || bStack === undefined || bStack === 0) return undefined;
  const gapUs = aWorker - bWorker;
  const shareOfStack = gapUs / bStack;
  const delta = `Worker CPU ${gapUs >= 0 ? "+" : "−"}${count(Math.abs(gapUs))} µs per request (${fixed(Math.abs(shareOfStack) * 100, 1)}% of the ${count(bStack)} µs stack)`;
  // Same work per request, fewer requests: then the stack simply got less CPU in its window.
  const cores = (w: Window) => (w.proxyCpuS ?? 0) / w.load.durationS;
  const verdict =
    shareOfStack < NEGLIGIBLE_CPU_SHARE
      ? `${delta}: too little to explain the gap; the stack got ${fixed(cores(a))} cores in its windows against ${fixed(cores(b))}, i.e. less CPU, not more work per request`
      : `${delta}: ${whoseWork}; the rest of the stack (ProxyWorker hop, miniflare's entry and outbound Workers, workerd's fetch) is the runtime's`;
  return { gapUs, shareOfStack, verdict };
}

function cpuRatio(a: Window, b: Window): number | undefined {
  const ua = perRequestUs(a.workerCpuS, a);
  const ub = perRequestUs(b.workerCpuS, b);
  return ua === undefined || ub === undefined || ub === 0 ? undefined : ua / ub;
}

/** KV reads per 1,000 requests on each gateway line, from the gateway's own counters over the window. */
function kvReads(measured: Measured[], notes: string[]): { ratios: Ratio[]; target?: Target } {
  const lines = measured.filter((m) => m.window.gateway);
  const ratios: Ratio[] = [];
  for (const m of lines) {
    const g = m.window.gateway!;
    ratios.push({
      name: `KV reads per 1,000 requests, ${gatewayLabel(m)}`,
      value: g.requests > 0 ? (g.kvReads / g.requests) * 1000 : 0,
      goal: { op: "<=", value: 0 },
    });
    // wrk does not count the requests still in flight when it stops; the gateway does.
    if (g.requests < m.window.load.requests)
      notes.push(
        `${m.name}: the gateway counted ${count(g.requests)} requests of the ${count(m.window.load.requests)} sent: more than one isolate served the load, so its KV counter is partial`,
      );
  }
  if (lines.length === 0) return { ratios };
  const many = lines.find((m) => m.kind === "gateway-many");
  if (many) {
    // Beyond one cache period every cached host is read again once per period, whatever its traffic.
    const ttlS = DEFAULT_GATEWAY_CONFIG.routeCacheTtlMs / 1000;
    const hosts = many.window.hostsRotated;
    const perThousand = (hosts / ttlS / many.window.load.rps) * 1000;
    notes.push(
      `KV reads are counted in windows that each end within one route-cache period (${ttlS} s) of their hosts' load. Past it, each cached host is read once per period: ` +
        `${count(hosts)} hosts at this run's ${count(many.window.load.rps)} rps would be ${fixed(perThousand, 1)} reads per 1,000 requests, one per host per ${ttlS} s, none tied to a request`,
    );
  }
  const reads = lines.reduce((a, m) => a + m.window.gateway!.kvReads, 0);
  return {
    ratios,
    target: {
      name: "KV reads on warm isolates",
      measured: lines
        .map((m) => `${count(m.window.gateway!.kvReads)} in ${count(m.window.gateway!.requests)} requests (${gatewayLabel(m).split(" /")[0]})`)
        .join(", "),
      goal: "0 per request",
      met: reads === 0,
      ...(reads === 0
        ? {}
        : {
            note: "every window ends within one route-cache period of its hosts' load, so each read means this isolate had lost cached records (evicted or restarted mid-run)",
          }),
    },
  };
}

/**
 * Says whether the pods could have limited any proxied line: the rate each pod served
 * against what one pod alone served on the direct line, and the pods' own CPU.
 */
function podHeadroom(direct: Window, measured: Measured[]): string {
  const proxied = measured.filter((m) => m.kind !== "direct");
  const shares = proxied.map((m) => ({ name: m.name, perPod: m.window.load.rps / m.podsUsed / direct.load.rps, busiest: busiestPodShare(m.window) }));
  const limited = shares.filter((s) => s.perPod > POD_HEADROOM_LIMIT || s.busiest > POD_HEADROOM_LIMIT);
  const summary = shares.map((s) => `${s.name} ${Math.round(s.perPod * 100)}%`).join(", ");
  const busiest = Math.max(0, ...shares.map((s) => s.busiest));
  const directFacts = `one pod alone (direct) served ${count(direct.load.rps)} rps at ${Math.round(busiestPodShare(direct) * 100)}% of a core`;
  if (limited.length)
    return `pods MAY have limited ${limited.map((s) => s.name).join(", ")}: ${directFacts}; rate per pod as a share of that: ${summary}; busiest pod ${Math.round(busiest * 100)}% of a core`;
  return `pods were not the bottleneck: ${directFacts}; on the proxied lines each pod served at most this share of that rate: ${summary}, and no pod used more than ${Math.round(busiest * 100)}% of a core`;
}
