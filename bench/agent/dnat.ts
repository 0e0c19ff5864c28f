// The DNAT data path in a lab of three namespaces:
//   client (198.18.201.2) -- (198.18.201.1) node (198.18.202.1) -- (198.18.202.2) pod
// The node routes between the two and holds the rules of one ClusterIP Service
// (198.18.210.10:80 -> the pod's 8080), programmed by the agent's real proxier. wrk in the
// client loads the ClusterIP and the pod directly, in alternating rounds of the same
// concurrency and duration, so both paths cross the same router with the same rules loaded.
import type { EndpointSlice, Service } from "../../src/api/types";
import { SERVICE_NAME_LABEL } from "../../src/api/types";
import { buildProxyState } from "../../src/agent/proxy/state";
import type { Proxier } from "../../src/agent/proxy/proxier";
import { NftablesProxier } from "../../src/agent/proxy/nftables/apply";
import { IptablesProxier } from "../../src/agent/proxy/iptables/apply";
import { NetnsLab } from "../../scripts/lab/netns";
import { runLoad, type LoadResult } from "../load";
import { NODE_BIN, startPod, type Pod } from "../pods";
import type { KernelBackend } from "./scale";
import { BENCH_NETNS_PREFIX } from "./netns";
import { median } from "./median";

const CLIENT_IP = "198.18.201.2";
const NODE_CLIENT_SIDE_IP = "198.18.201.1";
const NODE_POD_SIDE_IP = "198.18.202.1";
const POD_IP = "198.18.202.2";
const POD_PORT = 8080;
const CLUSTER_IP = "198.18.210.10";
const SERVICE_PORT = 80;
/**
 * Both subnets are "the cluster": client -> ClusterIP is then a pod -> Service flow, DNAT
 * without masquerade (an off-cluster client would also be SNATed).
 */
const CLUSTER_CIDRS = ["198.18.201.0/24", "198.18.202.0/24"];
/** An uncounted load before the rounds. */
const WARM_UP_S = 1;
/** How long the one-request check of each path may take. */
const CHECK_TIMEOUT_MS = 3_000;

export interface DnatOptions {
  backends: KernelBackend[];
  connections: number;
  /** Each path's load in one pair. */
  durationS: number;
  /**
   * Pairs of loads (one per path, back to back, the first path alternating) per backend. On
   * a shared machine single loads swing by tens of percent; the claim is the median of the
   * pairs' own ratios, each taken over a few seconds in which the machine changed little.
   */
  pairs: number;
  log?: (msg: string) => void;
}

/** A path's figures: each the median over the rounds, except errors (summed) and capped (any). */
export type PathFigures = Pick<LoadResult, "rps" | "p50Ms" | "p99Ms" | "errors" | "non2xx" | "capped">;

export interface DnatResult {
  backend: KernelBackend;
  direct: PathFigures;
  clusterIP: PathFigures;
  /** ClusterIP ÷ direct, the median of the pairs' ratios, and their range. */
  rpsRatio: Spread;
  p99Ratio: Spread;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

function serviceState() {
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: "bench", name: "web" },
    spec: { type: "ClusterIP", clusterIP: CLUSTER_IP, ports: [{ name: "http", port: SERVICE_PORT, targetPort: POD_PORT, protocol: "TCP" }] },
  };
  const slice: EndpointSlice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace: "bench", name: "web-1", labels: { [SERVICE_NAME_LABEL]: "web" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [POD_IP], conditions: { ready: true }, nodeName: "node" }],
    ports: [{ name: "http", port: POD_PORT, protocol: "TCP" }],
  };
  return buildProxyState({ services: [service], slices: [slice], nodeName: "node", nodeIPs: [NODE_CLIENT_SIDE_IP, NODE_POD_SIDE_IP] });
}

function makeProxier(backend: KernelBackend, netns: string): Proxier & { close?(): void } {
  return backend === "nftables" ? new NftablesProxier({ netns, clusterCIDRs: CLUSTER_CIDRS }) : new IptablesProxier({ netns, clusterCIDRs: CLUSTER_CIDRS });
}

