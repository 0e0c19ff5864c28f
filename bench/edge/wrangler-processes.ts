// The processes behind a `wrangler dev` on a port: its whole process group (wrangler's
// Node process, esbuild, two workerd), and among them the workerd that runs the Worker's
// own code. The workerd listening on the port runs wrangler's ProxyWorker, which passes
// every request on to the other one.
import { groupProcesses, listenerPid, processGroupOf } from "./proc-cpu";

export interface WranglerProcesses {
  group: number;
  /** The workerd running the Worker under test. */
  workerPid?: number;
}

export function wranglerProcesses(port: number): WranglerProcesses | undefined {
  const listener = listenerPid(port);
  const group = listener === undefined ? undefined : processGroupOf(listener);
  if (group === undefined) return undefined;
  const others = groupProcesses(group).filter((p) => p.comm === "workerd" && p.pid !== listener);
  return { group, workerPid: others.length === 1 ? others[0]!.pid : undefined };
}
