// The netlink full sync (nftables/netlink/): the batch the agent compiles from the full-sync
// text must leave the kernel exactly as `nft -f` leaves it for the same text (compared as
// `nft list table` prints it), stay one atomic transaction (a batch the kernel rejects
// leaves the old ruleset), and anything it cannot encode must go to nft instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listNftablesObjects, NftablesProxier } from "../../../src/agent/proxy/nftables/apply";
import { commandRunner } from "../../../src/agent/proxy/command";
import { listNftablesObjectsNetlink } from "../../../src/agent/proxy/nftables/netlink/list";
import { applyNftablesNetlink, netlinkUnavailable } from "../../../src/agent/proxy/nftables/netlink";
import { compileNftTransaction, Unsupported } from "../../../src/agent/proxy/nftables/netlink/compile";
import { renderNftables, renderNftablesPieces } from "../../../src/agent/proxy/nftables/render";
import { containerSize } from "../../../src/agent/proxy/nftables/layout";
import { buildProxyState, type ProxyState } from "../../../src/agent/proxy/state";
import { describeNetns, NetnsLab } from "../netns";
import { endpoint, GOLDEN_CASES, NODE, NODE_IP, service, slice } from "./fixtures";

const POD_CIDR = "198.18.0.0/15";
const OPTS = { clusterCIDRs: [POD_CIDR] };

/** `count` Services (every 3rd a NodePort, every 7th with affinity) with `perService` endpoints, half on this node. */
function mixedState(count: number, perService: number, shift = 0): ProxyState {
  const services = [];
  const slices = [];
  for (let s = 0; s < count; s++) {
    const spec = {
      clusterIP: `10.96.${s >> 8}.${s & 255}`,
      ports: [{ name: "http", port: 80, targetPort: 8080, ...(s % 3 === 0 ? { nodePort: 30000 + s } : {}) }],
      ...(s % 3 === 0 ? { type: "NodePort" as const } : {}),
      ...(s % 7 === 0 ? { sessionAffinity: "ClientIP" as const, sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } } } : {}),
    };
    services.push(service(`ns-${s % 5}`, `svc-${s}`, spec));
    const eps = [];
    for (let e = 0; e < perService + ((s + shift) % 3); e++) {
      const n = s * 8 + e + shift;
      eps.push(endpoint(`198.18.${(n >> 8) & 255}.${n & 255}`, e % 2 === 0 ? { node: NODE } : {}));
    }
    slices.push(slice(`ns-${s % 5}`, `svc-${s}`, [{ name: "http", port: 8080 }], eps));
  }
  return buildProxyState({ services, slices, nodeName: NODE, nodeIPs: [NODE_IP] });
}

describe("compileNftTransaction", () => {
  it.each(GOLDEN_CASES)("encodes the full sync of $name", ({ input }) => {
    expect(compileNftTransaction(renderNftablesPieces(buildProxyState(input), OPTS)).length).toBeGreaterThan(0);
  });

  it("compiles elements given as data to the bytes their nft text compiles to", () => {
    const pieces = [...renderNftablesPieces(mixedState(300, 4), { ...OPTS, serviceCIDRs: ["10.96.0.0/12"] })];
    expect(pieces.some((p) => typeof p !== "string")).toBe(true);
    const fromData = compileNftTransaction(pieces);
    const fromText = compileNftTransaction(pieces.map(String));
    expect(Buffer.concat(fromData.chunks).equals(Buffer.concat(fromText.chunks))).toBe(true);
  });

  it.each([
    ["a rule shape it does not know", "table ip t {\n\tchain c {\n\t\tip daddr 10.0.0.1 counter accept\n\t}\n}\n"],
    ["a set declaration it does not know", "table ip t {\n\tset s { type ipv4_addr; flags interval,timeout; }\n}\n"],
    ["a command it does not know", "add rule ip t c accept\n"],
    ["elements of a set declared elsewhere", "add element ip t s { 10.0.0.1 }\n"],
    [
      "overlapping interval ranges (nft merges them)",
      "table ip t {\n\tset cluster-cidrs { type ipv4_addr; flags interval; }\n}\nadd element ip t cluster-cidrs { 10.0.0.0/8, 10.1.0.0/16 }\n",
    ],
    ["a malformed element", "table ip t {\n\tset h { type ipv4_addr . ipv4_addr; }\n}\nadd element ip t h { 10.0.0.1 . 10.0.0.256 }\n"],
    ["an unknown protocol", "table ip t {\n\tmap m { type inet_proto . inet_service : verdict; }\n}\nadd element ip t m { icmp . 80 : drop }\n"],
  ])("refuses %s (the caller then uses nft)", (_what, text) => {
    expect(() => compileNftTransaction([text])).toThrow(Unsupported);
  });
});