async function buildLab(lab: NetnsLab): Promise<void> {
  for (const role of ["client", "node", "pod"]) await lab.addNamespace(role);
  await lab.link({ ns: "client", cidr: `${CLIENT_IP}/24` }, { ns: "node", cidr: `${NODE_CLIENT_SIDE_IP}/24` });
  await lab.link({ ns: "node", cidr: `${NODE_POD_SIDE_IP}/24` }, { ns: "pod", cidr: `${POD_IP}/24` });
  await lab.must("node", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await lab.must("client", ["ip", "route", "add", "default", "via", NODE_CLIENT_SIDE_IP]);
  await lab.must("pod", ["ip", "route", "add", "default", "via", NODE_POD_SIDE_IP]);
}

/** One GET from the client, so a broken path fails with its reason instead of a load of errors. */
async function checkPath(lab: NetnsLab, url: string): Promise<void> {
  const script = `fetch(process.argv[1], { signal: AbortSignal.timeout(${CHECK_TIMEOUT_MS}) }).then(async (r) => console.log(r.status, (await r.text()).trim()), (e) => { console.log("error", e.cause?.code ?? e.name); process.exitCode = 1; })`;
  const r = await lab.exec("client", [NODE_BIN, "-e", script, url]);
  if (r.code !== 0 || !r.stdout.startsWith("200 pod")) throw new Error(`GET ${url} from the client: ${(r.stdout + r.stderr).trim().split("\n")[0]}`);
}

const spread = (values: number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

function combine(rounds: LoadResult[]): PathFigures {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    capped: rounds.some((r) => r.capped),
  };
}

export async function measureDnat(opts: DnatOptions): Promise<DnatResult[]> {
  const log = opts.log ?? (() => {});
  const lab = NetnsLab.create(BENCH_NETNS_PREFIX);
  let pod: Pod | undefined;
  try {
    await buildLab(lab);
    pod = await startPod("pod", POD_IP, POD_PORT, ["ip", "netns", "exec", lab.ns("pod")]);
    const urls = { direct: `http://${POD_IP}:${POD_PORT}/`, clusterIP: `http://${CLUSTER_IP}:${SERVICE_PORT}/` };
    const wrap = ["ip", "netns", "exec", lab.ns("client")];
    // A safety net well above what one pod serves in the duration.
    const maxRequests = 200_000 * opts.durationS;
    const results: DnatResult[] = [];
    for (const backend of opts.backends) {
      const proxier = makeProxier(backend, lab.ns("node"));
      try {
        const synced = await proxier.sync(serviceState(), { full: true });
        if (!synced.ok) throw new Error(`${backend} sync failed: ${synced.error.split("\n")[0]}`);
        await checkPath(lab, urls.direct);
        await checkPath(lab, urls.clusterIP);
        // The pod's JIT warms up on a load that is not counted.
        await runLoad({ url: urls.direct, connections: opts.connections, durationS: WARM_UP_S, maxRequests, wrap });
        const runs: Record<keyof typeof urls, LoadResult[]> = { direct: [], clusterIP: [] };
        for (let pair = 0; pair < opts.pairs; pair++) {
          // Alternating which path goes first cancels a drift within the pairs.
          for (const path of pair % 2 === 0 ? (["direct", "clusterIP"] as const) : (["clusterIP", "direct"] as const)) {
            runs[path].push(await runLoad({ url: urls[path], connections: opts.connections, durationS: opts.durationS, maxRequests, wrap }));
          }
        }
        const pairRatio = (of: (r: LoadResult) => number) => spread(runs.clusterIP.map((c, i) => of(c) / of(runs.direct[i]!)));
        const result = {
          backend,
          direct: combine(runs.direct),
          clusterIP: combine(runs.clusterIP),
          rpsRatio: pairRatio((r) => r.rps),
          p99Ratio: pairRatio((r) => r.p99Ms),
        };
        log(
          `dnat ${backend}: ClusterIP ÷ direct throughput ${result.rpsRatio.median.toFixed(2)} (pairs ${result.rpsRatio.min.toFixed(2)}–${result.rpsRatio.max.toFixed(2)})`,
        );
        results.push(result);
      } finally {
        await proxier.cleanup();
        proxier.close?.();
      }
    }
    return results;
  } finally {
    await pod?.proc.stop();
    await lab.destroy();
  }
}
