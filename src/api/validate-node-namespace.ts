// Node and Namespace validation (cluster-scoped kinds): ValidateNode and
// ValidateNamespace from k8s.io/kubernetes pkg/apis/core/validation.
import { isQualifiedName, isValidCIDR, isValidIP } from "./apimachinery-validation";
import { fieldDuplicate, fieldInvalid, fieldNotSupported } from "./status";
import type { Namespace, Node, StatusCause } from "./types";
import { nameIsDNSLabel, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./validate-meta";

const NODE_ADDRESS_TYPES = ["ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"];
const STANDARD_FINALIZERS = new Set(["kubernetes"]);

function validateNodeFields(node: Node): StatusCause[] {
  const errs: StatusCause[] = [];
  const cidrs = node.spec?.podCIDRs ?? [];
  cidrs.forEach((c, i) => errs.push(...isValidCIDR(`spec.podCIDRs[${i}]`, c)));
  if (cidrs.length > 2) errs.push(fieldInvalid("spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family"));
  const seen = new Set<string>();
  (node.status?.addresses ?? []).forEach((a, i) => {
    const path = `status.addresses[${i}]`;
    // svcedge checks types and IPs here (Kubernetes trusts the kubelet): the agent and the gateway route by them.
    if (!NODE_ADDRESS_TYPES.includes(a.type)) errs.push(fieldNotSupported(`${path}.type`, a.type, NODE_ADDRESS_TYPES));
    else if (a.type === "InternalIP" || a.type === "ExternalIP") errs.push(...isValidIP(`${path}.address`, a.address));
    const key = `${a.type}/${a.address}`;
    if (seen.has(key)) errs.push(fieldDuplicate(path, a));
    seen.add(key);
  });
  return errs;
}

export function validateNode(node: Node): StatusCause[] {
  return [...validateObjectMeta(node.metadata, false, nameIsDNSSubdomain), ...validateNodeFields(node)];
}

export function validateNodeUpdate(node: Node, old: Node): StatusCause[] {
  return [...validateObjectMetaUpdate(node.metadata, old.metadata), ...validateNode(node)];
}

export function validateNamespace(ns: Namespace): StatusCause[] {
  const errs = validateObjectMeta(ns.metadata, false, nameIsDNSLabel);
  for (const f of ns.spec?.finalizers ?? []) {
    for (const m of isQualifiedName(f)) errs.push(fieldInvalid("spec.finalizers", f, m));
    if (!f.includes("/") && !STANDARD_FINALIZERS.has(f)) {
      errs.push(fieldInvalid("spec.finalizers", f, "name is neither a standard finalizer name nor is it fully qualified"));
    }
  }
  return errs;
}

export function validateNamespaceUpdate(ns: Namespace, old: Namespace): StatusCause[] {
  return [...validateObjectMetaUpdate(ns.metadata, old.metadata), ...validateNamespace(ns)];
}
