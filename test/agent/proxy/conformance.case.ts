// One table of packet cases with the outcome every proxier backend must produce. The
// cluster is built from an address plan so that the kernel backends (traced) can use lab
// addresses and the userspace backend real loopback ones.
import type { Packet, TraceResult } from "./trace/engine";
import type { ProxyStateInput } from "../../../src/agent/proxy/state";
import { endpoint, service, slice } from "./fixtures";

export interface AddressPlan {
  nodeIP: string;
  /** The n-th ClusterIP. */
  clusterIP: (n: number) => string;
  /** The n-th endpoint address (pods of this cluster). */
  podIP: (n: number) => string;
  podCIDR: string;
  serviceCIDR: string;
  /** A second pod range (--cluster-cidr given twice), and a pod in it. */
  secondPodCIDR: string;
  secondPodIP: string;
  /** An address of the node that --nodeport-addresses leaves out. */
  otherNodeIP: string;
  lbIP: string;
  externalIP: string;
  /** An address outside the cluster that clients come from. */
  outsideIP: string;
  targetPort: number;
  /** The Services' port (80 for the kernel; above 1024 so the userspace suite needs no privilege). */
  servicePort: number;
}

export const KERNEL_PLAN: AddressPlan = {
  nodeIP: "198.18.0.1",
  clusterIP: (n) => `10.96.0.${n}`,
  podIP: (n) => `198.18.1.${n}`,
  podCIDR: "198.18.1.0/24",
  serviceCIDR: "10.96.0.0/24",
  secondPodCIDR: "198.18.3.0/24",
  secondPodIP: "198.18.3.2",
  otherNodeIP: "198.18.4.1",
  lbIP: "198.19.0.10",
  externalIP: "198.19.0.20",
  outsideIP: "198.18.2.2",
  targetPort: 8080,
  servicePort: 80,
};

export type TracedBackend = "nftables" | "iptables";

export interface ConformanceCase {
  name: string;
  packet: Packet;
  expect: TraceResult;
  /** Where a kernel backend differs on purpose, as upstream's do (nftables' cluster-ips-check). */
  expectIn?: Partial<Record<TracedBackend, TraceResult>>;
  /** The userspace proxy cannot tell where a connection comes from, nor serve unknown ports or protocols other than TCP. "ACCEPT" (not ours) is a refusal there. */
  userspace?: false;
}

export interface ConformanceFixture {
  input: ProxyStateInput;
  clusterCIDRs: string[];
  /** The range the plan's ClusterIPs come from. */
  serviceCIDRs: string[];
  /** The node addresses NodePorts answer on (resolved --nodeport-addresses): not all of them. */
  nodePortIPs: string[];
  cases: ConformanceCase[];
  /** Every endpoint address:port a backend may forward to (the userspace suite starts servers there). */
  endpoints: string[];
}

const NODE = "node-a";
const OTHER = "node-b";

