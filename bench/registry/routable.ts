// "Routable" as a client sees it: the gateway answers a Service's public host with 200 from
// a pod. Polls one host at a fixed interval until then (bounded by a deadline), and sweeps
// every host once afterwards to check that none was left behind.
import type { HttpAnswer, HttpTarget } from "./http";
import { runBounded } from "./bounded-writes";

export interface RoutableWait {
  /** performance.now() when the first 200 from a pod came back; undefined if the deadline passed. */
  at?: number;
  polls: number;
  /** Status of the last answer before the 200 (or of the last answer at all), for the failure message. */
  lastStatus?: number;
  lastBody?: string;
}

/** A 200 from one of the bench's pod servers (bench/pods.ts answers "pod <name>"). */
export const answeredByPod = (res: HttpAnswer): boolean => res.status === 200 && res.body.startsWith("pod ");

export async function waitRoutable(gateway: HttpTarget, host: string, intervalMs: number, deadlineAt: number): Promise<RoutableWait> {
  const wait: RoutableWait = { polls: 0 };
  while (performance.now() < deadlineAt) {
    wait.polls++;
    try {
      const res = await gateway.request({ path: "/", host, timeoutMs: 5000 });
      if (answeredByPod(res)) {
        wait.at = performance.now();
        return wait;
      }
      wait.lastStatus = res.status;
      wait.lastBody = res.body.trim().split("\n")[0];
    } catch (e) {
      wait.lastBody = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return wait;
}

export interface Sweep {
  notRoutable: number;
  example?: string;
}

/** One GET per host, `inFlight` at a time; counts the hosts that did not answer 200 from a pod. */
export async function sweepHosts(gateway: HttpTarget, hosts: string[], inFlight: number, deadlineAt: number): Promise<Sweep> {
  const sweep: Sweep = { notRoutable: 0 };
  const run = await runBounded(hosts.length, inFlight, deadlineAt, async (i) => {
    const res = await gateway.request({ path: "/", host: hosts[i]!, timeoutMs: 5000 });
    if (answeredByPod(res)) return;
    sweep.notRoutable++;
    sweep.example ??= `${hosts[i]}: ${res.status} ${res.body.trim().split("\n")[0]}`;
  });
  sweep.notRoutable += run.failed + (hosts.length - run.done);
  if (run.firstError) sweep.example ??= run.firstError;
  return sweep;
}
