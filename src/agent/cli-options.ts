// Command-line and environment options of the agent. Flags win over environment
// variables; every flag has one. Parsing is pure: it returns the options or throws an
// OptionError whose message main() prints as a single line.
import { isIP } from "node:net";
import { DEFAULT_DNS_TTL_SECONDS, DEFAULT_DNS_ZONE, MAX_DNS_TTL_SECONDS } from "./dns/defaults";
import { parseHostPort, type HostPort } from "./dns/resolv-conf";
import { isDNS1123Label, isDNS1123Subdomain } from "../api/apimachinery-validation";
import { hasHostBits, parseCIDR } from "../api/ip";
import { NODEPORT_ADDRESSES_PRIMARY, nodePortAddressesError } from "./proxy/nodeport-addresses";

export type Backend = "nftables" | "iptables" | "userspace";
export const BACKENDS: readonly Backend[] = ["nftables", "iptables", "userspace"];

export interface AgentOptions {
  api: string;
  token: string;
  node: string;
  backend: Backend;
  podManifests?: string;
  nodeIPs: string[];
  clusterCIDRs: string[];
  /** Ranges ClusterIPs come from (the API's SERVICE_CIDR); nftables drops traffic to unallocated ones. */
  serviceCIDRs: string[];
  /** kube-proxy --masquerade-all: SNAT every connection to a ClusterIP. */
  masqueradeAll: boolean;
  /**
   * --nodeport-addresses: CIDRs, or ["primary"]; [] means every local address. Defaults as
   * kube-proxy's: ["primary"] for nftables, [] for the other backends.
   */
  nodePortAddresses: string[];
  /** 0 disables the metrics server. */
  metricsPort: number;
  metricsAddress: string;
  leaseDurationSeconds: number;
  logLevel: "debug" | "info" | "warn" | "error";
  dryRun: boolean;
  cleanup: boolean;
  help: boolean;
  /** Where cluster DNS listens; off when unset. */
  dnsAddr?: HostPort;
  /** Upstream resolvers; empty means the nameservers of /etc/resolv.conf. */
  dnsUpstreams: HostPort[];
  dnsTTLSeconds: number;
  /** Lowercase, without a trailing dot. */
  dnsZone: string;
  /** Print a pod's resolv.conf for this namespace and exit. */
  printResolvConf?: string;
  /** Where the proxier's /healthz and /livez listen; off when unset. */
  healthzBindAddress?: HostPort;
  /** PEM file of certificate authorities to trust for the API, besides the system's. */
  caFile?: string;
}

export class OptionError extends Error {}

type Kind = "string" | "list" | "bool";
interface Spec {
  flag: string;
  env: string;
  kind: Kind;
  key: keyof AgentOptions;
  help: string;
}

/** kube-proxy's default --healthz-bind-address. */
export const DEFAULT_HEALTHZ_BIND_ADDRESS = "0.0.0.0:10256";

/** kubelet's default nodeLeaseDurationSeconds. */
export const DEFAULT_LEASE_DURATION_SECONDS = 40;

