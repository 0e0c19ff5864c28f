// Upstream's TestValidateServiceCreate (kubernetes/kubernetes pkg/apis/core/validation/validation_test.go),
// the cases from "valid type - nodeport" to its end, replayed over REST on the single-stack IPv4 cluster (the
// `worker` project) and the dual-stack one (`worker-dual-stack`). Upstream validates an internal object
// (makeValidService + a tweak) and counts errors; over REST kube-apiserver first defaults, then settles the IP
// families (alloc.go initIPFamilyFields, whose errors answer alone), allocates and validates, so each case
// expects what kube-apiserver answers to the POST: 201, or 422 Invalid with these causes' fields, per cluster.
// Translated: upstream's addresses into the test clusters' ranges (10.0.0.1 → 10.96.100.1, 2001::1 →
// 2001:db8:96::1) and its nodePorts (1, 12345) into the NodePort range, so that a case keeps its point rather
// than failing for an address out of range.
// Agreement: 100 of 101 cases on each cluster; "negative healthCheckNodePort" departs on purpose (see below).
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "../admin/client";
import { CLUSTER, causeFields, makeValidService, type Spec, type Svc } from "./conformance";

/** 201, or the fields of the 422's causes (sorted). */
type Outcome = 201 | string[];
interface Case {
  name: string;
  tweak: (s: Svc) => void;
  /** Single-stack IPv4; `dual` when the dual-stack answer differs. */
  expect: Outcome;
  dual?: Outcome;
  /** Part of the 422's message, where the cause that answers matters (the allocator's or validation's). */
  message?: string;
  /** Why svcedge answers otherwise, on purpose. */
  departs?: { svcedge: Outcome; why: string };
}

const V4 = "10.96.100.1";
const V4B = "10.96.100.10";
const V6 = "2001:db8:96::1";
const V6B = "2001:db8:96::4";
const NP = (n: number) => 30100 + n;
const LB = (s: Svc) => Object.assign(s.spec, { type: "LoadBalancer", externalTrafficPolicy: "Cluster", allocateLoadBalancerNodePorts: true });
const NODEPORT = (s: Svc) => Object.assign(s.spec, { type: "NodePort", externalTrafficPolicy: "Cluster" });
const port = (name: string, p: number, extra: Spec = {}) => ({ name, port: p, protocol: "TCP", targetPort: p, ...extra });
const ips = (s: Svc, policy: string | undefined, clusterIPs: string[] | undefined, families?: string[]) => {
  if (policy) s.spec.ipFamilyPolicy = policy;
  if (clusterIPs) [s.spec.clusterIP, s.spec.clusterIPs] = [clusterIPs[0], clusterIPs];
  if (families) s.spec.ipFamilies = families;
};
const LB_RANGES = "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]";

