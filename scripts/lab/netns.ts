// Lab network namespaces for the agent's tests and benchmarks (no vitest here): create
// namespaces joined by veth pairs with addresses from 198.18.0.0/15 (RFC 2544 benchmarking
// space), run commands and servers inside them, and tear everything down on every exit path
// (destroy(), process exit, and a sweep of namespaces left by processes that died).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { spawnCommand, type CommandResult } from "../../src/agent/proxy/command";

/** Tests' namespaces; a benchmark passes its own prefix, so neither sweeps the other's. */
const DEFAULT_NS_PREFIX = "svcedge-lab-";
/** Linux interface names are at most 15 characters (IFNAMSIZ - 1). */
const IFNAME_RANDOM_BYTES = 3;
/** How long a server inside a namespace may take to start listening. */
const SERVER_START_TIMEOUT_MS = 10_000;

const live = new Set<string>();
process.once("exit", () => {
  for (const ns of live) {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // Already gone.
    }
  }
});

export function hasBinary(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable(tools: string[]): string | undefined {
  if (process.getuid?.() !== 0) return "network namespace tests need root";
  for (const tool of ["ip", ...tools]) if (!hasBinary(tool)) return `network namespace tests need ${tool}, which is not installed`;
  return undefined;
}

/** Deletes lab namespaces whose creating process is gone (a crashed earlier run). */
function sweepOrphans(prefix: string): void {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  for (const line of out.split("\n")) {
    const ns = line.split(" ")[0] ?? "";
    const pid = Number(ns.startsWith(prefix) ? ns.slice(prefix.length).split("-")[0] : NaN);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    }
  }
}

export interface LinkEnd {
  ns: string;
  /** Address with prefix length, e.g. 198.18.0.1/24. */
  cidr: string;
  /** More addresses for the same end, e.g. IPv6 ones from 2001:db8::/32 (added without duplicate address detection, so usable at once). */
  more?: string[];
}

/** `ip addr add` for one address; IPv6 ones skip DAD, which would hold them "tentative" for a second or more. */
const addrAdd = (cidr: string, dev: string): string[] => ["ip", "addr", "add", cidr, "dev", dev, ...(cidr.includes(":") ? ["nodad"] : [])];

export class NetnsLab {
  private readonly id = randomBytes(3).toString("hex");
  private readonly names = new Map<string, string>();
  private readonly children = new Set<ChildProcess>();
  private links = 0;

  private constructor(private readonly prefix: string) {}

  /** `prefix` starts every namespace name; it must end in "-" and not be a prefix of another lab's. */
  static create(prefix = DEFAULT_NS_PREFIX): NetnsLab {
    sweepOrphans(prefix);
    return new NetnsLab(prefix);
  }

  /** The real namespace name of a role ("node", "pod", ...). */
  ns(role: string): string {
    const name = this.names.get(role);
    if (!name) throw new Error(`lab: no namespace ${role}`);
    return name;
  }

  async addNamespace(role: string): Promise<string> {
    const name = `${this.prefix}${process.pid}-${this.id}-${role}`;
    live.add(name);
    this.names.set(role, name);
    await mustRun(["ip", "netns", "add", name]);
    await this.must(role, ["ip", "link", "set", "lo", "up"]);
    return name;
  }

  /** A veth pair between two namespaces, addressed and up. */
  async link(a: LinkEnd, b: LinkEnd): Promise<void> {
    const base = `se${randomBytes(IFNAME_RANDOM_BYTES).toString("hex")}${this.links++}`;
    const [ifA, ifB] = [`${base}a`, `${base}b`];
    await mustRun(["ip", "link", "add", ifA, "netns", this.ns(a.ns), "type", "veth", "peer", "name", ifB, "netns", this.ns(b.ns)]);
    for (const [end, ifname] of [
      [a, ifA],
      [b, ifB],
    ] as const) {
      for (const cidr of [end.cidr, ...(end.more ?? [])]) await this.must(end.ns, addrAdd(cidr, ifname));
      await this.must(end.ns, ["ip", "link", "set", ifname, "up"]);
    }
  }

