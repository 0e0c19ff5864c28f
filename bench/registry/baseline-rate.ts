// The Pod create rate against another revision, in the same run: `npm run bench -- --only
// registry --baseline <dir>`, where <dir> is a checkout of that revision with its own
// node_modules (docs/benchmarks.md, "A baseline revision"). Issue 10 asks for a create rate
// "no lower than today's"; the only fair reading of that is the code of the day the issue
// was filed, on this machine, in this run, on the same workload.
//
// Both trees get the same plain loop and nothing else: a fresh Worker (wrangler dev, the
// same flags, DevTools relay and local observability off), the bench namespace, S Services
// and then S × P Pods of objects.ts's shape (with the 1 KB annotation), `inFlight` at a time,
// through the admin API. No control probe, heap readings or lists run beside it (the
// registry part's own tenths have those), so the figure is the create path's alone.
import { startLocalWorker, type LocalWorker } from "../../test/e2e/local-worker";
import { DEVTOOLS_RELAY_OFF } from "../edge/devtools-relay";
import { processCpuSeconds } from "../edge/proc-cpu";
import { wranglerProcesses } from "../edge/wrangler-processes";
import { AdminApi } from "./admin-api";
import { runBounded } from "./bounded-writes";
import { LOCAL_OBSERVABILITY_OFF } from "./local-observability";
import { BENCH_NAMESPACE, namespaceBody, podBody, serviceBody } from "./objects";

export interface PlainRatePlan {
  services: number;
  podsPerService: number;
  inFlight: number;
  /** The pod URL every Pod's svcedge.io/url points under (never dialled by this loop). */
  podUrl: string;
  /** No create is sent after this (performance.now()). */
  deadlineAt: number;
  readyTimeoutMs: number;
}

export interface PlainRate {
  podsPerS: number;
  /** CPU of the workerd that runs the Worker and its Durable Object, per Pod create; undefined when /proc did not show it. */
  workerCpuUsPerPod?: number;
  /** Pods created (answered 201). */
  pods: number;
  failed: number;
  firstError?: string;
  timedOut: boolean;
}

/** The plain create loop against the checkout at `root` (this one when undefined). */
export async function plainPodRate(root: string | undefined, plan: PlainRatePlan): Promise<PlainRate> {
  let worker: LocalWorker | undefined;
  let api: AdminApi | undefined;
  try {
    worker = await startLocalWorker({
      root,
      env: { ...DEVTOOLS_RELAY_OFF, ...LOCAL_OBSERVABILITY_OFF },
      readyTimeoutMs: plan.readyTimeoutMs,
      wrap: ["setpriv", "--pdeathsig", "TERM", "--"],
    });
    api = new AdminApi(worker.url, worker.adminToken, plan.inFlight);
    const base = `/api/v1/namespaces/${BENCH_NAMESPACE}`;
    await api.must("POST", "/api/v1/namespaces", namespaceBody(), 201);
    const services = await runBounded(plan.services, plan.inFlight, plan.deadlineAt, async (s) => {
      await api!.must("POST", `${base}/services`, serviceBody(s), 201);
    });
    if (services.failed > 0) throw new Error(`creating Services: ${services.firstError}`);
    const workerPid = wranglerProcesses(Number(new URL(worker.url).port))?.workerPid;
    const cpu0 = workerPid === undefined ? undefined : processCpuSeconds(workerPid);
    const P = plan.podsPerService;
    const pods = await runBounded(plan.services * P, plan.inFlight, plan.deadlineAt, async (n) => {
      await api!.must("POST", `${base}/pods`, podBody(Math.floor(n / P), n % P, P, plan.podUrl), 201);
    });
    const cpu1 = workerPid === undefined ? undefined : processCpuSeconds(workerPid);
    const created = pods.done - pods.failed;
    return {
      podsPerS: created / ((pods.lastAnswerAt - pods.startedAt) / 1000),
      workerCpuUsPerPod: cpu0 === undefined || cpu1 === undefined || created === 0 ? undefined : ((cpu1 - cpu0) * 1e6) / created,
      pods: created,
      failed: pods.failed,
      firstError: pods.firstError,
      timedOut: pods.timedOut || services.timedOut,
    };
  } finally {
    api?.close();
    await worker?.stop();
  }
}
