// Small predicates about Services shared by defaulting and validation
// (k8s.io/kubernetes pkg/api/service and the core validation helpers).
import type { Service } from "./types";

export const CLUSTER_IP_NONE = "None";
/** kube-proxy's default ClientIP affinity timeout, 3 hours. */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;
/** The longest ClientIP affinity Kubernetes accepts, one day. */
export const MAX_CLIENT_IP_AFFINITY_SECONDS = 86400;

/**
 * The widest IPv6 service CIDR, in host bits: kube-apiserver keeps a bitmap per range and refuses wider ones
 * ("for 128-bit addresses, the mask must be >= 108").
 */
export const MAX_SERVICE_CIDR_HOST_BITS = 20;

export const isHeadless = (svc: Service): boolean => svc.spec.clusterIPs?.length === 1 && svc.spec.clusterIPs[0] === CLUSTER_IP_NONE;

/** Reachable from outside the cluster: NodePort, LoadBalancer, or ClusterIP with externalIPs. */
export const externallyAccessible = (svc: Service): boolean =>
  svc.spec.type === "LoadBalancer" || svc.spec.type === "NodePort" || (svc.spec.type === "ClusterIP" && (svc.spec.externalIPs?.length ?? 0) > 0);

/** A health-check node port exists only for LoadBalancer Services with externalTrafficPolicy Local. */
export const needsHealthCheck = (svc: Service): boolean => svc.spec.type === "LoadBalancer" && svc.spec.externalTrafficPolicy === "Local";

export const needsClusterIP = (svc: Service): boolean => svc.spec.type !== "ExternalName";
export const needsNodePort = (svc: Service): boolean => svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer";
