// Upstream's TestDropTypeDependentFields (kubernetes/kubernetes pkg/registry/core/service/strategy_test.go),
// replayed over REST on the single-stack IPv4 cluster (`worker`) and the dual-stack one (`worker-dual-stack`):
// the old Service is created with POST, the patch applied to what GET returned, and the result PUT back.
// Upstream calls dropTypeDependentFields on two internal objects and compares clusterIP(s), ipFamilies,
// ipFamilyPolicy, nodePorts, healthCheckNodePort, allocateLoadBalancerNodePorts, loadBalancerClass and
// externalTrafficPolicy; kube-apiserver's PUT also defaults, allocates and validates, so a case expects what
// it answers: 200 and those fields as stored, or 422 Invalid with these causes' fields, where a field the
// strategy keeps is one validation refuses for the new type.
// Translated: upstream's makeValidService here is PreferDualStack with ClusterIPs [1.2.3.4, 5:6:7::8]: on the
// dual-stack cluster [10.96.102.4, 2001:db8:96::102], on the single-stack one [10.96.102.4] alone (and the
// case that swaps the two families is left out there); a change to a ClusterIP is a change to another address
// of the range; the added port has port 4242 (upstream's 0 is refused by validation before any of this
// matters); ExternalName gets an externalName; externalIPs are 198.18.0.1. Where kube-apiserver's answer
// differs from the unit test's expectation because of the v1 defaults (a LoadBalancer's
// allocateLoadBalancerNodePorts is never unset once stored), the case says so.
// Agreement: 31 of 31 cases on the dual-stack cluster, 30 of 30 on the single-stack one.
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "../admin/client";
import { CLUSTER, causeFields, makeValidService, type Svc } from "./conformance";

type Tweak = (s: Svc) => void;
/** The fields upstream compares, as stored. */
interface Stored {
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  nodePorts: (number | undefined)[];
  healthCheckNodePort?: number;
  allocateLoadBalancerNodePorts?: boolean;
  loadBalancerClass?: string;
  externalTrafficPolicy?: string;
}
interface Case {
  name: string;
  /** The old Service: tweaks to upstream's makeValidService. */
  svc: Tweak[];
  patch: Tweak[];
  /** 200 and the fields stored (a change to those of the old Service as created), or the 422's causes. */
  expect: ((s: Stored) => void) | string[];
  /** Why kube-apiserver's answer is not what the unit test expects of dropTypeDependentFields alone. */
  rest?: string;
  dualOnly?: boolean;
  /** The new type needs nodePorts the old Service had not: the PUT allocates them. */
  allocates?: true;
}

const DUAL = CLUSTER === "46";
const V4 = "10.96.102.4";
const V4B = "10.96.102.40";
const V6 = "2001:db8:96::102";
const V6B = "2001:db8:96::1020";