const CASES: Case[] = [
  { name: "valid type - nodeport", tweak: NODEPORT, expect: 201 },
  { name: "valid type - loadbalancer with allocateLoadBalancerNodePorts=true", tweak: LB, expect: 201 },
  { name: "valid type loadbalancer 2 ports", tweak: (s) => (LB(s), s.spec.ports.push(port("q", 12345))), expect: 201 },
  { name: "valid type loadbalancer with NodePort", tweak: (s) => (LB(s), s.spec.ports.push(port("q", 12345, { nodePort: NP(1) }))), expect: 201 },
  {
    name: "valid type=NodePort service with NodePort",
    tweak: (s) => (NODEPORT(s), s.spec.ports.push(port("q", 12345, { nodePort: NP(2) }))),
    expect: 201,
  },
  { name: "valid type=NodePort service without NodePort", tweak: (s) => (NODEPORT(s), s.spec.ports.push(port("q", 12345))), expect: 201 },
  { name: "valid cluster service without NodePort", tweak: (s) => s.spec.ports.push(port("q", 12345)), expect: 201 },
  { name: "invalid cluster service with NodePort", tweak: (s) => s.spec.ports.push(port("q", 12345, { nodePort: NP(3) })), expect: ["spec.ports[1].nodePort"] },
  {
    // kube-apiserver allocates before it validates: its allocator refuses the second request for the nodePort
    // before validation could call it a Duplicate.
    name: "invalid public service with duplicate NodePort",
    tweak: (s) => (NODEPORT(s), s.spec.ports.push(port("p1", 1, { nodePort: NP(4) }), port("p2", 2, { nodePort: NP(4) }))),
    expect: ["spec.ports[2].nodePort"],
    message: `spec.ports[2].nodePort: Invalid value: ${NP(4)}: provided port is already allocated`,
  },
  {
    name: "duplicate nodeports",
    tweak: (s) => (NODEPORT(s), s.spec.ports.push(port("q", 1, { nodePort: NP(5) }), port("r", 2, { nodePort: NP(5) }))),
    expect: ["spec.ports[2].nodePort"],
    message: `spec.ports[2].nodePort: Invalid value: ${NP(5)}: provided port is already allocated`,
  },
  {
    // Validation allows it (three protocols); kube-apiserver's allocator takes a nodePort once per port number.
    name: "duplicate nodeports (different protocols)",
    tweak: (s) => (
      NODEPORT(s),
      s.spec.ports.push(
        port("q", 1, { nodePort: NP(6) }),
        port("r", 2, { nodePort: NP(6), protocol: "UDP" }),
        port("s", 3, { nodePort: NP(6), protocol: "SCTP" }),
      )
    ),
    expect: ["spec.ports[2].nodePort"],
    message: `spec.ports[2].nodePort: Invalid value: ${NP(6)}: provided port is already allocated`,
  },
  { name: "invalid duplicate ports (with same protocol)", tweak: (s) => s.spec.ports.push(port("q", 12345), port("r", 12345)), expect: ["spec.ports[2]"] },
  {
    name: "valid duplicate ports (with different protocols)",
    tweak: (s) => s.spec.ports.push(port("q", 12345), port("r", 12345, { protocol: "UDP" }), port("s", 12345, { protocol: "SCTP" })),
    expect: 201,
  },
  { name: "valid type=LoadBalancer", tweak: (s) => (LB(s), s.spec.ports.push(port("q", 12345))), expect: 201 },
  { name: "valid port type=LoadBalancer", tweak: (s) => (LB(s), s.spec.ports.push(port("kubelet", 10250))), expect: 201 },
  {
    name: "valid LoadBalancer source range annotation",
    tweak: (s) => (LB(s), (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "1.2.3.0/24,  5.6.0.0/16")),
    expect: 201,
  },
  {
    name: "valid empty LoadBalancer source range annotation",
    tweak: (s) => (LB(s), (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "")),
    expect: 201,
  },
  {
    name: "valid whitespace-only LoadBalancer source range annotation",
    tweak: (s) => (LB(s), (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "  ")),
    expect: 201,
  },
  {
    name: "invalid LoadBalancer source range annotation (hostname)",
    tweak: (s) => (LB(s), (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "foo.bar")),
    expect: [LB_RANGES],
  },
  {
    name: "invalid LoadBalancer source range annotation (invalid CIDR)",
    tweak: (s) => (LB(s), (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "1.2.3.4/33")),
    expect: [LB_RANGES],
  },
  {
    name: "invalid LoadBalancer source range annotation for non LoadBalancer type service",
    tweak: (s) => (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "1.2.3.0/24"),
    expect: [LB_RANGES],
  },
  {
    name: "invalid empty-but-set LoadBalancer source range annotation for non LoadBalancer type service",
    tweak: (s) => (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = ""),
    expect: [LB_RANGES],
  },
  { name: "valid LoadBalancer source range", tweak: (s) => (LB(s), (s.spec.loadBalancerSourceRanges = ["1.2.3.0/24", "5.6.0.0/16"])), expect: 201 },
  {
    name: "valid LoadBalancer source range with whitespace",
    tweak: (s) => (LB(s), (s.spec.loadBalancerSourceRanges = ["1.2.3.0/24  ", " 5.6.0.0/16"])),
    expect: 201,
  },
  {
    name: "invalid empty LoadBalancer source range",
    tweak: (s) => (LB(s), (s.spec.loadBalancerSourceRanges = ["   "])),
    expect: ["spec.LoadBalancerSourceRanges[0]"],
  },
  {
    name: "invalid LoadBalancer source range (hostname)",
    tweak: (s) => (LB(s), (s.spec.loadBalancerSourceRanges = ["foo.bar"])),
    expect: ["spec.LoadBalancerSourceRanges[0]"],
  },
  {
    name: "invalid LoadBalancer source range (invalid CIDR)",
    tweak: (s) => (LB(s), (s.spec.loadBalancerSourceRanges = ["1.2.3.4/33"])),
    expect: ["spec.LoadBalancerSourceRanges[0]"],
  },
  {
    name: "invalid source range for non LoadBalancer type service",
    tweak: (s) => (s.spec.loadBalancerSourceRanges = ["1.2.3.0/24", "5.6.0.0/16"]),
    expect: ["spec.LoadBalancerSourceRanges"],
  },
  {
    name: "invalid source range annotation ignored with valid source range field",
    tweak: (s) => (
      LB(s),
      (s.metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"] = "foo.bar"),
      (s.spec.loadBalancerSourceRanges = ["1.2.3.0/24", "5.6.0.0/16"])
    ),
    expect: 201,
  },
  { name: "valid ExternalName", tweak: (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo.bar.example.com" }), expect: 201 },
  {
    name: "valid ExternalName (trailing dot)",
    tweak: (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo.bar.example.com." }),
    expect: 201,
  },
  {
    name: "invalid ExternalName clusterIP (valid IP)",
    tweak: (s) => Object.assign(s.spec, { type: "ExternalName", clusterIP: "1.2.3.4", clusterIPs: ["1.2.3.4"], externalName: "foo.bar.example.com" }),
    expect: ["spec.clusterIPs"],
  },
  {
    name: "invalid ExternalName clusterIP (None)",
    tweak: (s) => Object.assign(s.spec, { type: "ExternalName", clusterIP: "None", clusterIPs: ["None"], externalName: "foo.bar.example.com" }),
    expect: ["spec.clusterIPs"],
  },
  {
    name: "invalid ExternalName (not a DNS name)",
    tweak: (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "-123" }),
    expect: ["spec.externalName"],
  },
  {
    name: "LoadBalancer type cannot have None ClusterIP",
    tweak: (s) => (LB(s), Object.assign(s.spec, { clusterIP: "None", clusterIPs: ["None"] })),
    expect: ["spec.clusterIPs[0]"],
  },
  {
    name: "invalid node port with clusterIP None",
    tweak: (s) => (NODEPORT(s), s.spec.ports.push(port("q", 1, { nodePort: NP(7) })), Object.assign(s.spec, { clusterIP: "None", clusterIPs: ["None"] })),
    expect: ["spec.clusterIPs[0]"],
  },
  { name: "invalid externalTraffic field", tweak: (s) => (LB(s), (s.spec.externalTrafficPolicy = "invalid")), expect: ["spec.externalTrafficPolicy"] },
  // Over REST the defaults fill it in (upstream's case validates an object that was never defaulted).
  { name: "nil internalTraffic field when feature gate is on", tweak: (s) => delete s.spec.internalTrafficPolicy, expect: 201 },
  {
    name: "internalTrafficPolicy field nil when type is ExternalName",
    tweak: (s) => (delete s.spec.internalTrafficPolicy, Object.assign(s.spec, { type: "ExternalName", externalName: "foo.bar.com" })),
    expect: 201,
  },
  {
    name: "internalTrafficPolicy field is set when type is ExternalName",
    tweak: (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo.bar.com", internalTrafficPolicy: "Cluster" }),
    expect: 201,
  },
  { name: "invalid internalTraffic field", tweak: (s) => (s.spec.internalTrafficPolicy = "invalid"), expect: ["spec.internalTrafficPolicy"] },
  { name: "internalTrafficPolicy field set to Cluster", tweak: (s) => (s.spec.internalTrafficPolicy = "Cluster"), expect: 201 },
  { name: "internalTrafficPolicy field set to Local", tweak: (s) => (s.spec.internalTrafficPolicy = "Local"), expect: 201 },
  {
    name: "negative healthCheckNodePort field",
    tweak: (s) => (LB(s), Object.assign(s.spec, { externalTrafficPolicy: "Local", healthCheckNodePort: -1 })),
    // kube-apiserver allocates before it validates, and its health-check port allocator turns the refusal into an InternalError.
    expect: [],
    departs: {
      svcedge: ["spec.healthCheckNodePort"],
      why: "kube-apiserver answers 500 InternalError (its allocator's refusal); svcedge refuses bad input with a 422",
    },
  },
  {
    name: "valid healthCheckNodePort field",
    tweak: (s) => (LB(s), Object.assign(s.spec, { externalTrafficPolicy: "Local", healthCheckNodePort: 31100 })),
    expect: 201,
  },
  {
    name: "invalid timeoutSeconds field",
    tweak: (s) => Object.assign(s.spec, { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: -1 } } }),
    expect: ["spec.sessionAffinityConfig.clientIP.timeoutSeconds"],
  },
  // The v1 defaults drop sessionAffinityConfig when sessionAffinity is None, before validation could see it.
  {
    name: "sessionAffinityConfig can't be set when session affinity is None",
    tweak: (s) => (LB(s), Object.assign(s.spec, { sessionAffinity: "None", sessionAffinityConfig: { clientIP: { timeoutSeconds: 90 } } })),
    expect: 201,
  },
  // ip families validation
  { name: "invalid, service with invalid ipFamilies", tweak: (s) => ips(s, undefined, undefined, ["not-a-valid-ip-family"]), expect: ["spec.ipFamilies[0]"] },
  {
    name: "invalid, service with invalid ipFamilies (2nd)",
    tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv4", "not-a-valid-ip-family"]),
    expect: ["spec.ipFamilies[1]"],
  },
  {
    name: "IPFamilyPolicy(singleStack) is set for two families",
    tweak: (s) => ips(s, "SingleStack", undefined, ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilyPolicy"],
  },
  {
    name: "valid, IPFamilyPolicy(preferDualStack) is set for two families (note: alloc sets families)",
    tweak: (s) => ips(s, "PreferDualStack", undefined, ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilies[1]"],
    dual: 201,
  },
  {
    name: "invalid, service with 2+ ipFamilies",
    tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv4", "IPv6", "IPv4"]),
    expect: ["spec.ipFamilies[2]"],
  },
  { name: "invalid, service with same ip families", tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv6", "IPv6"]), expect: ["spec.ipFamilies[1]"] },
  { name: "valid, nil service ipFamilies", tweak: () => {}, expect: 201 },
  { name: "valid, service with valid ipFamilies (v4)", tweak: (s) => ips(s, undefined, undefined, ["IPv4"]), expect: 201 },
  { name: "valid, service with valid ipFamilies (v6)", tweak: (s) => ips(s, undefined, undefined, ["IPv6"]), expect: ["spec.ipFamilies[0]"], dual: 201 },
  {
    name: "valid, service with valid ipFamilies(v4,v6)",
    tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  {
    name: "valid, service with valid ipFamilies(v6,v4)",
    tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv6", "IPv4"]),
    expect: ["spec.ipFamilies[0]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  {
    name: "valid, service preferred dual stack with single family",
    tweak: (s) => ips(s, "PreferDualStack", undefined, ["IPv6"]),
    expect: ["spec.ipFamilies[0]"],
    dual: 201,
  },
  // cluster IPs
  { name: "invalid, garbage single ip", tweak: (s) => ips(s, undefined, ["garbage-ip"]), expect: ["spec.clusterIPs[0]"] },
  {
    name: "invalid, garbage ips",
    tweak: (s) => ips(s, "RequireDualStack", ["garbage-ip", "garbage-second-ip"]),
    expect: ["spec.clusterIPs[0]", "spec.clusterIPs[1]"],
  },
  { name: "invalid, garbage first ip", tweak: (s) => ips(s, "RequireDualStack", ["garbage-ip", V6]), expect: ["spec.clusterIPs[0]"] },
  { name: "invalid, garbage second ip", tweak: (s) => ips(s, "RequireDualStack", [V6, "garbage-ip"]), expect: ["spec.clusterIPs[1]"] },
  { name: "invalid, NONE + IP", tweak: (s) => ips(s, "RequireDualStack", ["None", V6]), expect: ["spec.clusterIPs"] },
  { name: "invalid, IP + NONE", tweak: (s) => ips(s, "RequireDualStack", [V6, "None"]), expect: ["spec.clusterIPs[1]"] },
  {
    name: "invalid, EMPTY STRING + IP",
    tweak: (s) => Object.assign(s.spec, { ipFamilyPolicy: "RequireDualStack", clusterIP: "", clusterIPs: ["", V6] }),
    expect: ["spec.clusterIPs", "spec.clusterIPs[0]"],
  },
  { name: "invalid, IP + EMPTY STRING", tweak: (s) => ips(s, "RequireDualStack", [V6, ""]), expect: ["spec.clusterIPs[1]"] },
  {
    name: "invalid, same ip family (v6)",
    tweak: (s) => ips(s, "RequireDualStack", [V6, V6B], ["IPv4", "IPv6"]),
    expect: ["spec.clusterIPs", "spec.clusterIPs[0]"],
  },
  {
    name: "invalid, same ip family (v4)",
    tweak: (s) => ips(s, "RequireDualStack", [V4, V4B], ["IPv4", "IPv6"]),
    expect: ["spec.clusterIPs", "spec.clusterIPs[1]"],
  },
  { name: "invalid, more than two ips", tweak: (s) => ips(s, "RequireDualStack", [V4, V6, V4B], ["IPv4", "IPv6"]), expect: ["spec.clusterIPs"] },
  {
    name: " multi ip, dualstack not set (request for downgrade)",
    tweak: (s) => ips(s, "SingleStack", [V4, V6], ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilyPolicy", "spec.ipFamilyPolicy"],
  },
  {
    name: "valid, headless-no-selector + multi family + gate off",
    tweak: (s) => (ips(s, "RequireDualStack", ["None"], ["IPv4", "IPv6"]), delete s.spec.selector),
    expect: 201,
  },
  {
    name: "valid, multi ip, single ipfamilies preferDualStack",
    tweak: (s) => ips(s, "PreferDualStack", [V4, V6], ["IPv4"]),
    expect: ["spec.clusterIPs[1]"],
    dual: 201,
  },
  {
    name: "valid, multi ip, single ipfamilies (must match when provided) + requireDualStack",
    tweak: (s) => ips(s, "RequireDualStack", [V4, V6], ["IPv4"]),
    expect: ["spec.clusterIPs[1]"],
    dual: 201,
  },
  { name: "invalid, families don't match (v4=>v6)", tweak: (s) => ips(s, undefined, [V4], ["IPv6"]), expect: ["spec.clusterIPs[0]"] },
  { name: "invalid, families don't match (v6=>v4)", tweak: (s) => ips(s, undefined, [V6], ["IPv4"]), expect: ["spec.clusterIPs[0]"] },
  { name: "valid. no field set", tweak: () => {}, expect: 201 },
  { name: "valid, single ip", tweak: (s) => ips(s, "SingleStack", [V4]), expect: 201 },
  { name: "valid, single family", tweak: (s) => ips(s, "SingleStack", undefined, ["IPv6"]), expect: ["spec.ipFamilies[0]"], dual: 201 },
  { name: "valid, single ip + single family", tweak: (s) => ips(s, "SingleStack", [V6], ["IPv6"]), expect: ["spec.ipFamilies[0]"], dual: 201 },
  {
    name: "valid, single ip + single family (dual stack requested)",
    tweak: (s) => ips(s, "PreferDualStack", [V6], ["IPv6"]),
    expect: ["spec.ipFamilies[0]"],
    dual: 201,
  },
  {
    name: "valid, single ip, multi ipfamilies",
    tweak: (s) => ips(s, "RequireDualStack", [V4], ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  {
    name: "valid, multi ips, multi ipfamilies (4,6)",
    tweak: (s) => ips(s, "RequireDualStack", [V4, V6], ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  {
    name: "valid, ips, multi ipfamilies (6,4)",
    tweak: (s) => ips(s, "RequireDualStack", [V6, V4], ["IPv6", "IPv4"]),
    expect: ["spec.ipFamilies[0]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  { name: "valid, multi ips (6,4)", tweak: (s) => ips(s, "RequireDualStack", [V6, V4]), expect: ["spec.clusterIPs[0]"], dual: 201 },
  {
    name: "valid, multi ipfamilies (6,4)",
    tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv6", "IPv4"]),
    expect: ["spec.ipFamilies[0]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  { name: "valid, multi ips (4,6)", tweak: (s) => ips(s, "RequireDualStack", [V4, V6]), expect: ["spec.clusterIPs[1]"], dual: 201 },
  {
    name: "valid,  multi ipfamilies (4,6)",
    tweak: (s) => ips(s, "RequireDualStack", undefined, ["IPv4", "IPv6"]),
    expect: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
    dual: 201,
  },
  { name: "valid, dual stack", tweak: (s) => ips(s, "RequireDualStack", undefined), expect: ["spec.ipFamilyPolicy"], dual: 201 },
  { name: "valid appProtocol", tweak: (s) => (s.spec.ports = [{ port: 12345, targetPort: 12345, protocol: "TCP", appProtocol: "HTTP" }]), expect: 201 },
  {
    name: "valid custom appProtocol",
    tweak: (s) => (s.spec.ports = [{ port: 12345, targetPort: 12345, protocol: "TCP", appProtocol: "example.com/protocol" }]),
    expect: 201,
  },
  {
    name: "invalid appProtocol",
    tweak: (s) => (s.spec.ports = [{ port: 12345, targetPort: 12345, protocol: "TCP", appProtocol: "example.com/protocol_with{invalid}[characters]" }]),
    expect: ["spec.ports[0].appProtocol"],
  },
  {
    name: "invalid cluster ip != clusterIP in multi ip service",
    tweak: (s) => Object.assign(s.spec, { ipFamilyPolicy: "RequireDualStack", clusterIP: V4B, clusterIPs: [V4, V6] }),
    expect: ["spec.clusterIPs"],
  },
  {
    name: "invalid cluster ip != clusterIP in single ip service",
    tweak: (s) => Object.assign(s.spec, { clusterIP: V4B, clusterIPs: [V4] }),
    expect: ["spec.clusterIPs"],
  },
  {
    name: "Use AllocateLoadBalancerNodePorts when type is not LoadBalancer",
    tweak: (s) => (s.spec.allocateLoadBalancerNodePorts = true),
    expect: ["spec.allocateLoadBalancerNodePorts"],
  },
  {
    name: "valid LoadBalancerClass when type is LoadBalancer",
    tweak: (s) => (LB(s), (s.spec.loadBalancerClass = "test.com/test-load-balancer-class")),
    expect: 201,
  },
  { name: "invalid LoadBalancerClass", tweak: (s) => (LB(s), (s.spec.loadBalancerClass = "Bad/LoadBalancerClass")), expect: ["spec.loadBalancerClass"] },
  {
    name: "invalid: set LoadBalancerClass when type is not LoadBalancer",
    tweak: (s) => (s.spec.loadBalancerClass = "test.com/test-load-balancer-class"),
    expect: ["spec.loadBalancerClass"],
  },
  {
    name: "topology annotations are mismatched",
    tweak: (s) =>
      Object.assign(s.metadata.annotations, { "service.kubernetes.io/topology-aware-hints": "original", "service.kubernetes.io/topology-mode": "different" }),
    expect: ["metadata.annotations[service.kubernetes.io/topology-mode]"],
  },
  { name: "valid: trafficDistribution field set to PreferClose", tweak: (s) => (s.spec.trafficDistribution = "PreferClose"), expect: 201 },
  { name: "invalid: trafficDistribution field set to Random", tweak: (s) => (s.spec.trafficDistribution = "Random"), expect: ["spec.trafficDistribution"] },
];

if (CLUSTER === "4" || CLUSTER === "46")
  describe(`TestValidateServiceCreate over REST (${CLUSTER === "4" ? "single-stack IPv4" : "dual-stack"})`, () => {
    let ns: string;
    beforeAll(async () => {
      ns = await freshNamespace("validate");
    });
    CASES.forEach((c, i) => {
      it(c.name, async () => {
        const svc = makeValidService(`v${i}`);
        c.tweak(svc);
        const res = await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", ...svc });
        const body = await json(res);
        const upstream = CLUSTER === "46" && c.dual !== undefined ? c.dual : c.expect;
        const want = c.departs ? c.departs.svcedge : upstream;
        if (want === 201) {
          expect(res.status, JSON.stringify(body.details?.causes ?? body.message)).toBe(201);
          // Frees its addresses and ports for the cases after it.
          await call("DELETE", `/api/v1/namespaces/${ns}/services/${svc.metadata.name}`);
          return;
        }
        expect(res.status, JSON.stringify(body.spec ?? body)).toBe(422);
        expect(body.reason).toBe("Invalid");
        expect(causeFields(body)).toEqual([...want].sort());
        if (c.message) expect(body.message).toContain(c.message);
      });
    });
  });
