// Upstream's TestCreateInitNodePorts and TestCreateExternalTrafficPolicy (kubernetes/kubernetes
// pkg/registry/core/service/storage/storage_test.go), replayed over REST on the single-stack IPv4 cluster:
// each case is a POST, and checks the nodePorts and healthCheckNodePort stored (allocated, or the ones asked
// for), or the 422's causes where upstream expects an error. Upstream's svctest.MakeService is a ClusterIP
// Service with one port "p" 80/TCP.
// Translated: the nodePorts upstream asks for (SetUniqueNodePorts 30000+i, 30053, 30080, 30093, and the
// healthCheckNodePort 30000) become 30700+i, 30753, 30780, 30793 and 30750; the ExternalName cases get an
// externalName, except TestCreateInitNodePorts' "type:ExternalName" and "type:ExternalName_with_NodePorts", which
// upstream builds with a plain svctest.MakeService (a ClusterIP Service) and are replayed as written. Left out: TestCreateInitNodePorts' cases for the ServiceLBNodePortControl and
// MixedProtocolLBService gates turned off (both gates are locked on in 1.32).
// Agreement: TestCreateInitNodePorts 26 of 26; TestCreateExternalTrafficPolicy 24 of 25, where
// "LoadBalancer_policy:Local_hcnp:negative" departs on purpose (as in service-validation.clusters.test.ts:
// kube-apiserver answers 500 InternalError from its allocator, svcedge 422 on spec.healthCheckNodePort).
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "../admin/client";
import { causeFields, type Spec, type Svc } from "./conformance";

type Tweak = (s: Svc) => void;
interface Case {
  test: "TestCreateInitNodePorts" | "TestCreateExternalTrafficPolicy";
  name: string;
  tweaks: Tweak[];
  /** "nodePorts"/"hcnp": created with them; "none" without nodePorts, "noHcnp" without healthCheckNodePort; or the 422's causes. */
  expect: "nodePorts" | "none" | "hcnp" | "noHcnp" | string[];
  /** Why svcedge answers otherwise, on purpose. */
  departs?: { svcedge: string[]; why: string };
}

