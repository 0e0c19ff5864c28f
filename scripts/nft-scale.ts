// Measures the nftables backend at scale in a throwaway network namespace (root, nft):
// state building, rendering, a first and a repeated full sync, and one endpoint change,
// for N Services x E endpoints (ClusterIP; every 10th a NodePort, every 100th with
// ClientIP affinity). A measuring script, not a test: nothing here asserts a time.
//
//   node --experimental-transform-types --disable-warning=ExperimentalWarning \
//     --import ./src/agent/ts-resolve.mjs scripts/nft-scale.ts [services...] [--endpoints 10]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { EndpointSlice, Service } from "../src/api/types";
import { SERVICE_NAME_LABEL } from "../src/api/types";
import { buildProxyState } from "../src/agent/proxy/state";
import { NftablesProxier, listNftablesObjects } from "../src/agent/proxy/nftables/apply";
import { renderNftables, renderNftablesUpdate } from "../src/agent/proxy/nftables/render";
import { commandRunner } from "../src/agent/proxy/command";

const args = process.argv.slice(2);
const epFlag = args.indexOf("--endpoints");
const perService = epFlag >= 0 ? Number(args.splice(epFlag, 2)[1]) : 10;
const counts = args.length ? args.map(Number) : [100, 1000, 10_000];
const NODE = "node-a";
const NODE_IP = "198.18.0.1";

function cluster(count: number, unreadyService = -1): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let s = 0; s < count; s++) {
    const ns = `ns-${s % 50}`;
    const name = `svc-${s}`;
    const nodePort = s % 10 === 0 ? { nodePort: 30000 + (s % 2700) } : {};
    services.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { namespace: ns, name },
      spec: {
        type: s % 10 === 0 && s < 27_000 ? "NodePort" : "ClusterIP",
        clusterIP: `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`,
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", ...(s < 27_000 ? nodePort : {}) }],
        ...(s % 100 === 1 ? { sessionAffinity: "ClientIP" as const } : {}),
      },
    });
    const endpoints = [];
    for (let e = 0; e < perService; e++) {
      const n = s * perService + e;
      endpoints.push({ addresses: [`10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`], conditions: { ready: !(s === unreadyService && e === 3) }, nodeName: e % 3 === 0 ? NODE : "node-b" });
    }
    slices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { namespace: ns, name: `${name}-abc`, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  }
  return { services, slices };
}

const ms = (t0: number) => `${(performance.now() - t0).toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function measure(count: number, netns: string): Promise<void> {
  const run = commandRunner({ netns });
  const state = (input: { services: Service[]; slices: EndpointSlice[] }) => buildProxyState({ ...input, nodeName: NODE, nodeIPs: [NODE_IP] });
  const objects = cluster(count);
  let t0 = performance.now();
  const s1 = state(objects);
  const buildTime = ms(t0);
  t0 = performance.now();
  const text = renderNftables(s1, { clusterCIDRs: ["10.128.0.0/10"] });
  const renderTime = ms(t0);
  const proxier = new NftablesProxier({ netns, clusterCIDRs: ["10.128.0.0/10"] });
  t0 = performance.now();
  const first = await proxier.sync(s1, { full: true });
  const firstTime = ms(t0);
  t0 = performance.now();
  await listNftablesObjects(run);
  const listTime = ms(t0);
  t0 = performance.now();
  const again = await proxier.sync(s1, { full: true });
  const againTime = ms(t0);

  // One endpoint of one Service turns unready: what the agent does after the watch event.
  const changed = cluster(count, Math.floor(count / 2) + 2);
  t0 = performance.now();
  const s2 = state(changed);
  const update = renderNftablesUpdate(s1, s2, { clusterCIDRs: ["10.128.0.0/10"] }) ?? "";
  const renderUpdateTime = ms(t0);
  const proxierForUpdate = proxier;
  t0 = performance.now();
  const partial = await proxierForUpdate.sync(s2);
  const partialTime = ms(t0);
  const mem = process.memoryUsage();
  const rules = (await run(["nft", "-j", "-t", "list", "chains", "ip"])).stdout.split('"chain"').length - 1;
  console.log(
    [
      `${count} services x ${perService} endpoints: ${text.length} bytes, ${text.split("\n").length} lines, ${rules} chains`,
      `  build state ${buildTime}, render full ${renderTime}`,
      `  first full sync ${firstTime} (${first.ok ? first.mode : first.error.slice(0, 200)})`,
      `  list chains+sets ${listTime}; repeated full sync ${againTime} (${again.ok ? again.mode : again.error.slice(0, 200)})`,
      `  one endpoint change: state + render update ${renderUpdateTime} (${update.split("\n").length - 1} commands), sync ${partialTime} (${partial.ok ? partial.mode : partial.error.slice(0, 200)})`,
      `  memory: rss ${mb(mem.rss)}, heap used ${mb(mem.heapUsed)}`,
    ].join("\n"),
  );
}

const netns = `svcedge-scale-${randomBytes(3).toString("hex")}`;
execFileSync("ip", ["netns", "add", netns]);
try {
  for (const count of counts) {
    await measure(count, netns);
    execFileSync("ip", ["netns", "exec", netns, "nft", "flush", "ruleset"]);
  }
} finally {
  execFileSync("ip", ["netns", "del", netns]);
}