export function conformanceFixture(plan: AddressPlan): ConformanceFixture {
  const tp = plan.targetPort;
  const sp = plan.servicePort;
  const http = (nodePort?: number) => ({ name: "http", port: sp, targetPort: tp, ...(nodePort ? { nodePort } : {}) });
  const httpSlice = [{ name: "http", port: tp }];
  const ep = (n: number, port = tp) => `${plan.podIP(n)}:${port}`;
  const services = [
    service("default", "web", { type: "LoadBalancer", clusterIP: plan.clusterIP(1), externalIPs: [plan.externalIP], ports: [http(30080)] }, [plan.lbIP]),
    service("default", "empty", { clusterIP: plan.clusterIP(2), ports: [http()] }),
    service("default", "draining", { clusterIP: plan.clusterIP(3), ports: [http()] }),
    service("default", "local-edge", { type: "NodePort", clusterIP: plan.clusterIP(4), externalTrafficPolicy: "Local", ports: [http(30081)] }),
    service("default", "remote-edge", { type: "NodePort", clusterIP: plan.clusterIP(5), externalTrafficPolicy: "Local", ports: [http(30082)] }),
    service("default", "node-local", { clusterIP: plan.clusterIP(6), internalTrafficPolicy: "Local", ports: [http()] }),
    service("default", "multi", {
      clusterIP: plan.clusterIP(7),
      ports: [http(), { name: "metrics", port: 9090, targetPort: "metrics" }],
    }),
    service("default", "signal", {
      type: "NodePort",
      clusterIP: plan.clusterIP(8),
      ports: [{ name: "sctp", port: 9000, protocol: "SCTP", targetPort: 9000, nodePort: 30090 }],
    }),
    service("kube-system", "dns", { clusterIP: plan.clusterIP(9), ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 53 }] }),
    // Left out by kube-proxy's label selector: another proxy's Service, and one labelled headless.
    service("default", "other-proxy", { clusterIP: plan.clusterIP(10), ports: [http()] }, [], { "service.kubernetes.io/service-proxy-name": "other" }),
    service("default", "labelled-headless", { clusterIP: plan.clusterIP(11), ports: [http()] }, [], { "service.kubernetes.io/headless": "" }),
  ];
  const slices = [
    slice("default", "web", httpSlice, [endpoint(plan.podIP(1)), endpoint(plan.podIP(2)), endpoint(plan.podIP(3), { ready: false, serving: false })]),
    slice("default", "empty", httpSlice, [endpoint(plan.podIP(12), { ready: false })]),
    slice("default", "draining", httpSlice, [
      endpoint(plan.podIP(4), { ready: false, serving: true, terminating: true }),
      endpoint(plan.podIP(5), { ready: false, serving: false, terminating: true }),
    ]),
    slice("default", "local-edge", httpSlice, [endpoint(plan.podIP(6), { node: NODE }), endpoint(plan.podIP(7), { node: OTHER })]),
    slice("default", "remote-edge", httpSlice, [endpoint(plan.podIP(8), { node: OTHER })]),
    slice("default", "node-local", httpSlice, [endpoint(plan.podIP(9), { node: NODE }), endpoint(plan.podIP(10), { node: OTHER })]),
    slice("default", "multi", [...httpSlice, { name: "metrics", port: tp + 1 }], [endpoint(plan.podIP(11), { node: NODE })]),
    slice("default", "signal", [{ name: "sctp", port: 9000, protocol: "SCTP" }], [endpoint(plan.podIP(13)), endpoint(plan.podIP(14))]),
    slice("kube-system", "dns", [{ name: "dns", port: 53, protocol: "UDP" }], [endpoint(plan.podIP(15))]),
    slice("default", "other-proxy", httpSlice, [endpoint(plan.podIP(16))]),
    slice("default", "labelled-headless", httpSlice, [endpoint(plan.podIP(17))]),
  ];
  const outside = (dst: string, dport: number): Packet => ({ src: plan.outsideIP, dst, proto: "TCP", dport });
  const to = (targets: string[], masquerade: boolean): TraceResult => ({ output: targets.sort().join(", "), masquerade });
  const cases: ConformanceCase[] = [
    { name: "ClusterIP from outside the cluster: ready endpoints, masqueraded", packet: outside(plan.clusterIP(1), sp), expect: to([ep(1), ep(2)], true) },
    {
      name: "ClusterIP from a pod: ready endpoints, source kept",
      packet: { src: plan.podIP(12), dst: plan.clusterIP(1), proto: "TCP", dport: sp },
      expect: to([ep(1), ep(2)], false),
    },
    {
      name: "ClusterIP from the node itself (its address is outside the pod CIDR): masqueraded",
      packet: { src: plan.nodeIP, dst: plan.clusterIP(1), proto: "TCP", dport: sp, local: true },
      expect: to([ep(1), ep(2)], true),
    },
    { name: "NodePort, Cluster policy: masqueraded", packet: outside(plan.nodeIP, 30080), expect: to([ep(1), ep(2)], true) },
    { name: "LoadBalancer ingress IP", packet: outside(plan.lbIP, sp), expect: to([ep(1), ep(2)], true) },
    { name: "externalIP", packet: outside(plan.externalIP, sp), expect: to([ep(1), ep(2)], true) },
    { name: "ClusterIP of a service without endpoints is rejected", packet: outside(plan.clusterIP(2), sp), expect: { output: "REJECT", masquerade: false } },
    { name: "no ready endpoints: serving terminating ones", packet: outside(plan.clusterIP(3), sp), expect: to([ep(4)], true) },
    { name: "externalTrafficPolicy Local: local endpoints, client IP kept", packet: outside(plan.nodeIP, 30081), expect: to([ep(6)], false) },
    {
      name: "externalTrafficPolicy Local from the node itself: short-circuit to all endpoints",
      packet: { src: plan.nodeIP, dst: plan.nodeIP, proto: "TCP", dport: 30081, local: true },
      expect: to([ep(6), ep(7)], true),
      userspace: false,
    },
    {
      name: "externalTrafficPolicy Local, NodePort from a pod: short-circuit to all endpoints, source kept",
      packet: { src: plan.podIP(12), dst: plan.nodeIP, proto: "TCP", dport: 30081 },
      expect: to([ep(6), ep(7)], false),
      userspace: false,
    },
    { name: "externalTrafficPolicy Local, ClusterIP still uses every endpoint", packet: outside(plan.clusterIP(4), sp), expect: to([ep(6), ep(7)], true) },
    {
      name: "externalTrafficPolicy Local without local endpoints drops NodePort traffic",
      packet: outside(plan.nodeIP, 30082),
      expect: { output: "DROP", masquerade: false },
    },
    {
      name: "externalTrafficPolicy Local without local endpoints, NodePort from the node itself: short-circuit to all endpoints",
      packet: { src: plan.nodeIP, dst: plan.nodeIP, proto: "TCP", dport: 30082, local: true },
      expect: to([ep(8)], true),
      userspace: false,
    },
    {
      name: "externalTrafficPolicy Local without local endpoints, NodePort from a pod: short-circuit, source kept",
      packet: { src: plan.podIP(12), dst: plan.nodeIP, proto: "TCP", dport: 30082 },
      expect: to([ep(8)], false),
      userspace: false,
    },
    {
      name: "internalTrafficPolicy Local from outside the cluster: this node's endpoints, masqueraded",
      packet: outside(plan.clusterIP(6), sp),
      expect: to([ep(9)], true),
    },
    {
      name: "internalTrafficPolicy Local from a pod: this node's endpoints, source kept",
      packet: { src: plan.podIP(12), dst: plan.clusterIP(6), proto: "TCP", dport: sp },
      expect: to([ep(9)], false),
    },
    {
      name: "ClusterIP from a pod of the second pod range: source kept",
      packet: { src: plan.secondPodIP, dst: plan.clusterIP(1), proto: "TCP", dport: sp },
      expect: to([ep(1), ep(2)], false),
    },
    {
      name: "NodePort on a node address --nodeport-addresses leaves out is not ours",
      packet: outside(plan.otherNodeIP, 30080),
      expect: { output: "ACCEPT", masquerade: false },
    },
    { name: "second port resolved by name", packet: outside(plan.clusterIP(7), 9090), expect: to([ep(11, tp + 1)], true) },
    {
      name: "hairpin: an endpoint reaching itself through its service is masqueraded",
      packet: { src: plan.podIP(11), dst: plan.clusterIP(7), proto: "TCP", dport: sp },
      expect: to([ep(11)], true),
    },
    {
      name: "a port the service does not expose: iptables lets it pass, nftables rejects it (cluster-ips-check)",
      packet: outside(plan.clusterIP(1), sp + 1),
      expect: { output: "ACCEPT", masquerade: false },
      expectIn: { nftables: { output: "REJECT", masquerade: false } },
      userspace: false,
    },
    {
      name: "SCTP ClusterIP",
      packet: { src: plan.podIP(12), dst: plan.clusterIP(8), proto: "SCTP", dport: 9000 },
      expect: to([ep(13, 9000), ep(14, 9000)], false),
      userspace: false,
    },
    { name: "SCTP NodePort", packet: { ...outside(plan.nodeIP, 30090), proto: "SCTP" }, expect: to([ep(13, 9000), ep(14, 9000)], true), userspace: false },
    {
      name: "UDP ClusterIP",
      packet: { src: plan.podIP(12), dst: plan.clusterIP(9), proto: "UDP", dport: 53 },
      expect: to([ep(15, 53)], false),
      userspace: false,
    },
    // Not ours, so not in cluster-ips: iptables lets the packet pass, nftables drops it as it would any unallocated ClusterIP.
    ...(
      [
        ["a ClusterIP no Service holds (cluster-ips-check)", 99],
        ["a Service labelled for another proxy is not ours", 10],
        ["a Service labelled headless is not ours", 11],
      ] as const
    ).map(([name, n]) => ({
      name,
      packet: outside(plan.clusterIP(n), sp),
      expect: { output: "ACCEPT", masquerade: false },
      expectIn: { nftables: { output: "DROP", masquerade: false } },
      userspace: false as const,
    })),
  ];
  const endpoints = [ep(1), ep(2), ep(4), ep(6), ep(7), ep(8), ep(9), ep(10), ep(11), ep(11, tp + 1)];
  return {
    input: { services, slices, nodeName: NODE, nodeIPs: [plan.nodeIP, plan.otherNodeIP] },
    clusterCIDRs: [plan.podCIDR, plan.secondPodCIDR],
    serviceCIDRs: [plan.serviceCIDR],
    nodePortIPs: [plan.nodeIP],
    cases,
    endpoints,
  };
}
