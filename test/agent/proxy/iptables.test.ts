import { describe, expect, it } from "vitest";
import { buildProxyState } from "../../../src/agent/proxy/state";
import { probability, renderIptables, renderIptablesChanges, renderIptablesSync } from "../../../src/agent/proxy/iptables/render";
import { IptablesModel } from "./trace/iptables";
import { DUAL_STACK_INPUT, endpoint, GOLDEN_CASES, NODE, NODE_IP, service, slice } from "./fixtures";
import { expectGolden } from "./golden";

const POD_CIDR = "198.18.0.0/15";

describe("renderIptables golden text", () => {
  it.each(GOLDEN_CASES)("$name", ({ name, input }) => {
    const { expected, actual } = expectGolden(`${name}.iptables`, renderIptables(buildProxyState(input), { clusterCIDRs: [POD_CIDR] }));
    expect(actual).toBe(expected);
  });
});

describe("renderIptables golden text, dual-stack (one ruleset per family)", () => {
  it("IPv4 (iptables-restore)", () => {
    const { expected, actual } = expectGolden("dual-stack-ipv4.iptables", renderIptables(buildProxyState(DUAL_STACK_INPUT), { clusterCIDRs: [POD_CIDR] }));
    expect(actual).toBe(expected);
  });

  it("IPv6 (ip6tables-restore), NodePorts on every local address but ::1", () => {
    const state = buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" });
    const { expected, actual } = expectGolden("dual-stack-ipv6.iptables", renderIptables(state, { family: "IPv6", clusterCIDRs: ["2001:db8::/48"] }));
    expect(actual).toBe(expected);
  });

  it("IPv6 with --nodeport-addresses: never ::1, and no localnet firewall", () => {
    const state = buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" });
    const text = renderIptables(state, { family: "IPv6", nodePortIPs: ["2001:db8::1", "::1"] });
    const toNodePorts = text.split("\n").filter((l) => l.endsWith("-j SVCEDGE-NODEPORTS"));
    expect(toNodePorts.map((l) => l.match(/ -d (\S+) /)?.[1])).toEqual(["2001:db8::1/128"]);
    expect(text).not.toContain("block incoming localnet connections");
  });
});

describe("renderIptables", () => {
  it("spreads load with statistic probabilities 1/(n-i), the last endpoint unconditional", () => {
    expect([probability(3), probability(2)]).toEqual(["0.3333333333", "0.5000000000"]);
    const c = GOLDEN_CASES.find((g) => g.name === "clusterip")!;
    const svcRules = renderIptables(buildProxyState(c.input))
      .split("\n")
      .filter((l) => l.startsWith("-A SVCEDGE-SVC-") && l.includes("-j SVCEDGE-SEP-"));
    expect(svcRules.map((l) => l.match(/--probability (\S+)/)?.[1] ?? "none")).toEqual(["0.3333333333", "0.5000000000", "none"]);
  });

  it("keeps the NodePorts jump as the last rule of SVCEDGE-SERVICES", () => {
    const all = GOLDEN_CASES.flatMap((c) => c.input.services);
    const text = renderIptables(buildProxyState({ services: all, slices: GOLDEN_CASES.flatMap((c) => c.input.slices), nodeName: NODE, nodeIPs: [NODE_IP] }));
    const nat = text.slice(text.indexOf("*nat"));
    const services = nat.split("\n").filter((l) => l.startsWith("-A SVCEDGE-SERVICES "));
    expect(services.length).toBeGreaterThan(5);
    expect(services.at(-1)).toContain("-m addrtype --dst-type LOCAL -j SVCEDGE-NODEPORTS");
  });

  it("sends NodePorts to SVCEDGE-NODEPORTS only on the --nodeport-addresses it was given, and guards localnet only when 127.0.0.1 takes them", () => {
    const state = buildProxyState(GOLDEN_CASES.find((g) => g.name === "nodeport")!.input);
    const services = (text: string) => text.split("\n").filter((l) => l.startsWith("-A SVCEDGE-SERVICES ") && l.endsWith("-j SVCEDGE-NODEPORTS"));
    const chosen = renderIptables(state, { nodePortIPs: ["198.18.0.1", "198.18.2.1"] });
    expect(services(chosen).map((l) => l.match(/ -d (\S+) /)?.[1])).toEqual(["198.18.0.1/32", "198.18.2.1/32"]);
    expect(chosen).not.toContain("block incoming localnet connections");
    const everywhere = renderIptables(state);
    expect(services(everywhere)).toHaveLength(1);
    expect(everywhere).toContain("block incoming localnet connections");
    expect(renderIptables(state, { nodePortIPs: ["127.0.0.1"] })).toContain("block incoming localnet connections");
  });

  it("masquerades off-cluster ClusterIP clients once for several pod ranges, through one chain", () => {
    const state = buildProxyState(GOLDEN_CASES.find((g) => g.name === "clusterip")!.input);
    const text = renderIptables(state, { clusterCIDRs: ["198.18.0.0/24", "198.18.3.0/24"] });
    expect(text.split("\n").filter((l) => l.startsWith("-A SVCEDGE-MASQ-OFF-CLUSTER "))).toEqual([
      '-A SVCEDGE-MASQ-OFF-CLUSTER -m comment --comment "pod traffic" -s 198.18.0.0/24 -j RETURN',
      '-A SVCEDGE-MASQ-OFF-CLUSTER -m comment --comment "pod traffic" -s 198.18.3.0/24 -j RETURN',
      '-A SVCEDGE-MASQ-OFF-CLUSTER -m comment --comment "off-cluster traffic to a cluster IP" -j SVCEDGE-MARK-MASQ',
    ]);
    const model = new IptablesModel(text);
    const from = (src: string) => model.trace({ src, dst: "10.96.0.10", proto: "TCP", dport: 80 }, { nodeIPs: [NODE_IP] }).masquerade;
    expect([from("198.18.0.7"), from("198.18.3.7"), from("198.19.9.9")]).toEqual([false, false, true]);
    // One range: kube-proxy's own rule, no chain.
    expect(renderIptables(state, { clusterCIDRs: ["198.18.0.0/24"] })).not.toContain("SVCEDGE-MASQ-OFF-CLUSTER");
  });

  it("deletes chains left over from the previous sync in the same restore", () => {
    const one = (eps: string[]) =>
      buildProxyState({
        services: [service("default", "web", { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, targetPort: 8080 }] })],
        slices: [
          slice(
            "default",
            "web",
            [{ name: "http", port: 8080 }],
            eps.map((ip) => endpoint(ip)),
          ),
        ],
        nodeName: NODE,
        nodeIPs: [NODE_IP],
      });
    const before = renderIptables(one(["198.18.1.2", "198.18.1.3"]));
    const oldChains = [...before.slice(before.indexOf("*nat")).matchAll(/^:(SVCEDGE-\S+)/gm)].map((m) => m[1]!);
    const after = renderIptables(one(["198.18.1.2"]), { existingChains: { nat: oldChains } });
    const deleted = [...after.matchAll(/^-X (\S+)/gm)].map((m) => m[1]!);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatch(/^SVCEDGE-SEP-/);
    // Declared (flushed) before it is deleted, and nothing jumps to it any more.
    expect(after).toContain(`:${deleted[0]} - [0:0]`);
    expect(after.split("\n").filter((l) => l.includes(`-j ${deleted[0]}`))).toEqual([]);
    // The tracer applies the restore as the kernel would.
    expect(Object.keys(new IptablesModel(after).chains())).not.toContain(`nat/${deleted[0]}`);
  });
});

