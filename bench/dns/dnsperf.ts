// Runs dnsperf (DNS-OARC) against one server and reads its report: queries per second,
// lost queries and response codes; with -v, every query's latency for p50/p99.
import { spawnCommand } from "../../src/agent/proxy/command";
import { quantile } from "../registry/bounded-writes";

export interface DnsperfRun {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  /** Responses by rcode, e.g. { NOERROR: 140000 }. */
  rcodes: Record<string, number>;
  /** Per-query latencies in ms (only with `latency`). */
  latenciesMs: number[];
}

export interface DnsperfOptions {
  port: number;
  queryFile: string;
  durationS: number;
  /** Queries outstanding at once (dnsperf -q). */
  outstanding: number;
  /** Fixed offered load (dnsperf -Q) and per-query latencies (-v); throughput mode when undefined. */
  latencyAtQps?: number;
  /** CPUs dnsperf may use (taskset list), so that it does not share the server's. */
  cpus?: string;
}

export async function runDnsperf(o: DnsperfOptions): Promise<DnsperfRun> {
  const args = ["dnsperf", "-s", "127.0.0.1", "-p", String(o.port), "-d", o.queryFile, "-l", String(o.durationS), "-q", String(o.outstanding), "-t", "2"];
  if (o.latencyAtQps !== undefined) args.push("-Q", String(Math.round(o.latencyAtQps)), "-v");
  const argv = o.cpus ? ["taskset", "-c", o.cpus, ...args] : args;
  const r = await spawnCommand(argv);
  if (r.code !== 0) throw new Error(`dnsperf exited ${r.code}: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`);
  const out = r.stdout;
  const num = (label: string): number => Number(new RegExp(`${label}:\\s+([0-9.]+)`).exec(out)?.[1] ?? NaN);
  const rcodes: Record<string, number> = {};
  const codes = /Response codes:\s+(.*)/.exec(out)?.[1] ?? "";
  for (const m of codes.matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]!] = Number(m[2]);
  const latenciesMs: number[] = [];
  if (o.latencyAtQps !== undefined) for (const m of out.matchAll(/^> \S+ \S+ \S+ ([0-9.]+)$/gm)) latenciesMs.push(Number(m[1]) * 1000);
  return { qps: num("Queries per second"), sent: num("Queries sent"), completed: num("Queries completed"), lost: num("Queries lost"), rcodes, latenciesMs };
}

export const p50 = (r: DnsperfRun): number => quantile(r.latenciesMs, 0.5);
export const p99 = (r: DnsperfRun): number => quantile(r.latenciesMs, 0.99);

/** Anything but NOERROR answers to every query sent. */
export function errorsOf(r: DnsperfRun): number {
  const bad = Object.entries(r.rcodes).reduce((n, [code, count]) => n + (code === "NOERROR" ? 0 : count), 0);
  return bad + r.lost;
}
