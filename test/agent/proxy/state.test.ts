import { describe, expect, it } from "vitest";
import {
  buildProxyState,
  filteredByLabels,
  IncrementalProxyState,
  PROXY_LABEL_SELECTOR,
  trimEndpointSliceForProxy,
  trimServiceForProxy,
} from "../../../src/agent/proxy/state";
import { matchesLabels, parseLabelSelector } from "../../../src/api/labels";
import type { Service } from "../../../src/api/types";
import { conformanceFixture, KERNEL_PLAN } from "./conformance.case";
import { DUAL_STACK_INPUT, endpoint, GOLDEN_CASES, NODE, OTHER_NODE, service, slice } from "./fixtures";

const build = (services: Service[], slices: ReturnType<typeof slice>[]) => buildProxyState({ services, slices, nodeName: NODE, nodeIPs: ["198.18.0.1"] });
const web = (spec: Partial<Service["spec"]> = {}) =>
  service("default", "web", { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, targetPort: 8080 }], ...spec });
const httpPort = [{ name: "http", port: 8080 }];

describe("buildProxyState", () => {
  it("reads EndpointSlice conditions as discovery/v1 defines nil values", () => {
    const [svc] = build(
      [web()],
      [
        slice("default", "web", httpPort, [
          endpoint("198.18.1.1"),
          endpoint("198.18.1.2", { ready: false }),
          endpoint("198.18.1.3", { ready: false, serving: true, terminating: true }),
        ]),
      ],
    ).services;
    expect(svc!.endpoints.map((e) => [e.ip, e.ready, e.serving, e.terminating])).toEqual([
      ["198.18.1.1", true, true, false],
      ["198.18.1.2", false, false, false],
      ["198.18.1.3", false, true, true],
    ]);
    expect(svc!.clusterEndpoints.map((e) => e.ip)).toEqual(["198.18.1.1"]);
  });

  it("matches slice ports to service ports by name and protocol, and ignores other services' slices", () => {
    const svc = service("default", "dns", {
      clusterIP: "10.96.0.53",
      ports: [
        { name: "dns", port: 53, protocol: "UDP", targetPort: "dns" },
        { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: "dns-tcp" },
      ],
    });
    const state = build(
      [svc],
      [
        slice(
          "default",
          "dns",
          [
            { name: "dns", port: 1053, protocol: "UDP" },
            { name: "dns-tcp", port: 2053, protocol: "TCP" },
          ],
          [endpoint("198.18.1.1")],
        ),
        slice("other", "dns", [{ name: "dns", port: 9, protocol: "UDP" }], [endpoint("198.18.9.9")]),
      ],
    );
    expect(state.services.map((s) => [s.name, s.protocol, s.endpoints.map((e) => `${e.ip}:${e.port}`)])).toEqual([
      ["default/dns:dns", "UDP", ["198.18.1.1:1053"]],
      ["default/dns:dns-tcp", "TCP", ["198.18.1.1:2053"]],
    ]);
  });

  it("keeps one copy of an endpoint listed by two slices, sorted numerically", () => {
    const [svc] = build(
      [web()],
      [
        slice("default", "web", httpPort, [endpoint("198.18.1.10"), endpoint("198.18.1.9"), endpoint("198.18.1.2")]),
        slice("default", "web", httpPort, [endpoint("198.18.1.9", { ready: false, terminating: true }), endpoint("198.18.1.10")]),
      ],
    ).services;
    expect(svc!.endpoints.map((e) => e.ip)).toEqual(["198.18.1.2", "198.18.1.9", "198.18.1.10"]);
    // The copy listed last is the one kept.
    expect(svc!.endpoints[1]).toMatchObject({ ready: false, terminating: true });
  });

  it("skips headless, ExternalName and IPv6-only services, and IPv6 slices", () => {
    const state = build(
      [
        web({ clusterIP: "None" }),
        service("default", "ext", { type: "ExternalName", externalName: "example.com" }),
        service("default", "v6", { clusterIP: "fd00::10", clusterIPs: ["fd00::10"], ports: [{ port: 80 }] }),
      ],
      [],
    );
    expect(state.services).toEqual([]);
  });

  it("takes NodePorts only from NodePort and LoadBalancer services, and LB IPs except ipMode Proxy", () => {
    const lb = web({ type: "LoadBalancer", ports: [{ name: "http", port: 80, nodePort: 30080 }] });
    lb.status = { loadBalancer: { ingress: [{ ip: "198.19.0.1" }, { ip: "198.19.0.2", ipMode: "Proxy" }, { hostname: "lb.example.com" }] } };
    const [s] = build([lb], []).services;
    expect([s!.nodePort, s!.loadBalancerIPs]).toEqual([30080, ["198.19.0.1"]]);
    const [c] = build([web({ ports: [{ name: "http", port: 80, nodePort: 30080 }] })], []).services;
    expect(c!.nodePort).toBe(0);
  });

  it("defaults ClientIP affinity to 10800 seconds", () => {
    const [s] = build([web({ sessionAffinity: "ClientIP" })], []).services;
    expect(s!.affinityTimeoutSeconds).toBe(10800);
  });

  it("categorizes endpoints like kube-proxy for Local policies", () => {
    const eps = [endpoint("198.18.1.1", { node: NODE, ready: false, serving: true, terminating: true }), endpoint("198.18.1.2", { node: OTHER_NODE })];
    const [s] = build(
      [web({ type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "http", port: 80, nodePort: 30080 }] })],
      [slice("default", "web", httpPort, eps)],
    ).services;
    // Cluster: the ready remote endpoint. Local: no ready local one, so the serving+terminating local one.
    expect(s!.clusterEndpoints.map((e) => e.ip)).toEqual(["198.18.1.2"]);
    expect(s!.localEndpoints.map((e) => e.ip)).toEqual(["198.18.1.1"]);
    expect(s!.allReachableEndpoints.map((e) => e.ip)).toEqual(["198.18.1.1", "198.18.1.2"]);
    expect(s!.hasAnyEndpoints).toBe(true);
  });
});