const makeService = (name: string): Svc => ({
  metadata: { name },
  spec: { selector: { k: "v" }, type: "ClusterIP", ports: [{ name: "p", port: 80, targetPort: 80, protocol: "TCP" }] },
});
const port = (name: string, p: number, protocol: string) => ({ name, port: p, targetPort: p, protocol });
const setTypeExternalName: Tweak = (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo.example.com" });
const setTypeClusterIP: Tweak = (s) => (s.spec.type = "ClusterIP");
const setTypeNodePort: Tweak = (s) => (s.spec.type = "NodePort");
const setTypeLoadBalancer: Tweak = (s) => (s.spec.type = "LoadBalancer");
const setUniqueNodePorts: Tweak = (s) => s.spec.ports.forEach((p: Spec, i: number) => (p.nodePort = 30700 + i));
const setNodePorts =
  (...nps: number[]): Tweak =>
  (s) =>
    s.spec.ports.forEach((p: Spec, i: number) => (p.nodePort = nps[i]));
const setPorts =
  (...ports: Spec[]): Tweak =>
  (s) =>
    (s.spec.ports = ports.map((p) => ({ ...p })));
const alloc =
  (v: boolean): Tweak =>
  (s) =>
    (s.spec.allocateLoadBalancerNodePorts = v);
const policy =
  (p: string): Tweak =>
  (s) =>
    (s.spec.externalTrafficPolicy = p);
const hcnp =
  (n: number): Tweak =>
  (s) =>
    (s.spec.healthCheckNodePort = n);
const WEB = setPorts(port("p", 80, "TCP"), port("q", 443, "TCP"));
const DNS = setPorts(port("p", 53, "TCP"), port("q", 53, "UDP"));
const CONFLICT = setPorts(port("p", 93, "TCP"), port("q", 76, "UDP"));

const NP = "TestCreateInitNodePorts" as const;
const ETP = "TestCreateExternalTrafficPolicy" as const;
const nodePortCases: Case[] = [
  { test: NP, name: "type:ExternalName", tweaks: [], expect: "none" },
  { test: NP, name: "type:ExternalName_with_NodePorts", tweaks: [setUniqueNodePorts], expect: ["spec.ports[0].nodePort"] },
  { test: NP, name: "type:ClusterIP", tweaks: [], expect: "none" },
  { test: NP, name: "type:ClusterIP_with_NodePorts", tweaks: [setUniqueNodePorts], expect: ["spec.ports[0].nodePort"] },
  { test: NP, name: "type:NodePort_single_port_unspecified", tweaks: [setTypeNodePort], expect: "nodePorts" },
  { test: NP, name: "type:NodePort_single_port_specified", tweaks: [setTypeNodePort, setUniqueNodePorts], expect: "nodePorts" },
  { test: NP, name: "type:NodePort_multiport_unspecified", tweaks: [setTypeNodePort, WEB], expect: "nodePorts" },
  { test: NP, name: "type:NodePort_multiport_specified", tweaks: [setTypeNodePort, WEB, setUniqueNodePorts], expect: "nodePorts" },
  { test: NP, name: "type:NodePort_multiport_same", tweaks: [setTypeNodePort, WEB, setNodePorts(30780, 30780)], expect: ["spec.ports[1].nodePort"] },
  { test: NP, name: "type:NodePort_multiport_multiproto_unspecified", tweaks: [setTypeNodePort, DNS], expect: "nodePorts" },
  { test: NP, name: "type:NodePort_multiport_multiproto_specified", tweaks: [setTypeNodePort, DNS, setUniqueNodePorts], expect: "nodePorts" },
  { test: NP, name: "type:NodePort_multiport_multiproto_same", tweaks: [setTypeNodePort, DNS, setNodePorts(30753, 30753)], expect: "nodePorts" },
  {
    test: NP,
    name: "type:NodePort_multiport_multiproto_conflict",
    tweaks: [setTypeNodePort, CONFLICT, setNodePorts(30793, 30793)],
    expect: ["spec.ports[1].nodePort"],
  },
  { test: NP, name: "type:LoadBalancer_single_port_unspecified:on_alloc:false", tweaks: [setTypeLoadBalancer, alloc(false)], expect: "none" },
  { test: NP, name: "type:LoadBalancer_single_port_unspecified:on_alloc:true", tweaks: [setTypeLoadBalancer, alloc(true)], expect: "nodePorts" },
  {
    test: NP,
    name: "type:LoadBalancer_single_port_specified:on_alloc:false",
    tweaks: [setTypeLoadBalancer, setUniqueNodePorts, alloc(false)],
    expect: "nodePorts",
  },
  {
    test: NP,
    name: "type:LoadBalancer_single_port_specified:on_alloc:true",
    tweaks: [setTypeLoadBalancer, setUniqueNodePorts, alloc(true)],
    expect: "nodePorts",
  },
  { test: NP, name: "type:LoadBalancer_multiport_unspecified:on_alloc:false", tweaks: [setTypeLoadBalancer, WEB, alloc(false)], expect: "none" },
  { test: NP, name: "type:LoadBalancer_multiport_unspecified:on_alloc:true", tweaks: [setTypeLoadBalancer, WEB, alloc(true)], expect: "nodePorts" },
  {
    test: NP,
    name: "type:LoadBalancer_multiport_specified:on_alloc:false",
    tweaks: [setTypeLoadBalancer, WEB, setUniqueNodePorts, alloc(false)],
    expect: "nodePorts",
  },
  {
    test: NP,
    name: "type:LoadBalancer_multiport_specified:on_alloc:true",
    tweaks: [setTypeLoadBalancer, WEB, setUniqueNodePorts, alloc(true)],
    expect: "nodePorts",
  },
  { test: NP, name: "type:LoadBalancer_multiport_same", tweaks: [setTypeLoadBalancer, WEB, setNodePorts(30780, 30780)], expect: ["spec.ports[1].nodePort"] },
  { test: NP, name: "type:LoadBalancer_multiport_multiproto_unspecified", tweaks: [setTypeLoadBalancer, DNS], expect: "nodePorts" },
  { test: NP, name: "type:LoadBalancer_multiport_multiproto_specified", tweaks: [setTypeLoadBalancer, DNS, setUniqueNodePorts], expect: "nodePorts" },
  { test: NP, name: "type:LoadBalancer_multiport_multiproto_same", tweaks: [setTypeLoadBalancer, DNS, setNodePorts(30753, 30753)], expect: "nodePorts" },
  {
    test: NP,
    name: "type:LoadBalancer_multiport_multiproto_conflict",
    tweaks: [setTypeLoadBalancer, CONFLICT, setNodePorts(30793, 30793)],
    expect: ["spec.ports[1].nodePort"],
  },
];

const HCNP = "spec.healthCheckNodePort";
const POLICY = "spec.externalTrafficPolicy";
/** Per type: [policy none, Cluster, Local] × [no hcnp, hcnp 30750], as upstream lists them. */
const policyCases = (type: string, setType: Tweak, answers: Case["expect"][]): Case[] =>
  [
    ["none", ""],
    ["Cluster", "Cluster"],
    ["Local", "Local"],
  ].flatMap(([label, p], i) =>
    [false, true].map((withHcnp, j) => ({
      test: ETP,
      name: `${type}_policy:${label}_hcnp:${withHcnp ? "specified" : "none"}`,
      tweaks: [setType, policy(p!), ...(withHcnp ? [hcnp(30750)] : [])],
      expect: answers[i * 2 + j]!,
    })),
  );
const externalTrafficCases: Case[] = [
  ...policyCases("ExternalName", setTypeExternalName, ["noHcnp", [HCNP], [POLICY], [POLICY, HCNP], [POLICY], [POLICY, HCNP]]),
  ...policyCases("ClusterIP", setTypeClusterIP, ["noHcnp", [HCNP], [POLICY], [POLICY, HCNP], [POLICY], [POLICY, HCNP]]),
  ...policyCases("NodePort", setTypeNodePort, ["noHcnp", [HCNP], "noHcnp", [HCNP], "noHcnp", [HCNP]]),
  ...policyCases("LoadBalancer", setTypeLoadBalancer, ["noHcnp", [HCNP], "noHcnp", [HCNP], "hcnp", "hcnp"]),
  {
    test: ETP,
    name: "LoadBalancer_policy:Local_hcnp:negative",
    tweaks: [setTypeLoadBalancer, policy("Local"), hcnp(-1)],
    expect: ["500 InternalError"],
    departs: { svcedge: [HCNP], why: "bad input is never a 500 here: svcedge refuses the negative port in validation" },
  },
];

describe("Service port allocation on create over REST (storage_test.go)", () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace("alloc");
  });
  [...nodePortCases, ...externalTrafficCases].forEach((c, i) => {
    it(`${c.test}: ${c.name}`, async () => {
      const svc = makeService(`a${i}`);
      for (const t of c.tweaks) t(svc);
      const res = await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", ...svc });
      const body = await json(res);
      await call("DELETE", `/api/v1/namespaces/${ns}/services/${svc.metadata.name}`);
      const want = c.departs?.svcedge ?? c.expect;
      if (Array.isArray(want)) {
        expect(res.status, JSON.stringify(body.spec ?? body)).toBe(422);
        expect(causeFields(body)).toEqual([...want].sort());
        return;
      }
      expect(res.status, JSON.stringify(body.details?.causes ?? body.message)).toBe(201);
      const ports: Spec[] = body.spec.ports;
      if (want === "noHcnp") {
        expect(body.spec.healthCheckNodePort).toBeUndefined();
        return;
      }
      if (want === "none") {
        expect(ports.map((p) => p.nodePort)).toEqual(ports.map(() => undefined));
        expect(body.spec.healthCheckNodePort).toBeUndefined();
        return;
      }
      if (want === "hcnp") {
        const asked = svc.spec.healthCheckNodePort;
        expect(body.spec.healthCheckNodePort).toEqual(asked ?? expect.any(Number));
        expect(ports.map((p) => p.nodePort)).not.toContain(body.spec.healthCheckNodePort);
        return;
      }
      // Every port has one; the ones asked for are kept; the others are unique, except between
      // protocols of the same port number.
      expect(ports.every((p) => p.nodePort >= 30000 && p.nodePort <= 32767)).toBe(true);
      svc.spec.ports.forEach((p: Spec, j: number) => p.nodePort && expect(ports[j]!.nodePort).toBe(p.nodePort));
      const seen = new Map<number, number>();
      ports.forEach((p, j) => {
        if (svc.spec.ports[j].nodePort) return;
        const prev = seen.get(p.nodePort);
        if (prev !== undefined) expect(prev, `ports[${j}].nodePort ${p.nodePort} shared`).toBe(p.port);
        seen.set(p.nodePort, p.port);
      });
    });
  });
});
