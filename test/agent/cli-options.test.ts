import { describe, expect, it } from "vitest";
import { OPTION_SPECS, OptionError, parseOptions, usage } from "../../src/agent/cli-options";

const io = {
  readFile: (p: string) =>
    p === "/tok"
      ? "file-token\n"
      : (() => {
          throw Object.assign(new Error("nope"), { code: "ENOENT" });
        })(),
  hostname: () => "Host-A",
};
const base = ["--api", "http://127.0.0.1:8787", "--token", "t0k"];
const parse = (argv: string[], env: Record<string, string> = {}) => parseOptions(argv, env, io);

describe("parseOptions", () => {
  it("fills defaults", () => {
    const o = parse(base);
    expect(o).toMatchObject({
      api: "http://127.0.0.1:8787",
      token: "t0k",
      node: "host-a",
      backend: "nftables",
      nodeIPs: [],
      clusterCIDRs: [],
      serviceCIDRs: [],
      masqueradeAll: false,
      metricsPort: 0,
      metricsAddress: "127.0.0.1",
      leaseDurationSeconds: 40,
      logLevel: "info",
      dryRun: false,
      cleanup: false,
    });
    expect(o.podManifests).toBeUndefined();
  });

  it("reads every option from flags, in both --flag value and --flag=value forms", () => {
    const o = parse([
      ...base,
      "--node=n1",
      "--backend",
      "iptables",
      "--pod-manifests",
      "/m",
      "--node-ip",
      "198.18.0.1",
      "--node-ip=198.18.0.2,198.18.0.3",
      "--cluster-cidr",
      "198.18.1.0/24",
      "--service-cidr",
      "10.96.0.0/12",
      "--masquerade-all",
      "--metrics-port",
      "10249",
      "--metrics-address",
      "0.0.0.0",
      "--lease-duration",
      "8",
      "--log-level",
      "debug",
      "--dry-run",
    ]);
    expect(o).toMatchObject({
      node: "n1",
      backend: "iptables",
      podManifests: "/m",
      nodeIPs: ["198.18.0.1", "198.18.0.2", "198.18.0.3"],
      clusterCIDRs: ["198.18.1.0/24"],
      serviceCIDRs: ["10.96.0.0/12"],
      masqueradeAll: true,
      metricsPort: 10249,
      metricsAddress: "0.0.0.0",
      leaseDurationSeconds: 8,
      logLevel: "debug",
      dryRun: true,
    });
  });

  it("takes every option from its environment variable, and lets flags win", () => {
    const env = {
      SVCEDGE_API: "https://api.example/",
      SVCEDGE_TOKEN: "env-token",
      SVCEDGE_NODE: "n2",
      SVCEDGE_BACKEND: "userspace",
      SVCEDGE_POD_MANIFESTS: "/pods",
      SVCEDGE_NODE_IPS: "198.18.0.1, 198.18.0.2",
      SVCEDGE_CLUSTER_CIDRS: "198.18.4.0/22",
      SVCEDGE_SERVICE_CIDRS: "10.96.0.0/16, 2001:db8::/112",
      SVCEDGE_MASQUERADE_ALL: "yes",
      SVCEDGE_METRICS_PORT: "9100",
      SVCEDGE_METRICS_ADDRESS: "::1",
      SVCEDGE_LEASE_DURATION_SECONDS: "20",
      SVCEDGE_LOG_LEVEL: "warn",
      SVCEDGE_DRY_RUN: "true",
    };
    expect(parse([], env)).toMatchObject({
      api: "https://api.example",
      token: "env-token",
      node: "n2",
      backend: "userspace",
      podManifests: "/pods",
      nodeIPs: ["198.18.0.1", "198.18.0.2"],
      clusterCIDRs: ["198.18.4.0/22"],
      serviceCIDRs: ["10.96.0.0/16", "2001:db8::/112"],
      masqueradeAll: true,
      metricsPort: 9100,
      metricsAddress: "::1",
      leaseDurationSeconds: 20,
      logLevel: "warn",
      dryRun: true,
    });
    expect(parse(["--backend", "nftables", "--node-ip", "198.18.9.9", "--dry-run=false"], env)).toMatchObject({
      backend: "nftables",
      nodeIPs: ["198.18.9.9"],
      dryRun: false,
    });
    expect(parse(["--cleanup"], { SVCEDGE_CLEANUP: "0" }).cleanup).toBe(true);
    expect(parse([], { SVCEDGE_CLEANUP: "1" }).cleanup).toBe(true);
  });

  it("takes NodePorts on the primary address for nftables and on every local address otherwise, unless --nodeport-addresses says", () => {
    expect(parse(base).nodePortAddresses).toEqual(["primary"]);
    expect(parse([...base, "--backend", "iptables"]).nodePortAddresses).toEqual([]);
    expect(parse([...base, "--backend", "userspace"]).nodePortAddresses).toEqual([]);
    expect(parse([...base, "--nodeport-addresses", "198.18.0.0/24", "--nodeport-addresses=198.19.0.0/16,2001:db8::/64"]).nodePortAddresses).toEqual([
      "198.18.0.0/24",
      "198.19.0.0/16",
      "2001:db8::/64",
    ]);
    expect(parse([...base, "--backend", "iptables"], { SVCEDGE_NODEPORT_ADDRESSES: "primary" }).nodePortAddresses).toEqual(["primary"]);
  });

  it("every flag but --help has a variable, and the help lists them", () => {
    for (const s of OPTION_SPECS) if (s.flag !== "help") expect(s.env).toMatch(/^SVCEDGE_[A-Z_]+$/);
    for (const s of OPTION_SPECS) expect(usage()).toContain(`--${s.flag}`);
  });

  it("reads the token from --token-file when no token is given", () => {
    expect(parse(["--api", "http://a", "--token-file", "/tok"]).token).toBe("file-token");
    expect(() => parse(["--api", "http://a", "--token-file", "/missing"])).toThrow("cannot read --token-file /missing: ENOENT");
  });

  it("needs no API or token for --cleanup and --help", () => {
    expect(parse(["--cleanup"]).cleanup).toBe(true);
    expect(parse(["-h"]).help).toBe(true);
  });

  it.each([
    [["--bogus"], "unknown flag: --bogus"],
    [["stray"], 'unexpected argument: "stray"'],
    [["--api"], "flag needs a value: --api"],
    [["--token", "t"], "missing --api (or SVCEDGE_API)"],
    [["--api", "http://a"], "missing --token (or SVCEDGE_TOKEN, --token-file)"],
    [["--api", "ftp://a", "--token", "t"], 'invalid --api: "ftp://a" (must be http:// or https://)'],
    [["--api", "not a url", "--token", "t"], 'invalid --api: "not a url" is not a URL'],
    [[...base, "--backend", "ipvs"], 'invalid --backend: "ipvs" (must be one of nftables, iptables, userspace)'],
    [[...base, "--node", "Bad_Name"], 'invalid --node: "bad_name" (must be a lowercase RFC 1123 subdomain)'],
    [[...base, "--node", "a..b"], 'invalid --node: "a..b" (must be a lowercase RFC 1123 subdomain)'],
    [[...base, "--node-ip", "198.18.0.300"], 'invalid --node-ip: "198.18.0.300" is not an IP address'],
    [[...base, "--cluster-cidr", "198.18.0.0/33"], 'invalid --cluster-cidr: "198.18.0.0/33" is not a CIDR'],
    [[...base, "--service-cidr", "10.96.0.1/12"], 'invalid --service-cidr: "10.96.0.1/12" (must be a CIDR with no host bits set, such as 10.96.0.0/12)'],
    [[...base, "--service-cidr", "10.96.0.0"], 'invalid --service-cidr: "10.96.0.0" (must be a CIDR with no host bits set, such as 10.96.0.0/12)'],
    [[...base, "--masquerade-all=sometimes"], 'invalid boolean for --masquerade-all: "sometimes"'],
    [[...base, "--metrics-port", "70000"], 'invalid --metrics-port: "70000" (must be an integer from 0 to 65535)'],
    [[...base, "--metrics-port", "12ab"], 'invalid --metrics-port: "12ab" (must be an integer from 0 to 65535)'],
    [[...base, "--lease-duration", "2"], 'invalid --lease-duration: "2" (must be an integer from 4 to 3600)'],
    [[...base, "--log-level", "loud"], 'invalid --log-level: "loud" (must be one of debug, info, warn, error)'],
    [[...base, "--dry-run=maybe"], 'invalid boolean for --dry-run: "maybe"'],
    [[...base, "--nodeport-addresses", "foo"], 'invalid --nodeport-addresses: "foo": must be a valid CIDR'],
    [[...base, "--nodeport-addresses", "198.18.0.0/33"], 'invalid --nodeport-addresses: "198.18.0.0/33": must be a valid CIDR'],
    [[...base, "--nodeport-addresses", "198.18.0.0/24,primary"], `invalid --nodeport-addresses: "primary": can't use both 'primary' and CIDRs`],
    [
      [...base, "--nodeport-addresses", "primary", "--nodeport-addresses", "primary"],
      `invalid --nodeport-addresses: "primary": can't use both 'primary' and CIDRs`,
    ],
  ])("rejects %j", (argv, message) => {
    expect(() => parse(argv)).toThrow(OptionError);
    expect(() => parse(argv)).toThrow(message);
  });
});

