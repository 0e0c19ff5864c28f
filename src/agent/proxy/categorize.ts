// Endpoint selection, as kube-proxy's pkg/proxy/topology.go CategorizeEndpoints (without
// topology hints): Cluster policy uses ready endpoints, falling back to serving+terminating
// ones when none is ready; Local policy does the same among endpoints on this node.

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  isLocal: boolean;
}

export interface TrafficPolicies {
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  externallyAccessible: boolean;
}

export interface CategorizedEndpoints {
  /** Endpoints for Cluster-policy traffic (empty when no policy uses them). */
  clusterEndpoints: EndpointInfo[];
  /** Endpoints for Local-policy traffic (empty when no policy uses them). */
  localEndpoints: EndpointInfo[];
  /** Union of the two: every endpoint this node may DNAT to. */
  allReachableEndpoints: EndpointInfo[];
  /** Whether any usable endpoint exists anywhere in the cluster. */
  hasAnyEndpoints: boolean;
}

/** The port uses Cluster endpoints for Cluster internal policy, or whenever it takes external traffic (short-circuiting needs them). */
export const usesClusterEndpoints = (p: TrafficPolicies): boolean => !p.internalPolicyLocal || p.externallyAccessible;
export const usesLocalEndpoints = (p: TrafficPolicies): boolean => p.internalPolicyLocal || (p.externalPolicyLocal && p.externallyAccessible);

const servingTerminating = (ep: EndpointInfo): boolean => ep.serving && ep.terminating;
const isReady = (ep: EndpointInfo): boolean => ep.ready;
/** No endpoints: shared by every service port with none (frozen, since it is everyone's). */
const NONE: EndpointInfo[] = Object.freeze([]) as unknown as EndpointInfo[];
/** The endpoints that pass: the list itself when all do (the usual case), so 10,000 service ports do not each hold a copy. */
function keep(endpoints: EndpointInfo[], test: (ep: EndpointInfo) => boolean): EndpointInfo[] {
  if (endpoints.every(test)) return endpoints.length ? endpoints : NONE;
  const kept = endpoints.filter(test);
  return kept.length ? kept : NONE;
}

export function categorizeEndpoints(endpoints: EndpointInfo[], policies: TrafficPolicies): CategorizedEndpoints {
  let clusterEndpoints = NONE;
  let localEndpoints = NONE;
  let hasAnyEndpoints = false;

  if (usesClusterEndpoints(policies)) {
    clusterEndpoints = keep(endpoints, isReady);
    // With no ready endpoint anywhere, fall back to serving endpoints that are terminating.
    if (clusterEndpoints.length === 0) clusterEndpoints = keep(endpoints, servingTerminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(policies)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (servingTerminating(ep)) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) localEndpoints = keep(endpoints, (ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) localEndpoints = keep(endpoints, (ep) => ep.isLocal && servingTerminating(ep));

  if (!usesClusterEndpoints(policies)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  // Cluster endpoints may hold remote ones, local endpoints may hold terminating ones: merge, keeping input order.
  const reachable = new Set([...clusterEndpoints, ...localEndpoints]);
  const allReachableEndpoints = keep(endpoints, (ep) => reachable.has(ep));
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}
