import { describe, expect, it } from "vitest";
import { buildProxyState } from "../../../src/agent/proxy/state";
import { probability, renderIptables } from "../../../src/agent/proxy/iptables/render";
import { IptablesModel } from "../../../src/agent/proxy/iptables/trace";
import { endpoint, GOLDEN_CASES, NODE, NODE_IP, service, slice } from "./fixtures";
import { expectGolden } from "./golden";

const POD_CIDR = "198.18.0.0/15";

describe("renderIptables golden text", () => {
  it.each(GOLDEN_CASES)("$name", ({ name, input }) => {
    const { expected, actual } = expectGolden(`${name}.iptables`, renderIptables(buildProxyState(input), { clusterCIDRs: [POD_CIDR] }));
    expect(actual).toBe(expected);
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

  it("deletes chains left over from the previous sync in the same restore", () => {
    const one = (eps: string[]) =>
      buildProxyState({
        services: [service("default", "web", { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, targetPort: 8080 }] })],
        slices: [slice("default", "web", [{ name: "http", port: 8080 }], eps.map((ip) => endpoint(ip)))],
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
