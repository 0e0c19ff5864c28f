// Measures a kernel backend at scale in a throwaway network namespace (root, nft or
// iptables): state building, rendering, a first and a repeated full sync, and one endpoint
// change from the informer event to the rules applied, through the agent's real
// ServiceProxy, SyncLoop and proxier (bench/agent/scale.ts, which `npm run bench` runs for
// both backends). A measuring script, not a test. Run one size per process for a meaningful RSS:
//
//   node --expose-gc --experimental-transform-types --disable-warning=ExperimentalWarning \
//     --import ./src/agent/ts-resolve.mjs scripts/nft-scale.ts [services...] [--endpoints 10] [--backend nftables|iptables]
import { measureScale, type KernelBackend, type ScaleResult } from "../bench/agent/scale";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const perService = Number(flag("--endpoints") ?? 10);
const backend = (flag("--backend") ?? "nftables") as KernelBackend;
const counts = args.length ? args.map(Number) : [100, 1000, 10_000];
/** Generous bounds: this script is run by hand, to look at one backend closely. */
const SYNC_TIMEOUT_MS = 600_000;
const CHANGE_BUDGET_MS = 300_000;
const CHANGES = 9;

const ms = (v: number | undefined) => `${v?.toFixed(1)} ms`;
for (const services of counts) {
  const f: Partial<ScaleResult> = {};
  await measureScale(
    { backend, services, endpointsPerService: perService, changes: CHANGES, changeBudgetMs: CHANGE_BUDGET_MS, syncTimeoutMs: SYNC_TIMEOUT_MS },
    (figures) => Object.assign(f, figures),
  );
  console.log(
    [
      `${backend}: ${services} services x ${perService} endpoints: ${f.rulesetBytes} bytes of rules`,
      `  build state (from scratch) ${ms(f.buildMs)}, render full ${ms(f.renderMs)}`,
      `  first full sync ${ms(f.firstSyncMs)} (CPU ${ms(f.firstSyncCpuMs)}); repeated full sync ${ms(f.repeatSyncMs)} (CPU ${ms(f.repeatSyncCpuMs)})${f.fullSyncPath ? `, applied by ${f.fullSyncPath}` : ""}`,
      ...(f.nftSyncMs === undefined ? [] : [`  the same full sync through nft -f (fallback, reference): ${ms(f.nftSyncMs)} (CPU ${ms(f.nftSyncCpuMs)})`]),
      `  one endpoint change, informer event -> applied: median ${ms(f.changeMedianMs)}, worst ${ms(f.changeWorstMs)} (${f.changesTimed} changes); state + rule text alone ${ms(f.changeJsMs)}`,
      `  memory (stores + ServiceProxy + proxier state${globalThis.gc ? ", after gc" : ""}): rss ${f.rssMb?.toFixed(0)} MB, heap used ${f.heapUsedMb?.toFixed(0)} MB`,
    ].join("\n"),
  );
}