describe("IncrementalProxyState", () => {
  const other = () => service("default", "api", { clusterIP: "10.96.0.11", ports: [{ name: "http", port: 80 }] });
  const cluster = () => {
    const svcs = [web(), other()];
    const slices = [
      slice("default", "web", httpPort, [endpoint("198.18.1.1"), endpoint("198.18.1.2", { node: NODE })]),
      slice("default", "api", httpPort, [endpoint("198.18.2.1")]),
    ];
    return { svcs, slices };
  };
  const input = (svcs: Service[], slices: ReturnType<typeof slice>[], nodeName = NODE, nodeIPs = ["198.18.0.1"]) => ({
    services: svcs,
    slices,
    nodeName,
    nodeIPs,
  });
  const strip = (s: ReturnType<typeof buildProxyState>) => JSON.parse(JSON.stringify(s));

  it("builds what buildProxyState builds, and returns the same state when nothing changed", () => {
    const { svcs, slices } = cluster();
    const inc = new IncrementalProxyState();
    const first = inc.build(input(svcs, slices));
    expect(strip(first)).toEqual(strip(buildProxyState(input(svcs, slices))));
    expect(inc.build(input(svcs, slices))).toBe(first);
  });

  it("rebuilds only the Service whose slice changed, and matches a full build", () => {
    const { svcs, slices } = cluster();
    const inc = new IncrementalProxyState();
    const first = inc.build(input(svcs, slices));
    const changed = [slices[0]!, slice("default", "api", httpPort, [endpoint("198.18.2.1", { ready: false }), endpoint("198.18.2.2")])];
    const second = inc.build(input(svcs, changed));
    expect(second).not.toBe(first);
    const [webBefore, apiBefore] = [first.services.find((s) => s.service === "web"), first.services.find((s) => s.service === "api")];
    const [webAfter, apiAfter] = [second.services.find((s) => s.service === "web"), second.services.find((s) => s.service === "api")];
    expect(webAfter).toBe(webBefore);
    expect(apiAfter).not.toBe(apiBefore);
    expect(apiAfter!.clusterEndpoints.map((e) => e.ip)).toEqual(["198.18.2.2"]);
    expect(strip(second)).toEqual(strip(buildProxyState(input(svcs, changed))));
  });

  it("treats an equal resourceVersion as unchanged and a new one as changed", () => {
    const { svcs, slices } = cluster();
    slices[0]!.metadata.resourceVersion = "5";
    const inc = new IncrementalProxyState();
    const first = inc.build(input(svcs, slices));
    const copy = structuredClone(slices[0]!);
    expect(inc.build(input(svcs, [copy, slices[1]!]))).toBe(first);
    const bumped = structuredClone(slices[0]!);
    bumped.metadata.resourceVersion = "6";
    bumped.endpoints = [endpoint("198.18.1.9")];
    const next = inc.build(input(svcs, [bumped, slices[1]!]));
    expect(next.services.find((s) => s.service === "web")!.endpoints.map((e) => e.ip)).toEqual(["198.18.1.9"]);
  });

  it("drops a deleted Service and keeps the others' objects", () => {
    const { svcs, slices } = cluster();
    const inc = new IncrementalProxyState();
    const first = inc.build(input(svcs, slices));
    const second = inc.build(input([svcs[0]!], slices));
    expect(second.services.map((s) => s.service)).toEqual(["web"]);
    expect(second.services[0]).toBe(first.services.find((s) => s.service === "web"));
    // It comes back: built anew.
    expect(inc.build(input(svcs, slices)).services.map((s) => s.service)).toEqual(["api", "web"]);
  });

  it("drops the endpoints of a deleted slice and keeps an unlabeled slice out", () => {
    const { svcs, slices } = cluster();
    const inc = new IncrementalProxyState();
    inc.build(input(svcs, slices));
    const stray = slice("default", "web", httpPort, [endpoint("198.18.9.9")]);
    delete stray.metadata.labels;
    const next = inc.build(input(svcs, [slices[1]!, stray]));
    expect(next.services.find((s) => s.service === "web")!.endpoints).toEqual([]);
    expect(next.services.find((s) => s.service === "api")!.endpoints.map((e) => e.ip)).toEqual(["198.18.2.1"]);
  });

  it("rebuilds everything when the node changes, and a node IP change gives a new state", () => {
    const { svcs, slices } = cluster();
    const inc = new IncrementalProxyState();
    const first = inc.build(input(svcs, slices));
    const renamed = inc.build(input(svcs, slices, OTHER_NODE));
    for (const svc of renamed.services) expect(first.services).not.toContain(svc);
    expect(renamed.services.find((s) => s.service === "web")!.endpoints.map((e) => e.isLocal)).toEqual([true, false]);
    const readdressed = inc.build(input(svcs, slices, OTHER_NODE, ["198.18.0.2"]));
    expect(readdressed).not.toBe(renamed);
    expect(readdressed.nodeIPs).toEqual(["198.18.0.2"]);
    expect(strip(readdressed)).toEqual(strip(buildProxyState(input(svcs, slices, OTHER_NODE, ["198.18.0.2"]))));
  });
});