describeNetns("netlink full sync (real nf_tables in namespaces)", ["nft"], () => {
  let lab: NetnsLab;
  beforeAll(async () => {
    lab = NetnsLab.create();
    await lab.addNamespace("nft");
    await lab.addNamespace("netlink");
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  /** The table as nft prints it, without the countdown of remembered clients. */
  const list = async (role: string) => (await lab.must(role, ["nft", "list", "table", "ip", "svcedge"])).replace(/ expires \S+/g, "");
  const reset = async () => {
    for (const role of ["nft", "netlink"]) await lab.exec(role, ["nft", "delete", "table", "ip", "svcedge"]);
  };
  /** The same full-sync text, once through nft and once as our batch; both tables as nft lists them. */
  const both = async (state: ProxyState) => {
    await lab.must("nft", ["nft", "-f", "-"], renderNftables(state, OPTS));
    expect(applyNftablesNetlink(renderNftablesPieces(state, OPTS), { netns: lab.ns("netlink") })).toEqual({ ok: true });
    return { nft: await list("nft"), netlink: await list("netlink") };
  };

  it("has koffi and netlink here (the fast path is not silently off)", () => {
    expect(netlinkUnavailable()).toBeUndefined();
  });

  it.each(GOLDEN_CASES)("programs $name exactly as nft -f does", async ({ input }) => {
    await reset();
    const { nft, netlink } = await both(buildProxyState(input));
    expect(netlink).toBe(nft);
  });

  it("splits a command of more elements than one netlink message holds, as nft -f stores them", async () => {
    await reset();
    const pairs = Array.from({ length: 5000 }, (_, i) => `198.18.${i >> 8}.${i & 255} . 198.19.${i >> 8}.${i & 255}`);
    const text = `add table ip svcedge\ntable ip svcedge {\n\tset pairs { type ipv4_addr . ipv4_addr; }\n}\nadd element ip svcedge pairs { ${pairs.join(", ")} }\n`;
    await lab.must("nft", ["nft", "-f", "-"], text);
    const compiled = compileNftTransaction([text]);
    // More than one attribute's 64 KiB, so the elements span several messages.
    expect(compiled.length).toBeGreaterThan(65536);
    expect(compiled.describe(1)).toBe("batch begin");
    expect(applyNftablesNetlink([text], { netns: lab.ns("netlink") })).toEqual({ ok: true });
    const listed = await list("netlink");
    expect(listed).toBe(await list("nft"));
    expect(listed).toContain("198.18.19.135 . 198.19.19.135");
  });

  it.each([
    ["NodePort addresses and service CIDRs", { ...OPTS, nodePortIPs: ["198.18.0.1", "198.18.9.9"], serviceCIDRs: ["10.96.0.0/12"] }],
    ["--masquerade-all", { ...OPTS, masqueradeAll: true }],
  ])("programs a mixed cluster with %s exactly as nft -f does", async (_what, opts) => {
    await reset();
    const state = mixedState(30, 3);
    await lab.must("nft", ["nft", "-f", "-"], renderNftables(state, opts));
    expect(applyNftablesNetlink(renderNftablesPieces(state, opts), { netns: lab.ns("netlink") })).toEqual({ ok: true });
    expect(await list("netlink")).toBe(await list("nft"));
  });

  it("declares the containers of many elements with a size, as nft -f does", async () => {
    await reset();
    // Sized from 20 elements here (8,192 by default), to keep the comparison small.
    const opts = { ...OPTS, sizedContainerMinElements: 20 };
    const state = mixedState(30, 3);
    await lab.must("nft", ["nft", "-f", "-"], renderNftables(state, opts));
    expect(applyNftablesNetlink(renderNftablesPieces(state, opts), { netns: lab.ns("netlink") })).toEqual({ ok: true });
    const listed = await list("netlink");
    expect(listed).toBe(await list("nft"));
    const endpoints = state.services.filter((svc) => svc.affinityTimeoutSeconds === 0).reduce((n, svc) => n + svc.clusterEndpoints.length, 0);
    expect(endpoints).toBeGreaterThanOrEqual(20);
    expect(listed).toMatch(new RegExp(`map service-endpoints \\{[^}]*size ${containerSize(endpoints, 20)}\\n`));
    // Small containers stay unsized (a hash the kernel grows), as every container does by default at this scale.
    expect(listed).not.toMatch(/map service-nodeports \{[^}]*size/);
    expect(renderNftables(state, OPTS)).not.toContain("size ");
  });

  it("follows an update that would overfill a sized map with a full sync that sizes it anew", async () => {
    await reset();
    // Sized from 20 elements, so that a few Services overfill a map.
    const opts = { ...OPTS, sizedContainerMinElements: 20 };
    const proxier = new NftablesProxier({ netns: lab.ns("netlink"), ...opts });
    const endpointsOf = (state: ProxyState) =>
      state.services.filter((svc) => svc.affinityTimeoutSeconds === 0).reduce((n, svc) => n + svc.clusterEndpoints.length, 0);
    const sizeListed = async () => Number((await list("netlink")).match(/map service-endpoints \{[^}]*size (\d+)\n/)?.[1]);
    try {
      const small = mixedState(6, 4);
      expect(await proxier.sync(small, { full: true })).toEqual({ ok: true, mode: "full" });
      expect(await sizeListed()).toBe(containerSize(endpointsOf(small), 20));
      const bigger = mixedState(6, 30);
      expect(endpointsOf(bigger)).toBeGreaterThan(await sizeListed());
      // Not asked for a full sync: the update is refused (ENFILE) and the refill follows.
      expect(await proxier.sync(bigger)).toEqual({ ok: true, mode: "full" });
      expect(await sizeListed()).toBe(containerSize(endpointsOf(bigger), 20));
      // Within the new size, updates are incremental again.
      expect(await proxier.sync(mixedState(6, 29))).toEqual({ ok: true, mode: "partial" });
    } finally {
      proxier.close();
    }
  });

  it("stores touching and separate cluster CIDRs as nft -f does", async () => {
    await reset();
    const cidrs = { clusterCIDRs: ["198.18.202.0/24", "10.0.0.0/8", "198.18.201.0/24"] };
    const state = mixedState(5, 2);
    await lab.must("nft", ["nft", "-f", "-"], renderNftables(state, cidrs));
    expect(applyNftablesNetlink(renderNftablesPieces(state, cidrs), { netns: lab.ns("netlink") })).toEqual({ ok: true });
    const listed = await list("netlink");
    expect(listed).toBe(await list("nft"));
    expect(listed).toContain("198.18.202.0/24");
  });

  it("refills a table that holds another state exactly as nft -f does (stale chains and sets deleted, affinity sets kept)", async () => {
    await reset();
    await both(mixedState(120, 3));
    const next = mixedState(100, 4, 1);
    // A client remembered by an affinity set both states have must survive the refill.
    const affinitySets = (text: string) => new Set([...text.matchAll(/\tset (affinity-\S+) /g)].map((m) => m[1]!));
    const nextSets = affinitySets(renderNftables(next, OPTS));
    const kept = [...affinitySets(renderNftables(mixedState(120, 3), OPTS))].find((name) => nextSets.has(name))!;
    expect(kept).toBeDefined();
    for (const role of ["nft", "netlink"]) await lab.must(role, ["nft", "add", "element", "ip", "svcedge", kept, "{ 198.19.7.7 }"]);
    // The proxier's full sync: it lists the table's chains and sets, and deletes the stale ones.
    const fullSync = async (role: "nft" | "netlink") => {
      const proxier = new NftablesProxier({ netns: lab.ns(role), ...OPTS, netlink: role === "netlink" });
      try {
        expect(await proxier.sync(next)).toEqual({ ok: true, mode: "full" });
        return proxier.lastFullSync;
      } finally {
        proxier.close();
      }
    };
    expect(await fullSync("nft")).toBe("nft");
    expect(await fullSync("netlink")).toBe("netlink");
    const viaNft = await list("nft");
    expect(await list("netlink")).toBe(viaNft);
    expect(viaNft).toContain("affinity-");
    expect(viaNft).not.toContain("svc-119/");
    expect(viaNft).toMatch(new RegExp(`set ${kept.replace(/[./]/g, "\\$&")} \\{[^}]*198\\.19\\.7\\.7`));
  });

  it("lists the table's chains and sets (with timeouts; no maps, named or anonymous) as nft does", async () => {
    await reset();
    await both(mixedState(40, 3));
    const byNft = await listNftablesObjects(commandRunner({ netns: lab.ns("netlink") }));
    const byNetlink = listNftablesObjectsNetlink("svcedge", { netns: lab.ns("netlink") });
    expect(typeof byNetlink).toBe("object");
    if (typeof byNetlink === "string") return;
    expect([...byNetlink.chains].sort()).toEqual([...byNft.chains].sort());
    expect(new Map([...byNetlink.sets].sort())).toEqual(new Map([...byNft.sets].sort()));
    expect([...byNft.sets.values()]).toContain(300);
    expect(listNftablesObjectsNetlink("no-such-table", { netns: lab.ns("netlink") })).toEqual({ chains: [], sets: new Map() });
  });

  it("leaves the old ruleset whole when the kernel rejects the batch", async () => {
    await reset();
    const old = mixedState(60, 3);
    await both(old);
    const before = await list("netlink");
    // The next state's whole full sync, plus one element the kernel refuses (a verdict to a chain that does not exist).
    const bad = [...renderNftablesPieces(mixedState(80, 4, 2), OPTS), "add element ip svcedge service-ips { 10.99.0.1 . tcp . 80 : goto no-such-chain }\n"];
    const r = applyNftablesNetlink(bad, { netns: lab.ns("netlink") });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/ENOENT.*service-ips/);
    expect(await list("netlink")).toBe(before);
  });

  it("falls back to nft -f, logged, when the batch is rejected", async () => {
    await reset();
    const state = mixedState(30, 2);
    const logged: string[] = [];
    const proxier = new NftablesProxier({
      netns: lab.ns("netlink"),
      ...OPTS,
      log: (m) => logged.push(m),
      // A real rejection: the sync's own batch with one element the kernel refuses.
      applyNetlink: (pieces, opts) =>
        applyNftablesNetlink([...pieces, "add element ip svcedge service-ips { 10.99.0.1 . tcp . 80 : goto no-such-chain }\n"], opts),
    });
    try {
      expect(await proxier.sync(state)).toEqual({ ok: true, mode: "full" });
      expect(proxier.lastFullSync).toBe("nft");
      expect(logged.join("\n")).toMatch(/rejected as a netlink batch, applying it with nft -f: .*ENOENT/);
    } finally {
      proxier.close();
    }
    await lab.must("nft", ["nft", "-f", "-"], renderNftables(state, OPTS));
    expect(await list("netlink")).toBe(await list("nft"));
  });
});
