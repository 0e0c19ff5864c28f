// The Worker's variables (wrangler.toml `[vars]`, `.dev.vars`, `--var`), parsed once per
// isolate into one typed config with the defaults in one place. A variable that is set but
// malformed stops the Worker with a message that names it (ConfigError), instead of turning
// into NaN or being ignored. Secrets (ADMIN_TOKEN, CLUSTER_TOKEN) are not parsed here, and
// no message ever holds their values.
import * as z from "zod/mini";
import { isDNS1123Subdomain } from "./api/apimachinery-validation";
import { hasHostBits, parseCIDR } from "./api/ip";
import { MAX_SERVICE_CIDR_HOST_BITS } from "./api/service-rules";
import type { Env } from "./env";

/** Gateway tunables that variables set; unset ones keep the gateway's defaults (src/gateway/config.ts). */
export interface GatewayOverrides {
  routeCacheTtlMs?: number;
  baseEjectionMs?: number;
  maxEjectionPercent?: number;
  maxRetries?: number;
  defaultTimeoutMs?: number;
  allowLocalOrigins?: boolean;
  trustForwardedFor?: boolean;
  adminHosts?: string[];
}

export interface Config {
  /** The service CIDRs, primary family first: one for a single-stack cluster, two (IPv4 and IPv6) for dual-stack. */
  serviceCIDRs: string[];
  nodePortRange: string;
  lbDomain: string;
  clusterDomain: string;
  /** Lower-case host names that get the admin API. */
  adminHosts: string[];
  nodeLeaseGraceMs: number;
  watchBookmarkIntervalMs: number;
  /** Objects per Registry RPC when the Worker pages a list (src/admin/list-response.ts). */
  listRpcPageItems: number;
  /** Time between KV flushes; only tests go under KV's one write per key per second. */
  kvWriteIntervalMs: number;
  gateway: GatewayOverrides;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A variable's text; wrangler.toml's [vars] can also hold numbers, booleans and objects. */
const text = () => z.string({ error: "must be a string (quoted, in wrangler.toml)" });

/** "" counts as unset: wrangler passes empty variables through. */
const optional = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.transform((v: unknown) => (v === "" ? undefined : v)),
    z.optional(schema),
  );

/** A number of `unit`s (decimal digits, optionally a fraction) in [min, max], scaled by `scale`. */
function amount(unit: string, opts: { min?: number; max?: number; integer?: boolean; scale?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false, scale = 1 } = opts;
  const form = integer ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$/;
  const inRange = z.refine<string>((s) => form.test(s) && Number(s) >= min && Number(s) <= max, {
    message: `must be ${integer ? "a whole number" : "a number"} of ${unit} from ${min} to ${max}`,
  });
  return z.pipe(
    text().check(inRange),
    z.transform((s: string) => Number(s) * scale),
  );
}

const flag = z.pipe(
  z.enum(["true", "false"], { message: 'must be "true" or "false"' }),
  z.transform((s: "true" | "false") => s === "true"),
);

const dnsName = text().check(
  z.refine((s) => isDNS1123Subdomain(s).length === 0, { message: "must be a lower-case DNS name (RFC 1123 subdomain), such as lb.example.com" }),
);

/** Why one service CIDR is unusable, as kube-apiserver's --service-cluster-ip-range checks say it; undefined when it is usable. */
function serviceCIDRProblem(text: string): string | undefined {
  const cidr = parseCIDR(text);
  if (!cidr || hasHostBits(cidr)) return "must be a CIDR with no host bits set, such as 10.96.0.0/12";
  const bits = cidr.ip.bytes.length * 8;
  // IPv4: the allocator's own bounds; IPv6: kube-apiserver's limit on a bitmap range (at most 2^20 addresses).
  const [min, max] = bits === 32 ? [8, 30] : [bits - MAX_SERVICE_CIDR_HOST_BITS, 126];
  if (cidr.prefix < min || cidr.prefix > max) return `${text} is out of range; for ${bits}-bit addresses, the mask must be from /${min} to /${max}`;
  return undefined;
}

/** One CIDR, or two of different families (dual-stack, primary family first), as --service-cluster-ip-range takes. */
const serviceCIDRs = z
  .pipe(
    text(),
    z.transform((s: string) => s.split(",").map((c) => c.trim())),
  )
  .check(
    z.superRefine((cidrs, ctx) => {
      if (cidrs.length > 2) return ctx.addIssue({ code: "custom", message: "must hold one CIDR, or two (one per IP family) separated by a comma" });
      for (const c of cidrs) {
        const problem = serviceCIDRProblem(c);
        if (problem) return ctx.addIssue({ code: "custom", message: problem });
      }
      if (cidrs.length === 2 && parseCIDR(cidrs[0]!)!.ip.bytes.length === parseCIDR(cidrs[1]!)!.ip.bytes.length)
        ctx.addIssue({ code: "custom", message: "must hold CIDRs of different IP families, such as 10.96.0.0/12,fd00:10:96::/108" });
    }),
  );

