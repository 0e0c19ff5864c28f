// Change detection between two syncs: whether a service port would render the same rules.
// The categorized endpoint lists are a pure function of `endpoints` and the policies, so
// comparing the inputs is enough.
import type { EndpointInfo, ServicePortState } from "./state";

const sameList = <T>(a: T[], b: T[], same: (x: T, y: T) => boolean): boolean => a.length === b.length && a.every((x, i) => same(x, b[i]!));
const sameString = (x: string, y: string): boolean => x === y;
const sameEndpoint = (x: EndpointInfo, y: EndpointInfo): boolean =>
  x.ip === y.ip && x.port === y.port && x.ready === y.ready && x.serving === y.serving && x.terminating === y.terminating && x.isLocal === y.isLocal;

export function sameServicePort(a: ServicePortState, b: ServicePortState): boolean {
  return (
    a === b ||
    (a.name === b.name &&
      a.protocol === b.protocol &&
      a.port === b.port &&
      a.nodePort === b.nodePort &&
      a.affinityTimeoutSeconds === b.affinityTimeoutSeconds &&
      a.externallyAccessible === b.externallyAccessible &&
      a.externalPolicyLocal === b.externalPolicyLocal &&
      a.internalPolicyLocal === b.internalPolicyLocal &&
      sameList(a.clusterIPs, b.clusterIPs, sameString) &&
      sameList(a.externalIPs, b.externalIPs, sameString) &&
      sameList(a.loadBalancerIPs, b.loadBalancerIPs, sameString) &&
      sameList(a.endpoints, b.endpoints, sameEndpoint))
  );
}

/** Key pairing a service port across two states. */
export const servicePortKey = (svc: ServicePortState): string => `${svc.name}/${svc.protocol}`;