describe("--healthz-bind-address and --ca-file", () => {
  it("serve kube-proxy's healthz on 0.0.0.0:10256 unless told otherwise; an empty flag turns it off", () => {
    expect(parse(base).healthzBindAddress).toEqual({ host: "0.0.0.0", port: 10256 });
    expect(parse(base, { SVCEDGE_HEALTHZ_BIND_ADDRESS: "" }).healthzBindAddress).toEqual({ host: "0.0.0.0", port: 10256 });
    expect(parse([...base, "--healthz-bind-address", "127.0.0.1:12256"]).healthzBindAddress).toEqual({ host: "127.0.0.1", port: 12256 });
    expect(parse(base, { SVCEDGE_HEALTHZ_BIND_ADDRESS: "[::1]:10256" }).healthzBindAddress).toEqual({ host: "::1", port: 10256 });
    expect(parse([...base, "--healthz-bind-address="]).healthzBindAddress).toBeUndefined();
    for (const bad of ["127.0.0.1", "127.0.0.1:0", "localhost:10256", "127.0.0.1:99999"])
      expect(() => parse([...base, `--healthz-bind-address=${bad}`])).toThrow(
        new OptionError(`invalid --healthz-bind-address: ${JSON.stringify(bad)} (must be an IP address and port, e.g. 0.0.0.0:10256)`),
      );
  });

  it("takes a CA file from the flag or SVCEDGE_CA_FILE", () => {
    expect(parse(base).caFile).toBeUndefined();
    expect(parse([...base, "--ca-file", "/ca.pem"]).caFile).toBe("/ca.pem");
    expect(parse(base, { SVCEDGE_CA_FILE: "/env.pem" }).caFile).toBe("/env.pem");
  });
});
