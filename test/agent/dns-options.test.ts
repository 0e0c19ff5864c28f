// The agent's cluster DNS flags (pure parsing) and `--print-resolv-conf` as a real process:
// kubelet's ClusterFirst resolv.conf for a namespace, without an API or token.
import { describe, expect, it } from "vitest";
import { OptionError, parseOptions } from "../../src/agent/cli-options";
import { nameserversOf, parseHostPort, podResolvConf } from "../../src/agent/dns/resolv-conf";
import { runAgent } from "../../scripts/lab/agent-process";

const io = { readFile: () => "", hostname: () => "n1" };
const base = ["--api", "http://127.0.0.1:8787", "--token", "t0k"];
const parse = (argv: string[], env: Record<string, string> = {}) => parseOptions(argv, env, io);

describe("cluster DNS flags", () => {
  it("are off by default: no address, no upstreams, TTL 5 s, zone cluster.local", () => {
    const o = parse(base);
    expect(o.dnsAddr).toBeUndefined();
    expect(o).toMatchObject({ dnsUpstreams: [], dnsTTLSeconds: 5, dnsZone: "cluster.local" });
  });

  it("read flags and variables; the port defaults to 53", () => {
    const o = parse([
      ...base,
      "--dns-addr",
      "198.18.0.53",
      "--dns-upstream",
      "198.18.0.1",
      "--dns-upstream=[2001:db8::1]:5353",
      "--dns-ttl",
      "30",
      "--dns-zone",
      "Example.Internal.",
    ]);
    expect(o).toMatchObject({
      dnsAddr: { host: "198.18.0.53", port: 53 },
      dnsUpstreams: [
        { host: "198.18.0.1", port: 53 },
        { host: "2001:db8::1", port: 5353 },
      ],
      dnsTTLSeconds: 30,
      dnsZone: "example.internal",
    });
    const e = parse(base, {
      SVCEDGE_DNS_ADDR: "198.18.0.53:5353",
      SVCEDGE_DNS_UPSTREAMS: "198.18.0.1, 198.18.0.2:54",
      SVCEDGE_DNS_TTL: "0",
      SVCEDGE_DNS_ZONE: "lab.test",
    });
    expect(e).toMatchObject({
      dnsAddr: { host: "198.18.0.53", port: 5353 },
      dnsUpstreams: [
        { host: "198.18.0.1", port: 53 },
        { host: "198.18.0.2", port: 54 },
      ],
      dnsTTLSeconds: 0,
      dnsZone: "lab.test",
    });
  });

  it.each([
    [["--dns-addr", "nowhere"], 'invalid --dns-addr: "nowhere" (must be an IP address, optionally with :port)'],
    [["--dns-addr", "198.18.0.53:99999"], 'invalid --dns-addr: "198.18.0.53:99999" (must be an IP address, optionally with :port)'],
    [["--dns-upstream", "dns.google"], 'invalid --dns-upstream: "dns.google" (must be an IP address, optionally with :port)'],
    [["--dns-ttl", "3601"], 'invalid --dns-ttl: "3601" (must be an integer from 0 to 3600)'],
    [["--dns-zone", "bad_zone"], 'invalid --dns-zone: "bad_zone" (must be a DNS subdomain)'],
    [["--print-resolv-conf", "default"], "--print-resolv-conf needs --dns-addr (the address pods reach cluster DNS on)"],
    [["--print-resolv-conf", "Not_A_Namespace", "--dns-addr", "198.18.0.53"], 'invalid --print-resolv-conf: "Not_A_Namespace" (must be a namespace name)'],
  ])("rejects %j", (argv, message) => {
    expect(() => parse([...base, ...argv])).toThrow(OptionError);
    expect(() => parse([...base, ...argv])).toThrow(message);
  });

  it("host:port parsing and resolv.conf reading", () => {
    expect(parseHostPort("[2001:db8::53]")).toEqual({ host: "2001:db8::53", port: 53 });
    expect(parseHostPort("2001:db8::53")).toEqual({ host: "2001:db8::53", port: 53 });
    expect(parseHostPort("[2001:db8::53]x")).toBeUndefined();
    expect(nameserversOf("# c\nsearch lan\nnameserver 198.18.0.1\nnameserver fe80::1%eth0\nnameserver  2001:db8::1 \noptions ndots:1\n")).toEqual([
      { host: "198.18.0.1", port: 53 },
      { host: "fe80::1", port: 53 },
      { host: "2001:db8::1", port: 53 },
    ]);
  });
});

describe("--print-resolv-conf", () => {
  it("prints kubelet's ClusterFirst resolv.conf and needs no API", async () => {
    const r = await runAgent(["--print-resolv-conf", "shop", "--dns-addr", "198.18.0.53"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(podResolvConf("shop", "cluster.local", { host: "198.18.0.53", port: 53 }));
    expect(r.stdout.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      "nameserver 198.18.0.53",
      "search shop.svc.cluster.local svc.cluster.local cluster.local",
      "options ndots:5",
      "",
    ]);
  });

  it("warns in a comment when the port is not 53 (resolv.conf cannot name one)", async () => {
    const r = await runAgent(["--print-resolv-conf", "default", "--dns-addr", "198.18.0.53:5353", "--dns-zone", "lab.test"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("search default.svc.lab.test svc.lab.test lab.test\n");
    expect(r.stdout).toMatch(/^# resolv.conf cannot name a port/m);
  });

  it("a bad namespace: one line, exit 2", async () => {
    const r = await runAgent(["--print-resolv-conf", "BAD", "--dns-addr", "198.18.0.53"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('svcedge-agent: invalid --print-resolv-conf: "BAD" (must be a namespace name) (see --help)\n');
  });
});
