import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NftablesProxier } from "../../../src/agent/proxy/nftables/apply";
import { NftSession } from "../../../src/agent/proxy/nftables/session";
import { describeNetns, NetnsLab } from "../netns";
import { buildProxyState, type ProxyState } from "../../../src/agent/proxy/state";
import { renderNftables, renderNftablesUpdate } from "../../../src/agent/proxy/nftables/render";
import { buildIndex } from "../../../src/agent/proxy/nftables/table-index";
import { NftModel } from "./trace/nftables";
import { BASE_CHAINS } from "../../../src/agent/proxy/nftables/layout";
import { DUAL_STACK_INPUT, endpoint, GOLDEN_CASES, NODE, NODE_IP, service, slice } from "./fixtures";
import { expectGolden } from "./golden";

const POD_CIDR = "198.18.0.0/15";

const emptyState = buildProxyState({ services: [], slices: [], nodeName: NODE, nodeIPs: [NODE_IP] });
const baseRender = renderNftables(emptyState, { clusterCIDRs: [POD_CIDR] });
/** Everything up to the end of the fixed chains; each case's golden holds only what follows. */
const basePrefix = baseRender.slice(0, baseRender.indexOf(BASE_CHAINS) + BASE_CHAINS.length);

describe("renderNftables golden text", () => {
  it("base table", () => {
    const { expected, actual } = expectGolden("base.nft", baseRender);
    expect(actual).toBe(expected);
  });

  it.each(GOLDEN_CASES)("$name", ({ name, input }) => {
    const full = renderNftables(buildProxyState(input), { clusterCIDRs: [POD_CIDR] });
    expect(full.startsWith(basePrefix)).toBe(true);
    const { expected, actual } = expectGolden(`${name}.nft`, full.slice(basePrefix.length));
    expect(actual).toBe(expected);
  });

  it("dual-stack, IPv4 table: the IPv4 share of dual-stack Services", () => {
    const full = renderNftables(buildProxyState(DUAL_STACK_INPUT), { clusterCIDRs: [POD_CIDR] });
    expect(full.startsWith(basePrefix)).toBe(true);
    const { expected, actual } = expectGolden("dual-stack-ipv4.nft", full.slice(basePrefix.length));
    expect(actual).toBe(expected);
  });

  it("dual-stack, IPv6 table (ip6 svcedge, whole)", () => {
    const full = renderNftables(buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" }), {
      family: "IPv6",
      clusterCIDRs: ["2001:db8::/48"],
      serviceCIDRs: ["10.96.0.0/12", "2001:db8:96::/112"],
      nodePortIPs: ["2001:db8::1", "::1"],
    });
    const { expected, actual } = expectGolden("dual-stack-ipv6.nft", full);
    expect(actual).toBe(expected);
  });

  it("renders nothing per service for ExternalName and headless Services", () => {
    const skipped = GOLDEN_CASES.find((c) => c.name === "externalname-and-headless")!;
    expect(renderNftables(buildProxyState(skipped.input), { clusterCIDRs: [POD_CIDR] })).toBe(baseRender);
  });
});