  /** A veth pair between this process's namespace (`rootCidr`) and a lab namespace; deleting the namespace deletes both ends. */
  async linkRoot(end: LinkEnd, rootCidr: string): Promise<void> {
    const base = `se${randomBytes(IFNAME_RANDOM_BYTES).toString("hex")}${this.links++}`;
    const [inRoot, inNs] = [`${base}r`, `${base}n`];
    await mustRun(["ip", "link", "add", inRoot, "type", "veth", "peer", "name", inNs, "netns", this.ns(end.ns)]);
    await mustRun(["ip", "addr", "add", rootCidr, "dev", inRoot]);
    await mustRun(["ip", "link", "set", inRoot, "up"]);
    await this.must(end.ns, ["ip", "addr", "add", end.cidr, "dev", inNs]);
    await this.must(end.ns, ["ip", "link", "set", inNs, "up"]);
  }

  exec(role: string, argv: string[], stdin?: string): Promise<CommandResult> {
    return spawnCommand(["ip", "netns", "exec", this.ns(role), ...argv], stdin);
  }

  /** Runs a command inside the namespace; throws with its stderr when it fails. */
  async must(role: string, argv: string[], stdin?: string): Promise<string> {
    const r = await this.exec(role, argv, stdin);
    if (r.code !== 0) throw new Error(`${argv.join(" ")} in ${role}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts a Node.js script inside the namespace and resolves once it prints `ready`. */
  async startNode(role: string, script: string, args: string[] = []): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", this.ns(role), process.execPath, "-e", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server in ${role} did not start`)), SERVER_START_TIMEOUT_MS);
      let err = "";
      child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
      child.stdout!.on("data", (b: Buffer) => {
        if (b.toString().includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server in ${role} exited with ${code}: ${err}`));
      });
    });
    return child;
  }

  async destroy(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    this.children.clear();
    for (const name of this.names.values()) {
      await spawnCommand(["ip", "netns", "del", name]);
      live.delete(name);
    }
    this.names.clear();
  }
}

/** Runs a command in this process's namespace; throws with its stderr when it fails. */
export async function mustRun(argv: string[]): Promise<void> {
  const r = await spawnCommand(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
}

/** An HTTP server that answers with its own address and the caller's, so tests see DNAT and SNAT. */
export const ECHO_SERVER = `
const http = require("node:http");
const [host, port] = process.argv.slice(1);
http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ server: host + ":" + port, remote: req.socket.remoteAddress }));
}).listen(Number(port), host, () => console.log("ready"));
`;

/** Prints a JSON array with the result of each of `count` GETs: the server's answer or {"error": code}. */
export const HTTP_GET = `
const http = require("node:http");
const [url, timeout, count] = process.argv.slice(1);
// agent: false gives every request its own connection, so each one is balanced anew.
const get = () => new Promise((resolve) => {
  const req = http.get(url, { agent: false, timeout: Number(timeout) }, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => resolve(JSON.parse(body)));
  });
  req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
  req.on("error", (e) => resolve({ error: e.code ?? e.message }));
});
(async () => {
  const out = [];
  for (let i = 0; i < Number(count); i++) out.push(await get());
  console.log(JSON.stringify(out));
})();
`;

export interface HttpAnswer {
  server?: string;
  remote?: string;
  error?: string;
}

/** `count` GETs of a URL from inside a namespace, each a new connection. */
export async function httpGetIn(lab: NetnsLab, role: string, url: string, count = 1, timeoutMs = 3000): Promise<HttpAnswer[]> {
  const out = await lab.must(role, [process.execPath, "-e", HTTP_GET, url, String(timeoutMs), String(count)]);
  return JSON.parse(out) as HttpAnswer[];
}