export const OPTION_SPECS: Spec[] = [
  { flag: "api", env: "SVCEDGE_API", kind: "string", key: "api", help: "URL of the svcedge API (required)" },
  { flag: "token", env: "SVCEDGE_TOKEN", kind: "string", key: "token", help: "node token (required; prefer the variable or --token-file)" },
  { flag: "token-file", env: "SVCEDGE_TOKEN_FILE", kind: "string", key: "token", help: "file holding the node token" },
  {
    flag: "ca-file",
    env: "SVCEDGE_CA_FILE",
    kind: "string",
    key: "caFile",
    help: "PEM file of certificate authorities to trust for an https --api, besides the system's",
  },
  { flag: "node", env: "SVCEDGE_NODE", kind: "string", key: "node", help: "this node's name (default: the host name)" },
  { flag: "backend", env: "SVCEDGE_BACKEND", kind: "string", key: "backend", help: "nftables | iptables | userspace (default nftables)" },
  { flag: "pod-manifests", env: "SVCEDGE_POD_MANIFESTS", kind: "string", key: "podManifests", help: "folder of Pod YAML files to register for this node" },
  {
    flag: "node-ip",
    env: "SVCEDGE_NODE_IPS",
    kind: "list",
    key: "nodeIPs",
    help: "node address, repeatable; one of each family makes the node dual-stack (variable: comma-separated; default: every non-loopback IPv4 address)",
  },
  {
    flag: "cluster-cidr",
    env: "SVCEDGE_CLUSTER_CIDRS",
    kind: "list",
    key: "clusterCIDRs",
    help: "pod address range (IPv4 or IPv6), repeatable; traffic from elsewhere to a ClusterIP is masqueraded",
  },
  {
    flag: "service-cidr",
    env: "SVCEDGE_SERVICE_CIDRS",
    kind: "list",
    key: "serviceCIDRs",
    help: "range ClusterIPs are allocated from (the API's SERVICE_CIDR), repeatable; nftables drops traffic to unallocated ClusterIPs in it",
  },
  {
    flag: "masquerade-all",
    env: "SVCEDGE_MASQUERADE_ALL",
    kind: "bool",
    key: "masqueradeAll",
    help: "SNAT all traffic sent to Service cluster IPs, as kube-proxy --masquerade-all (kernel backends)",
  },
  {
    flag: "nodeport-addresses",
    env: "SVCEDGE_NODEPORT_ADDRESSES",
    kind: "list",
    key: "nodePortAddresses",
    help: "CIDRs of the node addresses NodePorts answer on, or 'primary' (default: primary for nftables, every local address otherwise)",
  },
  { flag: "metrics-port", env: "SVCEDGE_METRICS_PORT", kind: "string", key: "metricsPort", help: "serve /metrics on this port (default 0: off)" },
  { flag: "metrics-address", env: "SVCEDGE_METRICS_ADDRESS", kind: "string", key: "metricsAddress", help: "address of the metrics server (default 127.0.0.1)" },
  {
    flag: "lease-duration",
    env: "SVCEDGE_LEASE_DURATION_SECONDS",
    kind: "string",
    key: "leaseDurationSeconds",
    help: `node lease duration in seconds, renewed every quarter of it (default ${DEFAULT_LEASE_DURATION_SECONDS})`,
  },
  {
    flag: "healthz-bind-address",
    env: "SVCEDGE_HEALTHZ_BIND_ADDRESS",
    kind: "string",
    key: "healthzBindAddress",
    help: `serve kube-proxy's /healthz and /livez on this address:port (default ${DEFAULT_HEALTHZ_BIND_ADDRESS}; empty: off)`,
  },
  { flag: "log-level", env: "SVCEDGE_LOG_LEVEL", kind: "string", key: "logLevel", help: "debug | info | warn | error (default info)" },
  {
    flag: "dns-addr",
    env: "SVCEDGE_DNS_ADDR",
    kind: "string",
    key: "dnsAddr",
    help: "serve cluster DNS on this address[:port] (port 53 unless given; default: off)",
  },
  {
    flag: "dns-upstream",
    env: "SVCEDGE_DNS_UPSTREAMS",
    kind: "list",
    key: "dnsUpstreams",
    help: "resolver for other names, address[:port], repeatable (default: the nameservers of /etc/resolv.conf)",
  },
  {
    flag: "dns-ttl",
    env: "SVCEDGE_DNS_TTL",
    kind: "string",
    key: "dnsTTLSeconds",
    help: `TTL in seconds of cluster answers, positive and negative (default ${DEFAULT_DNS_TTL_SECONDS})`,
  },
  { flag: "dns-zone", env: "SVCEDGE_DNS_ZONE", kind: "string", key: "dnsZone", help: `cluster domain (default ${DEFAULT_DNS_ZONE})` },
  {
    flag: "print-resolv-conf",
    env: "SVCEDGE_PRINT_RESOLV_CONF",
    kind: "string",
    key: "printResolvConf",
    help: "print the resolv.conf of a pod in this namespace (needs --dns-addr) and exit",
  },
  { flag: "dry-run", env: "SVCEDGE_DRY_RUN", kind: "bool", key: "dryRun", help: "print the ruleset it would apply and exit; applies nothing" },
  { flag: "cleanup", env: "SVCEDGE_CLEANUP", kind: "bool", key: "cleanup", help: "remove every rule and chain the agent owns and exit" },
  { flag: "help", env: "", kind: "bool", key: "help", help: "print this help" },
];