/** A cluster of `count` ClusterIP services with `perService` endpoints each. */
function bigState(count: number, perService: number, tweak?: (svc: number, ep: number) => { ready?: boolean } | undefined): ProxyState {
  const services = [];
  const slices = [];
  for (let s = 0; s < count; s++) {
    const ip = `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`;
    services.push(service(`ns-${s % 50}`, `svc-${s}`, { clusterIP: ip, ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    const eps = [];
    for (let e = 0; e < perService; e++)
      eps.push(endpoint(`198.18.${((s * perService + e) >> 8) & 255}.${(s * perService + e) & 255}`, { node: NODE, ...tweak?.(s, e) }));
    slices.push(slice(`ns-${s % 50}`, `svc-${s}`, [{ name: "http", port: 8080 }], eps));
  }
  return buildProxyState({ services, slices, nodeName: NODE, nodeIPs: [NODE_IP] });
}

const modelOf = (m: NftModel) => ({
  chains: Object.fromEntries(m.ruleText),
  maps: Object.fromEntries([...m.maps].map(([k, v]) => [k, Object.fromEntries(v)])),
});

/** The update for a change the kernel can take incrementally (fails the test otherwise). */
function updateOf(prev: ProxyState, next: ProxyState): string {
  const update = renderNftablesUpdate(prev, next);
  if (update === undefined) throw new Error("expected an incremental update, got a full sync");
  return update;
}

const traceIn = (m: NftModel, dst: string, src = "198.19.9.9") => m.trace({ src, dst, proto: "TCP", dport: 80 }, { nodeIPs: [NODE_IP] });

describe("renderNftablesUpdate", () => {
  const all = (extra: Parameters<typeof bigState>[2]) => bigState(40, 3, extra);

  it("is empty when nothing changed", () => {
    const state = all(undefined);
    expect(renderNftablesUpdate(state, bigState(40, 3))).toBe("");
  });

  it("turns the index it is given (the proxier's, over prev) into next's", () => {
    const prev = all(undefined);
    const next = all((s, e) => (s === 5 && e === 0 ? { ready: false } : s === 9 ? { ready: false } : undefined));
    const index = buildIndex(prev);
    expect(renderNftablesUpdate(prev, next, {}, index)).not.toBe("");
    expect(index).toEqual(buildIndex(next));
    expect(index).not.toEqual(buildIndex(prev));
  });

  it.each([
    ["an endpoint becomes unready", (s: number, e: number) => (s === 7 && e === 1 ? { ready: false } : undefined)],
    ["a service loses all endpoints", (s: number) => (s === 3 ? { ready: false } : undefined)],
  ])("full(prev) + update(prev, next) holds what full(next) holds: %s", (_name, tweak) => {
    const prev = all(undefined);
    const next = all(tweak);
    const updated = new NftModel(renderNftables(prev)).apply(updateOf(prev, next));
    expect(modelOf(updated)).toEqual(modelOf(new NftModel(renderNftables(next))));
    // And back again.
    const restored = new NftModel(renderNftables(next)).apply(updateOf(next, prev));
    expect(modelOf(restored)).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("handles services appearing and disappearing", () => {
    const prev = bigState(10, 2);
    const next = bigState(12, 2);
    const grown = new NftModel(renderNftables(prev)).apply(updateOf(prev, next));
    expect(modelOf(grown)).toEqual(modelOf(new NftModel(renderNftables(next))));
    const shrunk = new NftModel(renderNftables(next)).apply(updateOf(next, prev));
    expect(modelOf(shrunk)).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  it("finds the pick chain for one fewer endpoint already there, and adds or deletes pick chains only when the largest count moves", () => {
    const prev = bigState(5, 3);
    const next = bigState(5, 3, (s, e) => (s === 2 && e === 0 ? { ready: false } : undefined));
    const update = updateOf(prev, next);
    // Pick chains 1..3 exist since the full sync: no map lookup rule is added by a shrinking Service.
    expect(update).not.toContain("add chain ip svcedge endpoints-");
    expect(update).toContain("add chain ip svcedge clusterip-tcp-mod-2\n");
    const updated = new NftModel(renderNftables(prev)).apply(update);
    expect(modelOf(updated)).toEqual(modelOf(new NftModel(renderNftables(next))));
    expect(traceIn(updated, "10.96.0.2").output).toBe("198.18.0.7:8080, 198.18.0.8:8080");
    const back = updateOf(next, prev);
    expect(back).toContain("delete chain ip svcedge clusterip-tcp-mod-2\n");
    expect(back).not.toContain("chain ip svcedge endpoints-");
    expect(modelOf(new NftModel(renderNftables(next)).apply(back))).toEqual(modelOf(new NftModel(renderNftables(prev))));

    const grown = bigState(5, 5);
    const up = updateOf(prev, grown);
    expect(up.match(/^add chain ip svcedge endpoints-tcp-mod-\d+$/gm)!.sort()).toEqual([
      "add chain ip svcedge endpoints-tcp-mod-4",
      "add chain ip svcedge endpoints-tcp-mod-5",
    ]);
    expect(modelOf(new NftModel(renderNftables(prev)).apply(up))).toEqual(modelOf(new NftModel(renderNftables(grown))));
    const down = updateOf(grown, prev);
    expect(down.match(/^delete chain ip svcedge endpoints-tcp-mod-\d+$/gm)!.sort()).toEqual([
      "delete chain ip svcedge endpoints-tcp-mod-4",
      "delete chain ip svcedge endpoints-tcp-mod-5",
    ]);
    expect(modelOf(new NftModel(renderNftables(grown)).apply(down))).toEqual(modelOf(new NftModel(renderNftables(prev))));
  });

  // Every protocol has its own endpoint maps: the Local-policy chains must pick from the right ones,
  // and --nodeport-addresses must restrict NodePorts of each.
  it.each(["TCP", "UDP", "SCTP"] as const)("moves Local-policy %s service ports between having a local endpoint and having none", (protocol) => {
    // Pods in 198.18/16; 198.19.9.9 is outside the cluster. NodePorts answer on NODE_IP only, not OTHER_NODE_IP.
    const OTHER_NODE_IP = "198.18.100.2";
    const opts = { clusterCIDRs: ["198.18.0.0/16"], nodePortIPs: [NODE_IP] };
    const http = { name: "http", port: 80, targetPort: 8080, protocol };
    const sticky = { sessionAffinity: "ClientIP" as const, sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } };
    const local = (ready: boolean) =>
      buildProxyState({
        services: [
          service("default", "edge", { type: "NodePort", clusterIP: "10.96.0.1", externalTrafficPolicy: "Local", ports: [{ ...http, nodePort: 30001 }] }),
          service("default", "node-local", { clusterIP: "10.96.0.2", internalTrafficPolicy: "Local", ports: [http] }),
          service("default", "sticky-edge", {
            type: "NodePort",
            clusterIP: "10.96.0.3",
            externalTrafficPolicy: "Local",
            ports: [{ ...http, nodePort: 30003 }],
            ...sticky,
          }),
        ],
        slices: ["edge", "node-local", "sticky-edge"].map((name, i) =>
          slice(
            "default",
            name,
            [{ name: "http", port: 8080, protocol }],
            [endpoint(`198.18.1.${10 + i}`, { node: NODE, ready }), endpoint(`198.18.2.${10 + i}`)],
          ),
        ),
        nodeName: NODE,
        nodeIPs: [NODE_IP, OTHER_NODE_IP],
      });
    const [withLocal, without] = [local(true), local(false)];
    const full = (state: ProxyState) => new NftModel(renderNftables(state, opts));
    const update = (from: ProxyState, to: ProxyState) => {
      const text = renderNftablesUpdate(from, to, opts);
      if (text === undefined) throw new Error("expected an incremental update");
      return full(from).apply(text);
    };
    expect(modelOf(update(withLocal, without))).toEqual(modelOf(full(without)));
    expect(modelOf(update(without, withLocal))).toEqual(modelOf(full(withLocal)));
    const node = { nodeIPs: [NODE_IP, OTHER_NODE_IP] };
    const nodePort = (m: NftModel, port: number, src: string, dst = NODE_IP) => m.trace({ src, dst, proto: protocol, dport: port }, node);
    const clusterIP = (m: NftModel, src: string) => m.trace({ src, dst: "10.96.0.2", proto: protocol, dport: 80 }, node);
    for (const [port, here, remote] of [
      [30001, "198.18.1.10:8080", "198.18.2.10:8080"],
      [30003, "198.18.1.12:8080", "198.18.2.12:8080"],
    ] as const) {
      // A local endpoint: an outside client reaches it with its address kept.
      expect(nodePort(full(withLocal), port, "198.19.9.9")).toEqual({ output: here, masquerade: false });
      // No local endpoint: a pod is short-circuited to the remote one, an outside client dropped.
      expect(nodePort(update(withLocal, without), port, "198.18.5.5")).toEqual({ output: remote, masquerade: false });
      expect(nodePort(update(withLocal, without), port, "198.19.9.9")).toEqual({ output: "DROP", masquerade: false });
      // Not one of the --nodeport-addresses: not a NodePort at all.
      expect(nodePort(full(withLocal), port, "198.19.9.9", OTHER_NODE_IP)).toEqual({ output: "ACCEPT", masquerade: false });
    }
    // internalTrafficPolicy Local: an off-cluster client is masqueraded, a pod keeps its address.
    expect(clusterIP(full(withLocal), "198.19.9.9")).toEqual({ output: "198.18.1.11:8080", masquerade: true });
    expect(clusterIP(full(withLocal), "198.18.5.5")).toEqual({ output: "198.18.1.11:8080", masquerade: false });
  });

  it("keeps a hairpin element while another service port still uses the endpoint", () => {
    const shared = (ready: boolean) =>
      buildProxyState({
        services: [
          service("default", "a", { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
          service("default", "b", { clusterIP: "10.96.0.2", ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
        ],
        slices: [
          slice("default", "a", [{ name: "http", port: 8080 }], [endpoint("198.18.1.1", { ready, node: NODE })]),
          slice("default", "b", [{ name: "http", port: 8080 }], [endpoint("198.18.1.1", { node: NODE })]),
        ],
        nodeName: NODE,
        nodeIPs: [NODE_IP],
      });
    const update = updateOf(shared(true), shared(false));
    expect(update).not.toContain("hairpin-endpoints");
    const updated = new NftModel(renderNftables(shared(true))).apply(update);
    expect(traceIn(updated, "10.96.0.2", "198.18.1.1")).toEqual({ output: "198.18.1.1:8080", masquerade: true });
  });

  it("keeps a ClusterIP in cluster-ips while another port of it remains, and removes it with the last", () => {
    const ports = [
      { name: "http", port: 80, targetPort: 8080 },
      { name: "https", port: 443, targetPort: 8443 },
    ];
    const state = (n: number) =>
      buildProxyState({
        services: n ? [service("default", "a", { clusterIP: "10.96.0.1", ports: ports.slice(2 - n) })] : [],
        slices: [],
        nodeName: NODE,
        nodeIPs: [NODE_IP],
      });
    const clusterIPs = (m: NftModel) => [...(m.maps.get("cluster-ips")?.keys() ?? [])];
    const two = new NftModel(renderNftables(state(2), { serviceCIDRs: ["10.96.0.0/24"] }));
    expect(clusterIPs(two)).toEqual(["10.96.0.1"]);
    expect(updateOf(state(2), state(1))).not.toContain("cluster-ips");
    const one = two.apply(updateOf(state(2), state(1)));
    expect(clusterIPs(one)).toEqual(["10.96.0.1"]);
    // Port 80 is gone, 443 remains: 80 is an undefined port of an active ClusterIP, rejected rather than passed on.
    expect(traceIn(one, "10.96.0.1", "198.19.9.9")).toEqual({ output: "REJECT", masquerade: false });
    const none = one.apply(updateOf(state(1), state(0)));
    expect(clusterIPs(none)).toEqual([]);
    // Unallocated now: dropped.
    expect(traceIn(none, "10.96.0.1")).toEqual({ output: "DROP", masquerade: false });
  });

  it("puts only endpoints that can hairpin here (this node's, or of no known node) in the hairpin set", () => {
    const noNode = endpoint("198.18.1.3");
    delete noNode.nodeName;
    const eps = { local: endpoint("198.18.1.1", { node: NODE }), remote: endpoint("198.18.1.2"), nowhere: noNode };
    const names = Object.keys(eps) as (keyof typeof eps)[];
    const state = buildProxyState({
      services: names.map((name, i) => service("default", name, { clusterIP: `10.96.0.${i + 1}`, ports: [{ name: "http", port: 80, targetPort: 8080 }] })),
      slices: names.map((name) => slice("default", name, [{ name: "http", port: 8080 }], [eps[name]])),
      nodeName: NODE,
      nodeIPs: [NODE_IP],
    });
    const text = renderNftables(state);
    expect(text).toContain("add element ip svcedge hairpin-endpoints { 198.18.1.1 . 198.18.1.1, 198.18.1.3 . 198.18.1.3 }\n");
    const model = new NftModel(text);
    expect(traceIn(model, "10.96.0.1", "198.18.1.1")).toEqual({ output: "198.18.1.1:8080", masquerade: true });
    expect(traceIn(model, "10.96.0.3", "198.18.1.3")).toEqual({ output: "198.18.1.3:8080", masquerade: true });
    // A remote pod's own packets are DNATed (and masqueraded) on its node; here it is only a target.
    expect(traceIn(model, "10.96.0.2", "198.18.1.2")).toEqual({ output: "198.18.1.2:8080", masquerade: false });
  });

  it("asks for a full sync when a changed service port shares an entry with another", () => {
    const clash = (port: number) =>
      buildProxyState({
        services: [
          service("default", "a", { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
          service("default", "b", { clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80, targetPort: port }] }),
        ],
        slices: [
          slice("default", "a", [{ name: "http", port: 8080 }], [endpoint("198.18.1.1")]),
          slice("default", "b", [{ name: "http", port }], [endpoint("198.18.1.2")]),
        ],
        nodeName: NODE,
        nodeIPs: [NODE_IP],
      });
    expect(renderNftablesUpdate(clash(8080), clash(9090))).toBeUndefined();
    // The full render gives the entry to the first Service only.
    expect(traceIn(new NftModel(renderNftables(clash(9090))), "10.96.0.1").output).toBe("198.18.1.1:8080");
  });

  it("keeps one endpoint's change to a small transaction at 10,000 services x 10 endpoints", () => {
    const prev = bigState(10_000, 10);
    const next = bigState(10_000, 10, (s, e) => (s === 4242 && e === 3 ? { ready: false } : undefined));
    const update = updateOf(prev, next).trim().split("\n");
    // The ClusterIP now goes to the shared 9-endpoint chains; indexes 3..9 move; the endpoint leaves the hairpin set.
    // No chain of its own is rewritten: service ports without affinity own none.
    expect(update.filter((l) => / chain ip svcedge service-/.test(l))).toHaveLength(0);
    expect(update.filter((l) => l.startsWith("add element ip svcedge service-ips ") && l.endsWith(": goto clusterip-tcp-mod-9 }"))).toHaveLength(1);
    expect(update.filter((l) => l.startsWith("delete element ip svcedge service-endpoints "))).toHaveLength(7);
    expect(update.filter((l) => l.startsWith("add element ip svcedge service-endpoints "))).toHaveLength(6);
    expect(update.filter((l) => l.startsWith("delete element ip svcedge hairpin-endpoints "))).toHaveLength(1);
    expect(update.length).toBeLessThan(25);
    // ...out of a full render holding an endpoint map element per (service, endpoint).
    expect(renderNftables(next).match(/ : [\d.]+ \. 8080/g)!.length).toBeGreaterThan(10_000 * 9);
  });
});

describe("full sync over an existing table", () => {
  it("deletes stale chains and affinity sets, keeps current affinity sets, and replaces a set whose timeout changed", () => {
    const sticky = GOLDEN_CASES.find((c) => c.name === "session-affinity")!;
    const state = buildProxyState(sticky.input);
    const sets = [...renderNftables(state).matchAll(/^\tset (affinity-\S+) /gm)].map((m) => m[1]!);
    expect(sets).toHaveLength(2);
    const existing = {
      chains: ["services", "service-OLD-default/gone/tcp/http", "endpoint-OLD"],
      sets: new Map<string, number | undefined>([
        [sets[0]!, 600],
        [sets[1]!, 300],
        ["affinity-OLD", 600],
        ["hairpin-endpoints", undefined],
      ]),
    };
    const text = renderNftables(state, {}, existing);
    expect(text).toContain("delete chain ip svcedge service-OLD-default/gone/tcp/http\n");
    expect(text).toContain("delete chain ip svcedge endpoint-OLD\n");
    expect(text).not.toContain("delete chain ip svcedge services\n");
    expect(text).toContain("delete set ip svcedge affinity-OLD\n");
    expect(text).toContain(`delete set ip svcedge ${sets[1]}\n`);
    expect(text).not.toContain(`delete set ip svcedge ${sets[0]}\n`);
    // Never the whole table: affinity sets keep their clients across full syncs.
    expect(text).not.toContain("delete table");
  });
});

describeNetns("nft -i session (real nft in a namespace)", ["nft"], () => {
  let lab: NetnsLab;
  beforeAll(async () => {
    lab = NetnsLab.create();
    await lab.addNamespace("node");
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  const listTable = async (table: string) => (await lab.exec("node", ["nft", "list", "table", "ip", table])).stdout;

  it("applies each transaction whole, reports a failing one without applying any of it, and carries on", async () => {
    const session = new NftSession({ netns: lab.ns("node") });
    try {
      expect(await session.apply("add table ip s1\nadd set ip s1 seen { type ipv4_addr; flags dynamic,timeout; timeout 10s; }\nadd chain ip s1 c\n")).toEqual({
        ok: true,
      });
      const failed = await session.apply("add rule ip s1 c accept\nadd rule ip s1 c no-such-statement\n");
      expect(failed.ok).toBe(false);
      expect(!failed.ok && failed.error).toContain("no-such-statement");
      // The first command of the failed transaction left nothing behind.
      expect(await listTable("s1")).not.toContain("accept");
      expect(await session.apply("add rule ip s1 c accept\nadd rule ip s1 c drop\n")).toEqual({ ok: true });
      expect(await listTable("s1")).toMatch(/accept\n\s+drop/);
    } finally {
      session.close();
    }
  });

  it("starts a new process when the old one died", async () => {
    const session = new NftSession({ netns: lab.ns("node") });
    try {
      expect(await session.apply("add table ip s2\n")).toEqual({ ok: true });
      const pids = execFileSync("ip", ["netns", "pids", lab.ns("node")], { encoding: "utf8" })
        .trim()
        .split("\n")
        .filter(Boolean);
      expect(pids).toHaveLength(1);
      process.kill(Number(pids[0]), "SIGKILL");
      // Written before or after the death is noticed: it fails or succeeds, but never hangs.
      await session.apply("add chain ip s2 a\n");
      expect(await session.apply("add chain ip s2 b\n")).toEqual({ ok: true });
      expect(await listTable("s2")).toContain("chain b");
    } finally {
      session.close();
    }
  });

  it("NftablesProxier falls back to a full sync when the kernel drifted under an incremental one", async () => {
    const proxier = new NftablesProxier({ netns: lab.ns("node"), clusterCIDRs: [POD_CIDR] });
    try {
      const prev = bigState(20, 3);
      const next = bigState(20, 3, (s, e) => (s === 4 && e === 1 ? { ready: false } : undefined));
      expect(await proxier.sync(prev)).toMatchObject({ ok: true, mode: "full" });
      expect(await proxier.sync(next)).toMatchObject({ ok: true, mode: "partial" });
      // Someone deletes the table: the next update's deletes fail in nft, and the proxier refills.
      await lab.must("node", ["nft", "delete", "table", "ip", "svcedge"]);
      expect(await proxier.sync(prev)).toMatchObject({ ok: true, mode: "full" });
      expect(await listTable("svcedge")).toContain("chain services");
    } finally {
      proxier.close();
    }
  });
});
