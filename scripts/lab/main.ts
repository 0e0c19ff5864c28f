// `sudo npm run lab`: a two-node svcedge lab in network namespaces on this machine (lab.ts),
// kept up until Ctrl-C, with the commands to try printed; `npm run lab -- --check` makes one
// request of each kind, prints the results and tears down (CI). Every failure is one line
// on stderr and a non-zero exit, never a stack trace.
import { hasBinary } from "./netns";
import { Lab } from "./lab";
import { NODES } from "./topology";

const USAGE = "usage: sudo npm run lab [-- --check]";
/** The tools the lab and its agents run, with the Debian/Ubuntu package that brings each. */
const TOOLS: [tool: string, pkg: string][] = [
  ["ip", "iproute2"],
  ["nft", "nftables"],
  ["iptables", "iptables"],
  ["iptables-save", "iptables"],
  ["iptables-restore", "iptables"],
  ["conntrack", "conntrack"],
];

class LabError extends Error {}

const say = (line: string) => process.stdout.write(`${line}\n`);
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).trim().split("\n")[0] ?? "";

function preflight(argv: string[]): { check: boolean } {
  let check = false;
  for (const arg of argv) {
    if (arg === "--check") check = true;
    else if (arg === "--help" || arg === "-h") {
      say(USAGE);
      process.exit(0);
    } else throw new LabError(`unknown argument ${JSON.stringify(arg)} (${USAGE})`);
  }
  if (process.platform !== "linux") throw new LabError("the lab needs Linux (network namespaces, nftables, iptables)");
  if (process.getuid?.() !== 0) throw new LabError("run as root: sudo npm run lab");
  for (const [tool, pkg] of TOOLS) if (!hasBinary(tool)) throw new LabError(`${tool} is not installed (apt-get install ${pkg})`);
  return { check };
}

function printTry(lab: Lab): void {
  const [a, b] = [lab.ns("pod-a1"), lab.ns("client")];
  say("");
  say("svcedge lab is up: the Worker, node1 (nftables) and node2 (iptables) with an agent each, pods pod-a1 and pod-b1,");
  say(`and the LoadBalancer Service web (ClusterIP ${lab.clusterIP}, NodePort ${lab.nodePort}, hostname ${lab.hostname}). Try, in another terminal:`);
  say("");
  for (const r of lab.requests()) say(`  sudo ${r.command}    # ${r.kind}`);
  say(`  sudo ip netns exec ${b} curl -s http://${NODES[0]!.lanIP}:10256/healthz    # kube-proxy's health check of node1's agent`);
  say(`  sudo touch ${lab.failFile("pod-a1")}    # pod-a1 fails its readiness probe and leaves the rules (rm it to bring it back)`);
  say("");
  say(`Admin API: ${lab.apiURL}, token ${lab.adminToken}`);
  say(`  sudo ip netns exec ${b} curl -s -H 'Authorization: Bearer ${lab.adminToken}' ${lab.apiURL}/api/v1/namespaces/default/endpointslices`);
  say(`Namespaces: ip netns list | grep ${a.slice(0, a.lastIndexOf("-pod-a1"))}`);
  say("Ctrl-C tears it all down.");
}

async function main(argv: string[]): Promise<number> {
  const { check } = preflight(argv);
  let lab: Lab | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= lab?.stop() ?? Promise.resolve());
  // Ctrl-C at any point tears down what exists; before the namespaces exist, the exit handlers
  // of netns.ts and agent-process.ts do (they run on process.exit, not on death by a signal).
  const interrupted = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  void interrupted.then(async () => {
    say("\nlab: tearing down");
    await stop();
    say("lab: done");
    process.exit(130);
  });
  lab = await Lab.create((line) => say(`lab: ${line}`));
  await lab.start();
  if (check) {
    const results = await lab.check();
    for (const r of results) say(`${r.ok ? "ok  " : "FAIL"} ${r.kind.padEnd(14)} ${r.result.padEnd(34)} sudo ${r.command}`);
    await stop();
    const failed = results.filter((r) => !r.ok);
    if (failed.length) throw new LabError(`check failed: ${failed.map((r) => r.kind).join(", ")}`);
    say("lab: every check passed; torn down");
    return 0;
  }
  printTry(lab);
  // Until Ctrl-C: the handler above tears down and exits.
  return new Promise<number>(() => {});
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`svcedge-lab: ${firstLine(e)}\n`);
    process.exit(e instanceof LabError && /^unknown argument/.test(e.message) ? 2 : 1);
  },
);
