// The creation phase in tenths: each tenth creates its share of the Services, then their
// Pods, and the registry's figures are taken at that size before the next tenth starts:
// the isolate's heap after a forced GC, the size of its SQLite database, and, until it
// first fails, an unpaged list of every Pod. The growth per tenth, and the Pod create rate
// of the last tenth against the first, say whether an object's cost stays flat as objects
// pile up. The samples between tenths are not creation time: the CPU and the rates count
// only the creates.
import type { BoundedRun } from "./bounded-writes";
import { runBounded } from "./bounded-writes";
import type { ControlProbe } from "./control-probe";
import type { HeapUsage } from "./isolate-heap";
import type { DbSize } from "./registry-db";
import { RPC_LIMIT_BYTES, type UnpagedList } from "./unpaged-list";

export const TENTHS = 10;

export interface TenthsPlan {
  services: number;
  podsPerService: number;
  inFlight: number;
  /** No create is sent after this (performance.now()). */
  deadlineAt: number;
}

export interface TenthsIo {
  createService(s: number): Promise<void>;
  createPod(s: number, p: number): Promise<void>;
  /** The heap after a forced GC; undefined without an inspector. */
  heapAfterGc(): Promise<HeapUsage | undefined>;
  /** The registry database's size; undefined when it cannot be read. */
  dbSize(): DbSize | undefined;
  listAllPods(): Promise<UnpagedList>;
  /** The control probe, run during each tenth's Pod creates. */
  startControl(): ControlProbe;
  /** CPU seconds so far per command of the server's processes; undefined when unknown. */
  serverCpu(): Map<string, number> | undefined;
}

export interface Tenth {
  /** Objects created so far (all tenths up to this one; failed creates do not count). */
  services: number;
  pods: number;
  svcRun: BoundedRun;
  podRun: BoundedRun;
  heap?: HeapUsage;
  /** The database after this tenth's Services and after its Pods. */
  dbAfterServices?: DbSize;
  dbAfterPods?: DbSize;
  /** The unpaged list of every Pod at this size: tenths before the last, until one fails or one's body passes the RPC limit (which then binds no more). */
  list?: UnpagedList;
}

export interface TenthsRun {
  /** Figures before the first create. */
  heap0?: HeapUsage;
  db0?: DbSize;
  tenths: Tenth[];
  controlMs: number[];
  /** CPU seconds per server command during the creates only, and the client's. */
  serverCpu?: Map<string, number>;
  clientCpuS: number;
  /** Wall seconds of the creates only. */
  createWallS: number;
  timedOut: boolean;
}

const addCpu = (into: Map<string, number>, before: Map<string, number>, after: Map<string, number>) => {
  for (const [comm, s] of after) into.set(comm, (into.get(comm) ?? 0) + s - (before.get(comm) ?? 0));
};

/** Times `create` and adds the server's and the client's CPU over it to the run's. */
async function creating(out: TenthsRun, io: TenthsIo, create: () => Promise<BoundedRun>): Promise<BoundedRun> {
  const server0 = io.serverCpu();
  const client0 = process.cpuUsage();
  const run = await create();
  const server1 = io.serverCpu();
  if (out.serverCpu && server0 && server1) addCpu(out.serverCpu, server0, server1);
  else out.serverCpu = undefined;
  const client = process.cpuUsage(client0);
  out.clientCpuS += (client.user + client.system) / 1e6;
  out.createWallS += (run.lastAnswerAt - run.startedAt) / 1000;
  return run;
}

export async function createInTenths(plan: TenthsPlan, io: TenthsIo, log: (m: string) => void): Promise<TenthsRun> {
  const P = plan.podsPerService;
  const out: TenthsRun = {
    heap0: await io.heapAfterGc(),
    db0: io.dbSize(),
    tenths: [],
    controlMs: [],
    serverCpu: new Map(),
    clientCpuS: 0,
    createWallS: 0,
    timedOut: false,
  };
  let listing = true;
  for (let k = 0; k < TENTHS && !out.timedOut; k++) {
    const from = Math.floor((k * plan.services) / TENTHS);
    const to = Math.floor(((k + 1) * plan.services) / TENTHS);
    log(`registry: tenth ${k + 1}/${TENTHS}: Services ${from}–${to - 1} and their ${(to - from) * P} Pods`);
    const svcRun = await creating(out, io, () => runBounded(to - from, plan.inFlight, plan.deadlineAt, (i) => io.createService(from + i)));
    const dbAfterServices = io.dbSize();
    const control = io.startControl();
    const podRun = await creating(out, io, () =>
      runBounded((to - from) * P, plan.inFlight, plan.deadlineAt, (n) => io.createPod(from + Math.floor(n / P), n % P)),
    );
    out.controlMs.push(...(await control.stop()));
    out.timedOut = svcRun.timedOut || podRun.timedOut;
    const before = out.tenths.at(-1) ?? { services: 0, pods: 0 };
    const tenth: Tenth = {
      services: before.services + svcRun.done - svcRun.failed,
      pods: before.pods + podRun.done - podRun.failed,
      svcRun,
      podRun,
      dbAfterServices,
      dbAfterPods: io.dbSize(),
    };
    tenth.heap = await io.heapAfterGc();
    // The last tenth's list is the part's full-size list, taken after the KV replica settles.
    if (listing && k < TENTHS - 1 && !out.timedOut) {
      tenth.list = await io.listAllPods();
      listing = tenth.list.status === 200 && tenth.list.bytes <= RPC_LIMIT_BYTES;
    }
    out.tenths.push(tenth);
  }
  return out;
}