/** The rule texts per chain after `iptables-restore --noflush` of the text, in order. */
function restoredRules(text: string): Record<string, string[]> {
  const chains: Record<string, string[]> = {};
  let table = "";
  for (const line of text.split("\n")) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^\*(\S+)$/))) table = m[1]!;
    else if ((m = line.match(/^:(\S+) /))) chains[`${table}/${m[1]}`] = [];
    else if ((m = line.match(/^-X (\S+)$/))) delete chains[`${table}/${m[1]}`];
    else if ((m = line.match(/^-A (\S+) /))) chains[`${table}/${m[1]}`]!.push(line);
  }
  return chains;
}

describe("renderIptablesChanges (partial restores)", () => {
  const stateOf = (cases: typeof GOLDEN_CASES) =>
    buildProxyState({ services: cases.flatMap((c) => c.input.services), slices: cases.flatMap((c) => c.input.slices), nodeName: NODE, nodeIPs: [NODE_IP] });
  const opts = { clusterCIDRs: [POD_CIDR] };
  // Every golden case appearing, disappearing and changing next to the others.
  const transitions = GOLDEN_CASES.flatMap((c) => {
    const others = GOLDEN_CASES.filter((o) => o !== c);
    return [
      { name: `${c.name} added`, before: others, after: GOLDEN_CASES },
      { name: `${c.name} removed`, before: GOLDEN_CASES, after: others },
    ];
  });

  it.each(transitions)("$name: the full ruleset plus the changes is the next full ruleset", ({ before, after }) => {
    const prev = renderIptablesSync(stateOf(before), opts);
    const next = renderIptablesSync(stateOf(after), opts);
    const changes = renderIptablesChanges(prev.chains, next.chains);
    // Nothing to write exactly when the rulesets are the same (ExternalName and headless Services have no rules).
    expect(changes === "").toBe(prev.text === next.text);
    // Sequential restores under --noflush are one text with several table sections: the tracer
    // applies it as the kernel would (it throws on a jump to a missing chain or deleting a
    // non-empty one), and every chain ends with the next ruleset's rules.
    expect(new IptablesModel(prev.text + changes).chains()).toEqual(new IptablesModel(next.text).chains());
    expect(restoredRules(prev.text + changes)).toEqual(restoredRules(next.text));
    // Only what changed is written: far less than the whole ruleset.
    expect(changes.length).toBeLessThan(next.text.length);
  });

  it("writes nothing when nothing changed, and only the changed chains for one endpoint", () => {
    const all = renderIptablesSync(stateOf(GOLDEN_CASES), opts);
    expect(renderIptablesChanges(all.chains, renderIptablesSync(stateOf(GOLDEN_CASES), opts).chains)).toBe("");
    const one = (eps: string[]) =>
      renderIptablesSync(
        buildProxyState({
          services: [service("default", "web", { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, targetPort: 8080 }] })],
          slices: [
            slice(
              "default",
              "web",
              [{ name: "http", port: 8080 }],
              eps.map((ip) => endpoint(ip)),
            ),
          ],
          nodeName: NODE,
          nodeIPs: [NODE_IP],
        }),
      );
    const changes = renderIptablesChanges(one(["198.18.1.2", "198.18.1.3"]).chains, one(["198.18.1.2"]).chains);
    const declared = [...changes.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
    // The service chain (its balancing rules changed) and the removed endpoint's chain, nothing else.
    expect(declared).toHaveLength(2);
    expect(declared.filter((c) => c.startsWith("SVCEDGE-SVC-"))).toHaveLength(1);
    const deleted = [...changes.matchAll(/^-X (\S+)/gm)].map((m) => m[1]!);
    expect(deleted).toEqual(declared.filter((c) => c.startsWith("SVCEDGE-SEP-")));
  });
});