export function usage(): string {
  const lines = OPTION_SPECS.map((s) => `  --${s.flag.padEnd(16)} ${s.env ? `[${s.env}] ` : ""}${s.help}`);
  return `usage: npm run agent -- --api <url> --token <node token> --node <name> [options]\n${lines.join("\n")}\n`;
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off", ""]);
/** As the API validates Node names (RFC 1123 subdomain) and namespace names (RFC 1123 label). */
const isSubdomain = (s: string): boolean => isDNS1123Subdomain(s).length === 0;
const isLabel = (s: string): boolean => isDNS1123Label(s).length === 0;

interface Raw {
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  bools: Map<string, boolean>;
}

function parseBool(text: string, what: string): boolean {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  throw new OptionError(`invalid boolean for ${what}: ${JSON.stringify(text)}`);
}

function readArgs(argv: string[]): Raw {
  const raw: Raw = { strings: new Map(), lists: new Map(), bools: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") {
      raw.bools.set("help", true);
      continue;
    }
    if (!arg.startsWith("--")) throw new OptionError(`unexpected argument: ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = OPTION_SPECS.find((s) => s.flag === name);
    if (!spec) throw new OptionError(`unknown flag: --${name}`);
    if (spec.kind === "bool") {
      raw.bools.set(name, eq < 0 ? true : parseBool(arg.slice(eq + 1), `--${name}`));
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new OptionError(`flag needs a value: --${name}`);
      value = next;
      i++;
    }
    if (spec.kind === "list") raw.lists.set(name, [...(raw.lists.get(name) ?? []), value]);
    else raw.strings.set(name, value);
  }
  return raw;
}

function positiveInteger(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new OptionError(`invalid ${what}: ${JSON.stringify(text)} (must be an integer from ${min} to ${max})`);
  return n;
}

function validCIDR(text: string): boolean {
  const [ip, bits, ...rest] = text.split("/");
  if (rest.length || ip === undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Options from argv (without node and script) and the environment. `readFile` reads
 * --token-file; `hostname` is the default node name.
 */
export function parseOptions(
  argv: string[],
  env: Record<string, string | undefined>,
  io: { readFile(path: string): string; hostname(): string },
): AgentOptions {
  const raw = readArgs(argv);
  const str = (flag: string): string | undefined => {
    if (raw.strings.has(flag)) return raw.strings.get(flag);
    const spec = OPTION_SPECS.find((s) => s.flag === flag)!;
    const v = env[spec.env];
    return v === undefined || v === "" ? undefined : v;
  };
  const list = (flag: string): string[] => {
    if (raw.lists.has(flag))
      return raw.lists
        .get(flag)!
        .flatMap((v) => v.split(","))
        .map((v) => v.trim())
        .filter(Boolean);
    const spec = OPTION_SPECS.find((s) => s.flag === flag)!;
    return (env[spec.env] ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean);
  };
  const bool = (flag: string): boolean => {
    if (raw.bools.has(flag)) return raw.bools.get(flag)!;
    const spec = OPTION_SPECS.find((s) => s.flag === flag)!;
    const v = spec.env ? env[spec.env] : undefined;
    return v === undefined ? false : parseBool(v, spec.env);
  };

  const help = bool("help");
  const cleanup = bool("cleanup");
  const dryRun = bool("dry-run");
  const backend = str("backend") ?? "nftables";
  if (!BACKENDS.includes(backend as Backend)) throw new OptionError(`invalid --backend: ${JSON.stringify(backend)} (must be one of ${BACKENDS.join(", ")})`);
  const logLevel = str("log-level") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new OptionError(`invalid --log-level: ${JSON.stringify(logLevel)} (must be one of ${LOG_LEVELS.join(", ")})`);

  let token = str("token");
  const tokenFile = str("token-file");
  if (token === undefined && tokenFile !== undefined) {
    try {
      token = io.readFile(tokenFile).trim();
    } catch (e) {
      throw new OptionError(`cannot read --token-file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }

  const dnsAddrText = str("dns-addr");
  const dnsAddr = dnsAddrText === undefined ? undefined : parseHostPort(dnsAddrText);
  if (dnsAddrText !== undefined && !dnsAddr)
    throw new OptionError(`invalid --dns-addr: ${JSON.stringify(dnsAddrText)} (must be an IP address, optionally with :port)`);
  const dnsUpstreams: HostPort[] = [];
  for (const text of list("dns-upstream")) {
    const hp = parseHostPort(text);
    if (!hp) throw new OptionError(`invalid --dns-upstream: ${JSON.stringify(text)} (must be an IP address, optionally with :port)`);
    dnsUpstreams.push(hp);
  }
  const dnsTTLText = str("dns-ttl");
  const dnsTTLSeconds = dnsTTLText === undefined ? DEFAULT_DNS_TTL_SECONDS : positiveInteger(dnsTTLText, "--dns-ttl", 0, MAX_DNS_TTL_SECONDS);
  const dnsZone = (str("dns-zone") ?? DEFAULT_DNS_ZONE).toLowerCase().replace(/\.$/, "");
  if (!isSubdomain(dnsZone)) throw new OptionError(`invalid --dns-zone: ${JSON.stringify(dnsZone)} (must be a DNS subdomain)`);
  const printResolvConf = str("print-resolv-conf");
  if (printResolvConf !== undefined) {
    if (!isLabel(printResolvConf)) throw new OptionError(`invalid --print-resolv-conf: ${JSON.stringify(printResolvConf)} (must be a namespace name)`);
    if (!dnsAddr) throw new OptionError("--print-resolv-conf needs --dns-addr (the address pods reach cluster DNS on)");
  }

  const api = str("api") ?? "";
  // --cleanup works on the node alone (the API may be gone); --help and --print-resolv-conf need nothing.
  const needsApi = !help && !cleanup && printResolvConf === undefined;
  if (needsApi) {
    if (!api) throw new OptionError("missing --api (or SVCEDGE_API)");
    let url: URL;
    try {
      url = new URL(api);
    } catch {
      throw new OptionError(`invalid --api: ${JSON.stringify(api)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new OptionError(`invalid --api: ${JSON.stringify(api)} (must be http:// or https://)`);
    if (!token) throw new OptionError("missing --token (or SVCEDGE_TOKEN, --token-file)");
  }

  const node = (str("node") ?? io.hostname()).toLowerCase();
  if (needsApi && !isSubdomain(node)) throw new OptionError(`invalid --node: ${JSON.stringify(node)} (must be a lowercase RFC 1123 subdomain)`);

  const nodeIPs = list("node-ip");
  for (const ip of nodeIPs) if (isIP(ip) === 0) throw new OptionError(`invalid --node-ip: ${JSON.stringify(ip)} is not an IP address`);
  const clusterCIDRs = list("cluster-cidr");
  for (const cidr of clusterCIDRs) if (!validCIDR(cidr)) throw new OptionError(`invalid --cluster-cidr: ${JSON.stringify(cidr)} is not a CIDR`);
  const serviceCIDRs = list("service-cidr");
  for (const cidr of serviceCIDRs) {
    const parsed = parseCIDR(cidr);
    if (!parsed || hasHostBits(parsed))
      throw new OptionError(`invalid --service-cidr: ${JSON.stringify(cidr)} (must be a CIDR with no host bits set, such as 10.96.0.0/12)`);
  }
  const masqueradeAll = bool("masquerade-all");
  const nodePortAddressList = list("nodeport-addresses");
  const nodePortAddressesInvalid = nodePortAddressesError(nodePortAddressList);
  if (nodePortAddressesInvalid) throw new OptionError(`invalid --nodeport-addresses: ${nodePortAddressesInvalid}`);
  // kube-proxy's platformApplyDefaults: nftables mode serves NodePorts on the primary address only.
  const nodePortAddresses = nodePortAddressList.length || backend !== "nftables" ? nodePortAddressList : [NODEPORT_ADDRESSES_PRIMARY];

  const metricsPortText = str("metrics-port");
  const metricsPort = metricsPortText === undefined ? 0 : positiveInteger(metricsPortText, "--metrics-port", 0, 65535);
  const metricsAddress = str("metrics-address") ?? "127.0.0.1";
  if (isIP(metricsAddress) === 0) throw new OptionError(`invalid --metrics-address: ${JSON.stringify(metricsAddress)} is not an IP address`);
  // An explicit empty flag turns it off; an empty variable means the default.
  const healthzText = raw.strings.has("healthz-bind-address")
    ? raw.strings.get("healthz-bind-address")!
    : (str("healthz-bind-address") ?? DEFAULT_HEALTHZ_BIND_ADDRESS);
  const healthzBindAddress = healthzText === "" ? undefined : parseHostPort(healthzText, 0);
  if (healthzText !== "" && (!healthzBindAddress || healthzBindAddress.port === 0))
    throw new OptionError(
      `invalid --healthz-bind-address: ${JSON.stringify(healthzText)} (must be an IP address and port, e.g. ${DEFAULT_HEALTHZ_BIND_ADDRESS})`,
    );
  const leaseText = str("lease-duration");
  // Renewals every quarter of the duration must be at least a second apart.
  const leaseDurationSeconds = leaseText === undefined ? DEFAULT_LEASE_DURATION_SECONDS : positiveInteger(leaseText, "--lease-duration", 4, 3600);

  const out: AgentOptions = {
    api: api.replace(/\/+$/, ""),
    token: token ?? "",
    node,
    backend: backend as Backend,
    nodeIPs,
    clusterCIDRs,
    serviceCIDRs,
    masqueradeAll,
    nodePortAddresses,
    metricsPort,
    metricsAddress,
    leaseDurationSeconds,
    logLevel: logLevel as AgentOptions["logLevel"],
    dryRun,
    cleanup,
    help,
    dnsUpstreams,
    dnsTTLSeconds,
    dnsZone,
  };
  if (dnsAddr) out.dnsAddr = dnsAddr;
  if (printResolvConf !== undefined) out.printResolvConf = printResolvConf;
  if (healthzBindAddress) out.healthzBindAddress = healthzBindAddress;
  const caFile = str("ca-file");
  if (caFile !== undefined) out.caFile = caFile;
  const manifests = str("pod-manifests");
  if (manifests !== undefined) out.podManifests = manifests;
  return out;
}
