// svcedge node agent: `npm run agent -- --api <url> --token <node token> --node <name>`.
// Every failure the operator can cause (bad flags, an unreachable API, a refused token)
// ends in one line on stderr and a non-zero exit, never a stack trace.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import tls from "node:tls";
import type { EndpointSlice, Service } from "../api/types";
import { Agent, endpointSlicesPath, detectNodeIPs, servicesPath } from "./agent";
import { ApiClient, ApiError, ApiUnreachable } from "./api-client";
import { cleanupAll, nodeFamilies, renderDryRun } from "./backends";
import { OptionError, parseOptions, usage, type AgentOptions } from "./cli-options";
import { podResolvConf } from "./dns/resolv-conf";
import { createLogger, type Logger } from "./log";
import { buildProxyState } from "./proxy/state";

/** Exit codes: 2 for usage errors, as most CLIs; 1 for everything else. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;
/** How long a stopping agent may take before it exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const fail = (message: string, code = EXIT_FAILURE): number => {
  process.stderr.write(`svcedge-agent: ${message.split("\n")[0]}\n`);
  return code;
};

/** The API answers and accepts the token: list Services once (every node token may). */
async function preflight(client: ApiClient): Promise<void> {
  await client.list<Service>(`${servicesPath}?limit=1`);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Trusts the certificates of --ca-file for every TLS connection of this process (the API's
 * fetch among them), besides the system's and NODE_EXTRA_CA_CERTS'. Returns an error message.
 */
function trustCAFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return `cannot read --ca-file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  const certs = text.match(PEM_CERTIFICATE);
  if (!certs) return `--ca-file ${path} holds no PEM certificate`;
  // Node 22.19 and later; older ones take the file through NODE_EXTRA_CA_CERTS.
  if (typeof tls.setDefaultCACertificates !== "function") return `--ca-file needs Node 22.19 or newer; set NODE_EXTRA_CA_CERTS=${path} instead`;
  try {
    tls.setDefaultCACertificates([...tls.getCACertificates("default"), ...certs]);
  } catch (e) {
    return `--ca-file ${path}: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

/** TLS verification failures, as Node names them (DEPTH_ZERO_SELF_SIGNED_CERT, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...). */
const UNTRUSTED_CERTIFICATE = /SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|CERT_/;

function describeError(e: unknown): string {
  if (e instanceof ApiUnreachable)
    return UNTRUSTED_CERTIFICATE.test(e.message) ? `${e.message} (trust the API's certificate with --ca-file or NODE_EXTRA_CA_CERTS)` : e.message;
  if (e instanceof ApiError) {
    if (e.code === 401) return "the API refused the token (401 Unauthorized)";
    return `the API refused a request: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

async function dryRun(client: ApiClient, options: AgentOptions): Promise<void> {
  const [services, slices] = await Promise.all([client.list<Service>(servicesPath), client.list<EndpointSlice>(endpointSlicesPath)]);
  const nodeIPs = options.nodeIPs.length ? options.nodeIPs : detectNodeIPs();
  // One text per IP family the node serves; the IPv6 one (ip6 table, ip6tables-restore input) after a comment line.
  for (const family of nodeFamilies(nodeIPs)) {
    const state = buildProxyState({ services: services.items, slices: slices.items, nodeName: options.node, nodeIPs, family });
    if (family === "IPv6") process.stdout.write(`# IPv6\n`);
    process.stdout.write(
      renderDryRun(
        options.backend,
        state,
        {
          clusterCIDRs: options.clusterCIDRs,
          serviceCIDRs: options.serviceCIDRs,
          masqueradeAll: options.masqueradeAll,
          nodeIPs,
          nodePortAddresses: options.nodePortAddresses,
        },
        family,
      ),
    );
  }
}

async function run(client: ApiClient, options: AgentOptions, log: Logger): Promise<number> {
  const agent = new Agent({ client, options, log });
  await agent.start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("stopping", { signal });
      const timer = setTimeout(() => resolve(EXIT_FAILURE), SHUTDOWN_TIMEOUT_MS);
      agent.stop().then(() => {
        clearTimeout(timer);
        resolve(0);
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let options: AgentOptions;
  try {
    options = parseOptions(argv, env, { readFile: (p) => readFileSync(p, "utf8"), hostname });
  } catch (e) {
    if (e instanceof OptionError) return fail(`${e.message} (see --help)`, EXIT_USAGE);
    throw e;
  }
  if (options.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (options.printResolvConf !== undefined && options.dnsAddr) {
    process.stdout.write(podResolvConf(options.printResolvConf, options.dnsZone, options.dnsAddr));
    return 0;
  }
  const log = createLogger({ level: options.logLevel, secrets: [options.token] }, { node: options.node });
  process.on("uncaughtException", (e) => {
    log.error("fatal", { error: e });
    process.exit(EXIT_FAILURE);
  });
  process.on("unhandledRejection", (e) => {
    log.error("fatal", { error: e });
    process.exit(EXIT_FAILURE);
  });
  if (options.cleanup) {
    const r = await cleanupAll();
    if (!r.ok) return fail(`cleanup failed: ${r.error}`);
    log.info("cleaned up");
    return 0;
  }
  if (options.caFile) {
    const error = trustCAFile(options.caFile);
    if (error) return fail(error);
  }
  const client = new ApiClient({ baseUrl: options.api, token: options.token, userAgent: `svcedge-agent/${options.node}` });
  try {
    await preflight(client);
    if (options.dryRun) {
      await dryRun(client, options);
      return 0;
    }
    return await run(client, options, log);
  } catch (e) {
    return fail(describeError(e).replace(options.token, "[REDACTED]"));
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`svcedge-agent: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
