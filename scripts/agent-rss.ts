// Measures the memory of a real agent process (nftables backend) at N Services x E
// endpoints (bench/agent/agent-rss.ts, which `npm run bench` runs too): the Worker on the
// root side of a veth pair into a throwaway namespace, selector-less Services and
// hand-written EndpointSlices through the admin API, the agent CLI (scripts/agent.mjs)
// inside the namespace, its VmRSS and VmHWM once the first full sync is logged and again
// a little later. A measuring script, not a test.
//
//   node --experimental-transform-types --disable-warning=ExperimentalWarning \
//     --import ./src/agent/ts-resolve.mjs scripts/agent-rss.ts [services] [--endpoints 10] [-- agent node flags]
import { measureAgentRss, SETTLE_MS } from "../bench/agent/agent-rss";

const argv = process.argv.slice(2);
const dashes = argv.indexOf("--");
const nodeFlags = dashes >= 0 ? argv.splice(dashes).slice(1) : [];
const epFlag = argv.indexOf("--endpoints");
const endpointsPerService = epFlag >= 0 ? Number(argv.splice(epFlag, 2)[1]) : 10;
const services = Number(argv[0] ?? 10_000);

const r = await measureAgentRss({ services, endpointsPerService, createTimeoutMs: 1_800_000, firstSyncTimeoutMs: 300_000, nodeFlags, log: console.log });
const mb = (v: number) => `${v.toFixed(0)} MB`;
console.log(`agent started -> first full sync logged: ${r.startToSyncS.toFixed(1)} s ("ms":${r.firstSyncMs})`);
console.log(
  `peak (VmHWM) reached ${r.peakAtS.toFixed(2)} s after the agent started; the full sync ran from about ${(r.startToSyncS - r.firstSyncMs / 1000).toFixed(2)} s`,
);
console.log(`agent after the first full sync: VmRSS ${mb(r.afterSync.vmRssMb)}, VmHWM ${mb(r.afterSync.vmHwmMb)}`);
console.log(`agent ${SETTLE_MS / 1000} s later: VmRSS ${mb(r.later.vmRssMb)}, VmHWM ${mb(r.later.vmHwmMb)}`);
