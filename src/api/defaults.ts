// Server-side defaulting, as the apiserver applies it between decoding and
// validation: core/v1 SetDefaults_* for each kind, and for Services the parts
// of the service REST strategy and allocator that fill fields in before
// validation (NormalizeClusterIPs, patchAllocatedValues, dropTypeDependentFields).
// The IP families, which depend on the cluster's service CIDRs, are
// service-ip-families.ts'; allocation (ClusterIPs, NodePorts, health-check
// ports) is the registry's job.
import { setDecidedPodStatus } from "./pod-status";
import { DEFAULT_CLIENT_IP_AFFINITY_SECONDS, externallyAccessible, needsClusterIP, needsHealthCheck, needsNodePort } from "./service-rules";
import type { EndpointSlice, KubeObject, Namespace, Pod, Probe, Service } from "./types";

/** Label every Namespace carries with its own name (kubernetes.io/metadata.name). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * Fills in what the apiserver defaults. Pass the stored object as `old` on
 * updates: Services then keep their allocated IPs and ports, as Kubernetes' update
 * strategy does.
 */
export function setDefaults(obj: KubeObject, old?: KubeObject): void {
  switch (obj.kind) {
    case "Service":
      defaultService(obj as Service, old as Service | undefined);
      break;
    case "Pod":
      defaultPod(obj as Pod);
      break;
    case "EndpointSlice":
      defaultEndpointSlice(obj as EndpointSlice);
      break;
    case "Namespace":
      defaultNamespace(obj as Namespace);
      break;
  }
}

function defaultService(svc: Service, old?: Service): void {
  const spec = svc.spec;
  // As SetDefaults_Service: Go's zero value, the empty string, is unset for these string fields.
  spec.sessionAffinity ||= "None";
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP" && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  spec.type ||= "ClusterIP";
  for (const p of spec.ports ?? []) {
    p.protocol ||= "TCP";
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  if (externallyAccessible(svc)) spec.externalTrafficPolicy ||= "Cluster";
  if (spec.type !== "ExternalName") spec.internalTrafficPolicy ??= "Cluster";
  if (spec.type === "LoadBalancer") {
    spec.allocateLoadBalancerNodePorts ??= true;
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip) ing.ipMode ??= "VIP";
  }
  if (old) {
    patchAllocatedValues(svc, old);
    normalizeClusterIPsOnUpdate(svc, old);
    dropTypeDependentFields(svc, old);
  } else if (spec.clusterIP && !spec.clusterIPs?.length) {
    // An old client set only the singular field.
    spec.clusterIPs = [spec.clusterIP];
  }
  // ipFamilyPolicy and ipFamilies depend on the cluster's service CIDRs: api/service-ip-families.ts fills them next.
}

/** A PUT that omits allocated values keeps them (the service strategy's patchAllocatedValues). */
function patchAllocatedValues(svc: Service, old: Service): void {
  const spec = svc.spec;
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if (!spec.clusterIP && old.spec.clusterIP) spec.clusterIP = old.spec.clusterIP;
    if (!spec.clusterIPs?.length && old.spec.clusterIPs?.length) spec.clusterIPs = [...old.spec.clusterIPs];
  }
  if (needsNodePort(old) && needsNodePort(svc)) {
    const byName = new Map((old.spec.ports ?? []).map((p) => [p.name ?? "", p.nodePort]));
    const used = new Set((spec.ports ?? []).map((p) => p.nodePort).filter((n) => n));
    for (const p of spec.ports ?? []) {
      const was = byName.get(p.name ?? "");
      if (!p.nodePort && was && !used.has(was)) p.nodePort = was;
    }
  }
  if (needsHealthCheck(old) && needsHealthCheck(svc) && !spec.healthCheckNodePort && old.spec.healthCheckNodePort) {
    spec.healthCheckNodePort = old.spec.healthCheckNodePort;
  }
}

const sameList = (a: unknown[] | undefined, b: unknown[] | undefined): boolean =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => x === (b ?? [])[i]);

/** Keeps clusterIP and clusterIPs in step when a client changed only the singular field. */
function normalizeClusterIPsOnUpdate(svc: Service, old: Service): void {
  const spec = svc.spec;
  if (!spec.clusterIP) {
    if (old.spec.clusterIP && sameList(spec.clusterIPs, old.spec.clusterIPs)) delete spec.clusterIPs;
    return;
  }
  if (!spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
  else if (spec.clusterIP !== old.spec.clusterIP && sameList(spec.clusterIPs, old.spec.clusterIPs)) spec.clusterIPs = [spec.clusterIP];
}

/** Clears values that only applied to the old type, unless the client changed them too. */
function dropTypeDependentFields(svc: Service, old: Service): void {
  const spec = svc.spec;
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    if (sameList(spec.clusterIPs, old.spec.clusterIPs) && spec.clusterIP === old.spec.clusterIP) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameList(spec.ipFamilies, old.spec.ipFamilies)) delete spec.ipFamilies;
    if (spec.ipFamilyPolicy === old.spec.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  // sameNodePorts: ports may be added, removed or changed, as long as no nodePort is new.
  const ports = spec.ports ?? [];
  const oldNodePorts = new Set((old.spec.ports ?? []).map((p) => p.nodePort).filter((n) => n));
  const sameNodePorts = ports.every((p) => !p.nodePort || oldNodePorts.has(p.nodePort));
  if (needsNodePort(old) && !needsNodePort(svc) && sameNodePorts) for (const p of ports) delete p.nodePort;
  if (needsHealthCheck(old) && !needsHealthCheck(svc) && spec.healthCheckNodePort === old.spec.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (old.spec.type === "LoadBalancer" && spec.type !== "LoadBalancer") {
    if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts === old.spec.allocateLoadBalancerNodePorts) {
      delete spec.allocateLoadBalancerNodePorts;
    }
    if (spec.loadBalancerClass === old.spec.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(svc) && spec.externalTrafficPolicy === old.spec.externalTrafficPolicy) {
    delete spec.externalTrafficPolicy;
  }
  if (spec.type !== "LoadBalancer" && svc.status?.loadBalancer) svc.status.loadBalancer = {};
}

function defaultProbe(probe: Probe | undefined): void {
  if (!probe) return;
  if (!probe.timeoutSeconds) probe.timeoutSeconds = 1;
  if (!probe.periodSeconds) probe.periodSeconds = 10;
  if (!probe.successThreshold) probe.successThreshold = 1;
  if (!probe.failureThreshold) probe.failureThreshold = 3;
  if (probe.httpGet) {
    if (!probe.httpGet.path) probe.httpGet.path = "/";
    probe.httpGet.scheme ??= "HTTP";
  }
}

function defaultPod(pod: Pod): void {
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) p.protocol ??= "TCP";
    defaultProbe(c.readinessProbe);
  }
  const status = pod.status;
  if (status) {
    // podIP wins over podIPs when they disagree, as in the v1 → internal conversion.
    if (status.podIP && status.podIPs?.[0]?.ip !== status.podIP) status.podIPs = [{ ip: status.podIP }];
    else if (!status.podIP && status.podIPs?.length) status.podIP = status.podIPs[0]!.ip;
  }
  setDecidedPodStatus(pod);
}

function defaultEndpointSlice(slice: EndpointSlice): void {
  for (const p of slice.ports ?? []) {
    p.name ??= "";
    p.protocol ??= "TCP";
  }
}

function defaultNamespace(ns: Namespace): void {
  if (ns.metadata.name) ns.metadata.labels = { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name };
  ns.status = { ...ns.status, phase: ns.status?.phase ?? "Active" };
}