describe("trimming for the informer stores", () => {
  const inputs = [...GOLDEN_CASES.map((c) => [c.name, c.input] as const), ["conformance", conformanceFixture(KERNEL_PLAN).input] as const];

  it.each(inputs)("builds the same state from trimmed objects (%s)", (_name, input) => {
    const trimmed = { ...input, services: input.services.map(trimServiceForProxy), slices: input.slices.map(trimEndpointSliceForProxy) };
    expect(buildProxyState(trimmed)).toEqual(buildProxyState(input));
  });

  it("drops what the proxy does not read and keeps what identifies the object", () => {
    const svc = web({ selector: { app: "web" }, sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
    svc.metadata = {
      ...svc.metadata,
      uid: "u1",
      resourceVersion: "7",
      labels: { tier: "web" },
      annotations: { big: "x".repeat(1000) },
      managedFields: [{ manager: "kubectl", operation: "Update" }],
    };
    const t = trimServiceForProxy(svc);
    expect(t.metadata).toEqual({ namespace: "default", name: "web", uid: "u1", resourceVersion: "7", labels: { tier: "web" } });
    expect(t.spec).toEqual({
      type: "ClusterIP",
      clusterIP: "10.96.0.10",
      ports: [{ name: "http", port: 80 }],
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    });

    const sl = slice("default", "web", httpPort, [
      { ...endpoint("198.18.1.1"), hostname: "h", targetRef: { kind: "Pod", name: "p" }, zone: "z" },
      endpoint("198.18.1.2", { ready: false }),
    ]);
    sl.metadata.managedFields = [{ manager: "m" }];
    const ts = trimEndpointSliceForProxy(sl);
    expect(ts.metadata.managedFields).toBeUndefined();
    expect(ts.endpoints).toEqual([
      { addresses: ["198.18.1.1"], conditions: {}, nodeName: OTHER_NODE },
      { addresses: ["198.18.1.2"], conditions: { ready: false }, nodeName: OTHER_NODE },
    ]);
    expect(ts.ports).toEqual(httpPort);
  });

  it("shares the endpoint list instead of copying it when every endpoint is ready", () => {
    const [svc] = build([web()], [slice("default", "web", httpPort, [endpoint("198.18.1.1"), endpoint("198.18.1.2")])]).services;
    expect(svc!.clusterEndpoints).toBe(svc!.endpoints);
    expect(svc!.allReachableEndpoints).toBe(svc!.endpoints);
    const [partly] = build([web()], [slice("default", "web", httpPort, [endpoint("198.18.1.1"), endpoint("198.18.1.2", { ready: false })])]).services;
    expect(partly!.clusterEndpoints.map((e) => e.ip)).toEqual(["198.18.1.1"]);
    expect(partly!.endpoints).toHaveLength(2);
  });
});

describe("kube-proxy's label selector", () => {
  it("is one the API parses, and selects exactly what the proxy does not filter out itself", () => {
    const parsed = parseLabelSelector(PROXY_LABEL_SELECTOR);
    if (!parsed.ok) throw new Error(parsed.message);
    const cases: (Record<string, string> | undefined)[] = [
      undefined,
      { app: "web" },
      { "service.kubernetes.io/service-proxy-name": "other" },
      { "service.kubernetes.io/headless": "" },
      { app: "web", "service.kubernetes.io/headless": "" },
    ];
    for (const labels of cases) {
      const svc = service("default", "web", { clusterIP: "10.96.0.10", ports: [{ port: 80 }] }, [], labels);
      expect(matchesLabels(parsed.selector, labels)).toBe(!filteredByLabels(svc));
    }
  });

  it("leaves out labelled Services, and labelled slices of a proxied Service, also when built incrementally", () => {
    const labelled = service("default", "other", { clusterIP: "10.96.0.11", ports: [{ name: "http", port: 80 }] }, [], {
      "service.kubernetes.io/service-proxy-name": "other",
    });
    const headlessSlice = { ...slice("default", "web", httpPort, [endpoint("198.18.1.9")]) };
    headlessSlice.metadata.labels = { ...headlessSlice.metadata.labels, "service.kubernetes.io/headless": "" };
    const plainSlice = slice("default", "web", httpPort, [endpoint("198.18.1.1")]);
    const input = { services: [web(), labelled], slices: [plainSlice, headlessSlice], nodeName: NODE, nodeIPs: ["198.18.0.1"] };
    for (const state of [buildProxyState(input), new IncrementalProxyState().build(input)]) {
      expect(state.services.map((p) => p.name)).toEqual(["default/web:http"]);
      expect(state.services[0]!.endpoints.map((ep) => ep.ip)).toEqual(["198.18.1.1"]);
    }
  });
});

describe("the IP family split (one state per family, as kube-proxy's per-family proxiers)", () => {
  const summary = (state: ReturnType<typeof buildProxyState>) =>
    state.services.map((s) => ({
      name: s.name,
      clusterIPs: s.clusterIPs,
      externalIPs: s.externalIPs,
      loadBalancerIPs: s.loadBalancerIPs,
      endpoints: s.endpoints.map((ep) => ep.ip),
    }));

  it("gives the IPv4 state the IPv4 addresses and IPv4 slices, as before IPv6 was served", () => {
    const v4 = buildProxyState(DUAL_STACK_INPUT);
    expect(v4.nodeIPs).toEqual(["198.18.0.1"]);
    expect(summary(v4)).toEqual([
      { name: "default/sticky:http", clusterIPs: ["10.96.0.20"], externalIPs: [], loadBalancerIPs: [], endpoints: ["198.18.1.16", "198.18.1.17"] },
      { name: "default/v4-only:http", clusterIPs: ["10.96.0.40"], externalIPs: [], loadBalancerIPs: [], endpoints: ["198.18.1.40"] },
      {
        name: "default/web:http",
        clusterIPs: ["10.96.0.10"],
        externalIPs: ["198.19.0.20"],
        loadBalancerIPs: ["198.19.0.10"],
        endpoints: ["198.18.0.2", "198.18.1.2"],
      },
    ]);
  });

  it("gives the IPv6 state the IPv6 ClusterIPs, external and load-balancer IPs, and the addressType IPv6 slices (numeric order)", () => {
    const v6 = buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" });
    expect(v6.nodeIPs).toEqual(["2001:db8::1"]);
    expect(summary(v6)).toEqual([
      { name: "default/sticky:http", clusterIPs: ["2001:db8:96::20"], externalIPs: [], loadBalancerIPs: [], endpoints: ["2001:db8:1::16", "2001:db8:1::17"] },
      { name: "default/v6-only:http", clusterIPs: ["2001:db8:96::30"], externalIPs: [], loadBalancerIPs: [], endpoints: ["2001:db8:1::9", "2001:db8:1::10"] },
      {
        name: "default/web:http",
        clusterIPs: ["2001:db8:96::10"],
        externalIPs: ["2001:db8:19::20"],
        loadBalancerIPs: ["2001:db8:19::10"],
        endpoints: ["2001:db8::2", "2001:db8:1::2"],
      },
    ]);
    // Local policy counts this node's endpoints of the family.
    expect(v6.services[2]!.localEndpoints.map((ep) => ep.ip)).toEqual(["2001:db8::2"]);
  });

  it("builds the same per family incrementally", () => {
    const builder = new IncrementalProxyState("IPv6");
    expect(builder.build(DUAL_STACK_INPUT)).toEqual(buildProxyState({ ...DUAL_STACK_INPUT, family: "IPv6" }));
  });
});