const portRange = text().check(
  z.refine(
    (s) => {
      const m = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(s);
      return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= Number(m[2]) && Number(m[2]) <= 65535;
    },
    { message: "must be a port range FIRST-LAST within 1-65535, such as 30000-32767" },
  ),
);

const hostList = z.pipe(
  text(),
  z.transform((s: string) =>
    s
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ""),
  ),
);

const schema = z.object({
  SERVICE_CIDR: z._default(optional(serviceCIDRs), ["10.96.0.0/12"]),
  NODE_PORT_RANGE: z._default(optional(portRange), "30000-32767"),
  LB_DOMAIN: z._default(optional(dnsName), "lb.svcedge.local"),
  CLUSTER_DOMAIN: z._default(optional(dnsName), "cluster.local"),
  ADMIN_HOSTS: optional(hostList),
  NODE_LEASE_GRACE_SECONDS: z._default(optional(amount("seconds", { min: 1, scale: 1000 })), 40_000),
  WATCH_BOOKMARK_INTERVAL_SECONDS: z._default(optional(amount("seconds", { min: 0.1, scale: 1000 })), 15_000),
  LIST_RPC_PAGE_ITEMS: z._default(optional(amount("objects", { min: 1, integer: true })), 500),
  KV_WRITE_INTERVAL_MS: z._default(optional(amount("milliseconds", { min: 1, integer: true })), 1000),
  GATEWAY_ROUTE_CACHE_TTL_SECONDS: optional(amount("seconds", { scale: 1000 })),
  GATEWAY_BASE_EJECTION_SECONDS: optional(amount("seconds", { scale: 1000 })),
  GATEWAY_MAX_EJECTION_PERCENT: optional(amount("percent", { max: 100 })),
  GATEWAY_MAX_RETRIES: optional(amount("retries", { integer: true, max: 10 })),
  GATEWAY_DEFAULT_TIMEOUT_SECONDS: optional(amount("seconds", { min: 0.001, scale: 1000 })),
  GATEWAY_ALLOW_LOCAL_ORIGINS: optional(flag),
  GATEWAY_TRUST_X_FORWARDED_FOR: optional(flag),
});

/** Variables as strings: the names of Env that are variables, not bindings or secrets. */
export type ConfigVars = Partial<Record<keyof z.input<typeof schema>, string>>;

const DEFAULT_ADMIN_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/** Parses the variables; throws ConfigError naming every malformed one. */
export function parseConfig(vars: ConfigVars): Config {
  const parsed = schema.safeParse(vars);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `${name}=${JSON.stringify(vars[name as keyof ConfigVars])} ${i.message}`;
    });
    throw new ConfigError(`svcedge: invalid configuration: ${problems.join("; ")}`);
  }
  const v = parsed.data;
  const gateway: GatewayOverrides = {};
  const set = <K extends keyof GatewayOverrides>(key: K, value: GatewayOverrides[K] | undefined) => {
    if (value !== undefined) gateway[key] = value;
  };
  set("routeCacheTtlMs", v.GATEWAY_ROUTE_CACHE_TTL_SECONDS);
  set("baseEjectionMs", v.GATEWAY_BASE_EJECTION_SECONDS);
  set("maxEjectionPercent", v.GATEWAY_MAX_EJECTION_PERCENT);
  set("maxRetries", v.GATEWAY_MAX_RETRIES);
  set("defaultTimeoutMs", v.GATEWAY_DEFAULT_TIMEOUT_SECONDS);
  set("allowLocalOrigins", v.GATEWAY_ALLOW_LOCAL_ORIGINS);
  set("trustForwardedFor", v.GATEWAY_TRUST_X_FORWARDED_FOR);
  set("adminHosts", v.ADMIN_HOSTS);
  return {
    serviceCIDRs: v.SERVICE_CIDR,
    nodePortRange: v.NODE_PORT_RANGE,
    lbDomain: v.LB_DOMAIN,
    clusterDomain: v.CLUSTER_DOMAIN,
    adminHosts: v.ADMIN_HOSTS?.length ? v.ADMIN_HOSTS : DEFAULT_ADMIN_HOSTS,
    nodeLeaseGraceMs: v.NODE_LEASE_GRACE_SECONDS,
    watchBookmarkIntervalMs: v.WATCH_BOOKMARK_INTERVAL_SECONDS,
    listRpcPageItems: v.LIST_RPC_PAGE_ITEMS,
    kvWriteIntervalMs: v.KV_WRITE_INTERVAL_MS,
    gateway,
  };
}

/** The env object is the same for every request of an isolate: it is parsed once. */
const parsed = new WeakMap<object, Config>();

/** The config of `env`, parsed on first use; throws ConfigError when a variable is malformed. */
export function configOf(env: Env | ConfigVars): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env as ConfigVars);
    parsed.set(env, config);
  }
  return config;
}
