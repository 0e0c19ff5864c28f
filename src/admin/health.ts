// /healthz, /livez and /readyz, as kube-apiserver's healthz package serves them: "ok" in
// text/plain, or with `?verbose` one `[+]<check> ok` line per check and "<name> check
// passed"; `/<endpoint>/<check>` runs one check. kube-apiserver lets anyone read them
// (the system:public-info-viewer role), and so does svcedge, on admin hosts only. No
// check calls the registry: an unauthenticated request never reaches the Durable Object.
import type { Env } from "../env";

interface HealthCheck {
  name: string;
  /** An error message, or undefined when healthy. */
  check(env: Env): string | undefined;
}

const PING: HealthCheck = { name: "ping", check: () => undefined };
/** Without an admin token nobody can use the API: the Worker is live but not ready. */
const ADMIN_TOKEN: HealthCheck = { name: "admin-token", check: (env) => (env.ADMIN_TOKEN ? undefined : "ADMIN_TOKEN is not set") };
const REGISTRY_BINDING: HealthCheck = {
  name: "registry-binding",
  check: (env) => (env.REGISTRY ? undefined : "the REGISTRY Durable Object binding is missing"),
};

export const HEALTH_ENDPOINTS: Record<string, HealthCheck[]> = {
  healthz: [PING],
  livez: [PING],
  readyz: [PING, ADMIN_TOKEN, REGISTRY_BINDING],
};

const TEXT = { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" };

/** The answer of `/<endpoint>` (check undefined) or `/<endpoint>/<check>`; undefined for a check that does not exist. */
export function healthResponse(endpoint: string, check: string | undefined, url: URL, env: Env): Response | undefined {
  const checks = HEALTH_ENDPOINTS[endpoint]!;
  if (check !== undefined) {
    const one = checks.find((c) => c.name === check);
    if (!one) return undefined;
    const err = one.check(env);
    return err ? new Response(`internal server error: ${err}\n`, { status: 500, headers: TEXT }) : new Response("ok", { headers: TEXT });
  }
  const excluded = new Set(url.searchParams.getAll("exclude"));
  let lines = "";
  let failed = false;
  for (const c of checks) {
    if (excluded.delete(c.name)) {
      lines += `[+]${c.name} excluded: ok\n`;
      continue;
    }
    const err = c.check(env);
    // kube-apiserver withholds the reason from the caller and logs it.
    if (err) console.error(JSON.stringify({ level: "error", msg: `${endpoint} check failed`, check: c.name, error: err }));
    lines += err ? `[-]${c.name} failed: reason withheld\n` : `[+]${c.name} ok\n`;
    failed ||= Boolean(err);
  }
  if (excluded.size > 0) lines += `warn: some health checks cannot be excluded: no matches for ${[...excluded].map((n) => JSON.stringify(n)).join(",")}\n`;
  if (failed) return new Response(`${lines}${endpoint} check failed\n`, { status: 500, headers: TEXT });
  if (!url.searchParams.has("verbose")) return new Response("ok", { headers: TEXT });
  return new Response(`${lines}${endpoint} check passed\n`, { headers: TEXT });
}
