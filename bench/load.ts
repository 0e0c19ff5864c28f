// HTTP load at a fixed concurrency, bounded in time and in request count: wrk when it is
// installed (apt), otherwise autocannon. Optionally rotates the Host header over a list of
// names, and runs the load generator inside a network namespace (`wrap`).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasBinary } from "./processes";

export interface LoadOptions {
  url: string;
  /** Host headers to rotate through, one per request; default: the URL's host. */
  hosts?: string[];
  /** Extra request headers. */
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  /** Upper bound on requests sent, whatever the duration: a safety net, set well above what the duration allows. */
  maxRequests: number;
  /** Command prefix for the load generator, e.g. ["ip", "netns", "exec", "client"]. wrk only. */
  wrap?: string[];
}

export interface LoadResult {
  tool: "wrk" | "autocannon";
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection, read, write and timeout errors. */
  errors: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
  /**
   * The request bound was reached before the duration ended. wrk still waits out the
   * duration, so `rps` is then a lower bound: raise `maxRequests` (it is a safety net).
   */
  capped: boolean;
}

export const loadTool = (): "wrk" | "autocannon" => (hasBinary("wrk") ? "wrk" : "autocannon");

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (loadTool() === "wrk") return runWrk(opts);
  if (opts.wrap) throw new Error("load inside a network namespace needs wrk (apt-get install wrk)");
  return runAutocannon(opts);
}

const WRK_THREADS = 2;

function wrkScript(opts: LoadOptions): string {
  const perThread = Math.max(1, Math.ceil(opts.maxRequests / WRK_THREADS));
  const hosts = opts.hosts ?? [];
  const extra = Object.entries(opts.headers ?? {});
  return `
local hosts = { ${hosts.map((h) => JSON.stringify(h)).join(", ")} }
local extra = { ${extra.map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join(", ")} }
local i, count, limit = 0, 0, ${perThread}
for k, v in pairs(extra) do wrk.headers[k] = v end
if #hosts > 0 then
  request = function()
    i = i % #hosts + 1
    wrk.headers["Host"] = hosts[i]
    return wrk.format(nil, nil, wrk.headers)
  end
end
response = function(status, headers, body)
  count = count + 1
  if count >= limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;
}

async function runWrk(opts: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "svcedge-wrk-"));
  try {
    const script = join(dir, "load.lua");
    writeFileSync(script, wrkScript(opts));
    const threads = Math.min(WRK_THREADS, opts.connections);
    const argv = [
      ...(opts.wrap ?? []),
      "wrk",
      "-t",
      String(threads),
      "-c",
      String(opts.connections),
      "-d",
      `${opts.durationS}s`,
      "--timeout",
      "10s",
      "-s",
      script,
      opts.url,
    ];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { timeout: (opts.durationS + 30) * 1000, maxBuffer: 1 << 20 }, (err, out, errOut) => {
        if (err) reject(new Error(`wrk failed: ${(errOut || out || err.message).trim().split("\n")[0]}`));
        else resolve(out);
      });
    });
    const line = stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
    if (!line) throw new Error(`wrk printed no summary: ${stdout.trim().split("\n").slice(-1)[0] ?? ""}`);
    const r = JSON.parse(line.slice("WRKJSON ".length)) as {
      requests: number;
      duration_us: number;
      errors: number;
      non2xx: number;
      p50_us: number;
      p99_us: number;
    };
    const durationS = r.duration_us / 1e6;
    return {
      tool: "wrk",
      requests: r.requests,
      durationS,
      rps: r.requests / durationS,
      p50Ms: r.p50_us / 1000,
      p99Ms: r.p99_us / 1000,
      errors: r.errors,
      non2xx: r.non2xx,
      capped: r.requests >= opts.maxRequests,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

async function runAutocannon(opts: LoadOptions): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)("autocannon") as (o: object) => Promise<AutocannonResult>;
  const hosts = opts.hosts ?? [];
  let i = 0;
  const r = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationS,
    amount: opts.maxRequests,
    headers: opts.headers ?? {},
    requests: hosts.length
      ? [{ setupRequest: (req: { headers?: Record<string, string> }) => ({ ...req, headers: { ...req.headers, host: hosts[i++ % hosts.length]! } }) }]
      : undefined,
  });
  const durationS = r.duration;
  return {
    tool: "autocannon",
    requests: r.requests.total,
    durationS,
    rps: r.requests.total / durationS,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    capped: r.requests.total >= opts.maxRequests,
  };
}