const setTypeExternalName: Tweak = (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo.bar.example.com" });
const setTypeNodePort: Tweak = (s) => (s.spec.type = "NodePort");
const setTypeClusterIP: Tweak = (s) => (s.spec.type = "ClusterIP");
const setTypeLoadBalancer: Tweak = (s) => (s.spec.type = "LoadBalancer");
const changeClusterIPs: Tweak = (s) => (s.spec.clusterIPs[0] = s.spec.clusterIP = s.spec.clusterIP === V4 ? V4B : V6B);
const setNodePorts: Tweak = (s) => s.spec.ports.forEach((p: any, i: number) => (p.nodePort = 30000 + i));
const changeNodePorts: Tweak = (s) => s.spec.ports.forEach((p: any) => (p.nodePort += 100));
const setExternalIPs: Tweak = (s) => (s.spec.externalIPs = ["198.18.0.1"]);
const clearExternalIPs: Tweak = (s) => delete s.spec.externalIPs;
const setExternalTrafficPolicyCluster: Tweak = (s) => (s.spec.externalTrafficPolicy = "Cluster");
const changeIPFamilies: Tweak = (s) => (s.spec.ipFamilies[0] = s.spec.ipFamilies[1]);
const changeIPFamilyPolicy: Tweak = (s) => (s.spec.ipFamilyPolicy = "SingleStack");
const addPort: Tweak = (s) => s.spec.ports.push({ name: "new", protocol: "TCP", port: 4242, targetPort: 4242 });
const delPort: Tweak = (s) => s.spec.ports.pop();
const changePort: Tweak = (s) => Object.assign(s.spec.ports[0], { port: s.spec.ports[0].port + 100, protocol: "UDP" });
const setHCNodePort: Tweak = (s) => Object.assign(s.spec, { externalTrafficPolicy: "Local", healthCheckNodePort: 32000 });
const changeHCNodePort: Tweak = (s) => (s.spec.healthCheckNodePort += 100);
const setAllocateLoadBalancerNodePortsTrue: Tweak = (s) => (s.spec.allocateLoadBalancerNodePorts = true);
const setAllocateLoadBalancerNodePortsFalse: Tweak = (s) => (s.spec.allocateLoadBalancerNodePorts = false);
const clearAllocateLoadBalancerNodePorts: Tweak = (s) => delete s.spec.allocateLoadBalancerNodePorts;
const setLoadBalancerClass: Tweak = (s) => (s.spec.loadBalancerClass = "test-load-balancer-class");
const clearLoadBalancerClass: Tweak = (s) => delete s.spec.loadBalancerClass;
const changeLoadBalancerClass: Tweak = (s) => (s.spec.loadBalancerClass = "test-load-balancer-class-changed");

const unchanged = () => {};
const clearedIPs = (s: Stored) => Object.assign(s, { clusterIP: undefined, clusterIPs: undefined, ipFamilies: undefined, ipFamilyPolicy: undefined });
const noNodePorts = (s: Stored) => (s.nodePorts = s.nodePorts.map(() => undefined));
const nodePortFields = (n: number) => Array.from({ length: n }, (_, i) => `spec.ports[${i}].nodePort`);
const withoutAlnp = (s: Stored) => delete s.allocateLoadBalancerNodePorts;

const CASES: Case[] = [
  // clusterIP cases
  { name: "don't clear clusterIP et al", svc: [], patch: [], expect: unchanged },
  { name: "clear clusterIP et al", svc: [], patch: [setTypeExternalName], expect: clearedIPs },
  { name: "don't clear changed clusterIP", svc: [], patch: [setTypeExternalName, changeClusterIPs], expect: ["spec.clusterIPs"] },
  { name: "don't clear changed ipFamilies", svc: [], patch: [setTypeExternalName, changeIPFamilies], expect: ["spec.ipFamilies"], dualOnly: true },
  { name: "don't clear changed ipFamilyPolicy", svc: [], patch: [setTypeExternalName, changeIPFamilyPolicy], expect: ["spec.ipFamilyPolicy"] },
  // nodePort cases
  { name: "don't clear nodePorts for type=NodePort", svc: [setTypeNodePort, setNodePorts], patch: [], expect: unchanged },
  { name: "don't clear nodePorts for type=LoadBalancer", svc: [setTypeLoadBalancer, setNodePorts], patch: [], expect: unchanged },
  {
    name: "clear nodePorts",
    svc: [setTypeLoadBalancer, setNodePorts],
    patch: [setTypeClusterIP],
    expect: (s) => (noNodePorts(s), delete s.allocateLoadBalancerNodePorts, delete s.externalTrafficPolicy),
  },
  { name: "don't clear changed nodePorts", svc: [setTypeLoadBalancer, setNodePorts], patch: [setTypeClusterIP, changeNodePorts], expect: nodePortFields(2) },
  {
    name: "clear nodePorts when adding a port",
    svc: [setTypeLoadBalancer, setNodePorts],
    patch: [setTypeClusterIP, addPort],
    expect: (s) => ((s.nodePorts = [undefined, undefined, undefined]), delete s.allocateLoadBalancerNodePorts, delete s.externalTrafficPolicy),
  },
  {
    name: "don't clear nodePorts when adding a port with NodePort",
    svc: [setTypeLoadBalancer, setNodePorts],
    patch: [setTypeClusterIP, addPort, setNodePorts],
    expect: nodePortFields(3),
  },
  {
    name: "clear nodePorts when removing a port",
    svc: [setTypeLoadBalancer, setNodePorts],
    patch: [setTypeClusterIP, delPort],
    expect: (s) => ((s.nodePorts = [undefined]), delete s.allocateLoadBalancerNodePorts, delete s.externalTrafficPolicy),
  },
  {
    name: "clear nodePorts when changing a port",
    svc: [setTypeLoadBalancer, setNodePorts],
    patch: [setTypeClusterIP, changePort],
    expect: (s) => (noNodePorts(s), delete s.allocateLoadBalancerNodePorts, delete s.externalTrafficPolicy),
  },
  // healthCheckNodePort cases
  { name: "don't clear healthCheckNodePort for type=LoadBalancer", svc: [setTypeLoadBalancer, setHCNodePort], patch: [], expect: unchanged },
  {
    name: "clear healthCheckNodePort",
    svc: [setTypeLoadBalancer, setHCNodePort],
    patch: [setTypeClusterIP],
    expect: (s) => (noNodePorts(s), delete s.healthCheckNodePort, delete s.allocateLoadBalancerNodePorts, delete s.externalTrafficPolicy),
  },
  {
    name: "don't clear changed healthCheckNodePort",
    svc: [setTypeLoadBalancer, setHCNodePort],
    patch: [setTypeClusterIP, changeHCNodePort],
    expect: ["spec.healthCheckNodePort"],
  },
  // allocatedLoadBalancerNodePorts cases
  {
    name: "clear allocatedLoadBalancerNodePorts true -> true",
    svc: [setTypeLoadBalancer, setAllocateLoadBalancerNodePortsTrue],
    patch: [setTypeNodePort],
    expect: withoutAlnp,
  },
  {
    // A LoadBalancer without nodePorts gets them when it becomes a NodePort.
    name: "clear allocatedLoadBalancerNodePorts false -> false",
    svc: [setTypeLoadBalancer, setAllocateLoadBalancerNodePortsFalse],
    patch: [setTypeNodePort],
    expect: withoutAlnp,
    allocates: true,
  },
  {
    name: "set allocatedLoadBalancerNodePorts nil -> true",
    svc: [setTypeLoadBalancer],
    patch: [setTypeNodePort, setAllocateLoadBalancerNodePortsTrue],
    expect: withoutAlnp,
    rest: "the v1 defaults store a LoadBalancer's unset allocateLoadBalancerNodePorts as true, so true is no change and is dropped",
  },
  {
    name: "set allocatedLoadBalancerNodePorts nil -> false",
    svc: [setTypeLoadBalancer],
    patch: [setTypeNodePort, setAllocateLoadBalancerNodePortsFalse],
    expect: ["spec.allocateLoadBalancerNodePorts"],
    rest: "a changed value is kept, as upstream expects, and validation refuses it on a NodePort",
  },
  {
    name: "set allocatedLoadBalancerNodePorts true -> nil",
    svc: [setTypeLoadBalancer, setAllocateLoadBalancerNodePortsTrue],
    patch: [setTypeNodePort, clearAllocateLoadBalancerNodePorts],
    expect: withoutAlnp,
  },
  {
    name: "set allocatedLoadBalancerNodePorts false -> nil",
    svc: [setTypeLoadBalancer, setAllocateLoadBalancerNodePortsFalse],
    patch: [setTypeNodePort, clearAllocateLoadBalancerNodePorts],
    expect: withoutAlnp,
    allocates: true,
  },
  {
    name: "set allocatedLoadBalancerNodePorts true -> false",
    svc: [setTypeLoadBalancer, setAllocateLoadBalancerNodePortsTrue],
    patch: [setTypeNodePort, setAllocateLoadBalancerNodePortsFalse],
    expect: ["spec.allocateLoadBalancerNodePorts"],
    rest: "kept, as upstream expects; validation refuses it on a NodePort",
  },
  {
    name: "set allocatedLoadBalancerNodePorts false -> true",
    svc: [setTypeLoadBalancer, setAllocateLoadBalancerNodePortsFalse],
    patch: [setTypeNodePort, setAllocateLoadBalancerNodePortsTrue],
    expect: ["spec.allocateLoadBalancerNodePorts"],
    rest: "kept, as upstream expects; validation refuses it on a NodePort",
  },
  // loadBalancerClass cases
  {
    name: "clear loadBalancerClass when set Service type LoadBalancer -> non LoadBalancer",
    svc: [setTypeLoadBalancer, setLoadBalancerClass],
    patch: [setTypeClusterIP],
    expect: (s) => (noNodePorts(s), delete s.loadBalancerClass, delete s.allocateLoadBalancerNodePorts, delete s.externalTrafficPolicy),
  },
  {
    name: "update loadBalancerClass load balancer class name",
    svc: [setTypeLoadBalancer, setLoadBalancerClass],
    patch: [changeLoadBalancerClass],
    expect: ["spec.loadBalancerClass"],
    rest: "kept, as upstream expects; validation refuses a change of a LoadBalancer's class",
  },
  {
    name: "clear load balancer class name",
    svc: [setTypeLoadBalancer, setLoadBalancerClass],
    patch: [clearLoadBalancerClass],
    expect: ["spec.loadBalancerClass"],
    rest: "kept, as upstream expects; validation refuses a change of a LoadBalancer's class",
  },
  {
    name: "change service type and load balancer class",
    svc: [setTypeLoadBalancer, setLoadBalancerClass],
    patch: [setTypeClusterIP, changeLoadBalancerClass],
    expect: ["spec.loadBalancerClass"],
    rest: "kept, as upstream expects; validation refuses a class on a ClusterIP Service",
  },
  {
    name: "change service type to load balancer and set load balancer class",
    svc: [setTypeClusterIP],
    patch: [setTypeLoadBalancer, setLoadBalancerClass],
    expect: (s) => Object.assign(s, { loadBalancerClass: "test-load-balancer-class", allocateLoadBalancerNodePorts: true, externalTrafficPolicy: "Cluster" }),
    allocates: true,
  },
  { name: "don't clear load balancer class for Type=LoadBalancer", svc: [setTypeLoadBalancer, setLoadBalancerClass], patch: [], expect: unchanged },
  {
    name: "clear externalTrafficPolicy when removing externalIPs for Type=ClusterIP",
    svc: [setTypeClusterIP, setExternalIPs, setExternalTrafficPolicyCluster],
    patch: [clearExternalIPs],
    expect: (s) => delete s.externalTrafficPolicy,
  },
];

/** upstream's makeValidService in strategy_test.go: two ports and PreferDualStack ClusterIPs. */
function makeStrategyService(name: string): Svc {
  const svc = makeValidService(name);
  svc.spec.ports.push({ name: "q", protocol: "TCP", port: 309, targetPort: 309 });
  const clusterIPs = DUAL ? [V4, V6] : [V4];
  Object.assign(svc.spec, { clusterIP: V4, clusterIPs, ipFamilyPolicy: "PreferDualStack", ipFamilies: DUAL ? ["IPv4", "IPv6"] : ["IPv4"] });
  return svc;
}

const stored = (s: Svc): Stored => ({
  clusterIP: s.spec.clusterIP,
  clusterIPs: s.spec.clusterIPs,
  ipFamilies: s.spec.ipFamilies,
  ipFamilyPolicy: s.spec.ipFamilyPolicy,
  nodePorts: s.spec.ports.map((p: { nodePort?: number }) => p.nodePort),
  healthCheckNodePort: s.spec.healthCheckNodePort,
  allocateLoadBalancerNodePorts: s.spec.allocateLoadBalancerNodePorts,
  loadBalancerClass: s.spec.loadBalancerClass,
  externalTrafficPolicy: s.spec.externalTrafficPolicy,
});
/** Drops the unset fields, so that a missing field and an undefined one compare equal. */
const defined = (s: Stored) => JSON.parse(JSON.stringify({ ...s, nodePorts: s.nodePorts.map((n) => n ?? null) }));

if (CLUSTER === "4" || DUAL)
  describe(`TestDropTypeDependentFields over REST (${DUAL ? "dual-stack" : "single-stack IPv4"})`, () => {
    let ns: string;
    beforeAll(async () => {
      ns = await freshNamespace("drop");
    });
    CASES.forEach((c, i) => {
      // A case that needs two families is not defined on the single-stack cluster.
      if (c.dualOnly && !DUAL) return;
      it(c.name, async () => {
        const name = `d${i}`;
        const old = makeStrategyService(name);
        for (const t of c.svc) t(old);
        const created = await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", ...old });
        const createdBody = await json(created);
        expect(created.status, JSON.stringify(createdBody.details?.causes)).toBe(201);
        const next = (await json(await call("GET", `/api/v1/namespaces/${ns}/services/${name}`))) as Svc;
        for (const t of c.patch) t(next);
        const res = await call("PUT", `/api/v1/namespaces/${ns}/services/${name}`, next);
        const body = await json(res);
        await call("DELETE", `/api/v1/namespaces/${ns}/services/${name}`);
        if (Array.isArray(c.expect)) {
          expect(res.status, JSON.stringify(body.spec ?? body)).toBe(422);
          expect(body.reason).toBe("Invalid");
          expect(causeFields(body)).toEqual([...c.expect].sort());
          return;
        }
        expect(res.status, JSON.stringify(body.details?.causes ?? body.message)).toBe(200);
        const want = stored(createdBody);
        c.expect(want);
        const got = stored(body);
        if (c.allocates) {
          expect(
            got.nodePorts.every((n) => n !== undefined && n >= 30000 && n <= 32767),
            JSON.stringify(got.nodePorts),
          ).toBe(true);
          want.nodePorts = got.nodePorts;
        }
        expect(defined(got)).toEqual(defined(want));
      });
    });
  });
