// The IP families of a Service against the cluster's service CIDRs: kube-apiserver's
// initIPFamilyFields (pkg/registry/core/service/storage/alloc.go). It runs after defaulting and
// before validation and allocation, as the apiserver's BeginCreate/BeginUpdate do: it defaults
// ipFamilyPolicy and ipFamilies, trims a downgrade to single-stack, and refuses families the
// cluster does not have, with the apiserver's field paths and messages.
import { ipFamilyOfString } from "./ip";
import { CLUSTER_IP_NONE } from "./service-rules";
import { fieldInvalid } from "./status";
import type { Service, StatusCause } from "./types";
import { validateClusterIPFields } from "./validate-service";

export type IPFamily = "IPv4" | "IPv6";

/** The families the cluster allocates ClusterIPs from, primary first (one per --service-cluster-ip-range entry). */
export type ServiceIPFamilies = readonly IPFamily[];

const familyName = (ip: string): IPFamily | undefined => {
  const f = ipFamilyOfString(ip);
  return f === 4 ? "IPv4" : f === 6 ? "IPv6" : undefined;
};
const otherFamily = (f: IPFamily): IPFamily => (f === "IPv4" ? "IPv6" : "IPv4");
const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => x === (b ?? [])[i]);
const exposesClusterIP = (svc: Service): boolean => svc.spec.type === "ClusterIP" || svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer";

/**
 * An update of a PreferDualStack Service that touches none of its IP fields: nothing to do, so that a
 * cluster turned dual-stack (or back) neither upgrades nor downgrades it by itself.
 */
export function isUnchangedPreferDualStack(svc: Service, old: Service | undefined): boolean {
  if (!old || svc.spec.ipFamilyPolicy === undefined || old.spec.type !== svc.spec.type || !exposesClusterIP(svc)) return false;
  if (svc.spec.ipFamilyPolicy !== "PreferDualStack") return false;
  if (old.spec.ipFamilyPolicy !== undefined && old.spec.ipFamilyPolicy !== "PreferDualStack") return false;
  return sameList(old.spec.clusterIPs, svc.spec.clusterIPs) && sameList(old.spec.ipFamilies, svc.spec.ipFamilies);
}

/** Fills ipFamilyPolicy and ipFamilies of `svc` (mutating it) for a cluster with `cluster` families; returns the causes of a 422. */
export function initIPFamilyFields(svc: Service, old: Service | undefined, cluster: ServiceIPFamilies): StatusCause[] {
  const spec = svc.spec;
  if (spec.type === "ExternalName") return [];
  if (isUnchangedPreferDualStack(svc, old)) return [];
  const headlessSelectorless = spec.clusterIP === CLUSTER_IP_NONE && Object.keys(spec.selector ?? {}).length === 0;
  // No policy: an update keeps the old one; a create is single-stack, except headless selectorless Services,
  // which publish whatever addresses their slices hold.
  if (spec.ipFamilyPolicy === undefined) spec.ipFamilyPolicy = old?.spec.ipFamilyPolicy ?? (headlessSelectorless ? "RequireDualStack" : "SingleStack");

  const fieldErrs = validateClusterIPFields(svc);
  if (fieldErrs.length > 0) return fieldErrs;

  const errs: StatusCause[] = [];
  const policy = spec.ipFamilyPolicy;
  if (old) {
    if (policy === "SingleStack") {
      // Setting SingleStack while leaving the IP fields as they were is the intent to drop the secondary family.
      if (sameList(old.spec.clusterIPs, spec.clusterIPs) && (spec.clusterIPs?.length ?? 0) > 1) spec.clusterIPs = spec.clusterIPs!.slice(0, 1);
      if (sameList(old.spec.ipFamilies, spec.ipFamilies) && (spec.ipFamilies?.length ?? 0) > 1) spec.ipFamilies = spec.ipFamilies!.slice(0, 1);
    } else {
      const reduced = (now: unknown[] | undefined, was: unknown[] | undefined) => (now?.length ?? 0) > 0 && now!.length < (was?.length ?? 0);
      if (reduced(spec.clusterIPs, old.spec.clusterIPs))
        errs.push(fieldInvalid("spec.ipFamilyPolicy", policy, "must be 'SingleStack' to release the secondary cluster IP"));
      if (reduced(spec.ipFamilies, old.spec.ipFamilies))
        errs.push(fieldInvalid("spec.ipFamilyPolicy", policy, "must be 'SingleStack' to release the secondary IP family"));
    }
  }
  if (spec.ipFamilyPolicy === "SingleStack") {
    if (spec.clusterIPs?.length === 2)
      errs.push(fieldInvalid("spec.ipFamilyPolicy", policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"));
    if (spec.ipFamilies?.length === 2)
      errs.push(fieldInvalid("spec.ipFamilyPolicy", policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
  }

  // Families follow from the clusterIPs given (validation checked that the ones given agree).
  const families = [...(spec.ipFamilies ?? [])];
  for (const [i, ip] of (spec.clusterIPs ?? []).entries()) {
    if (ip === CLUSTER_IP_NONE) break;
    if (i < families.length) continue;
    const fam = familyName(ip);
    if (fam && cluster.includes(fam)) families.push(fam);
    else errs.push(fieldInvalid(`spec.clusterIPs[${i}]`, spec.clusterIPs, `${fam ?? "unknown"} is not configured on this cluster`));
  }
  spec.ipFamilies = families;
  if (errs.length > 0) return errs;

  // Headless and selectorless: any family goes (the slices are the user's), dual unless SingleStack.
  if (headlessSelectorless) {
    if (families.length === 0) families.push(cluster[0]!);
    if (families.length < 2 && spec.ipFamilyPolicy !== "SingleStack") families.push(otherFamily(families[0]!));
    return [];
  }

  if (spec.ipFamilyPolicy === "RequireDualStack" && cluster.length < 2)
    errs.push(fieldInvalid("spec.ipFamilyPolicy", spec.ipFamilyPolicy, "this cluster is not configured for dual-stack services"));
  families.forEach((f, i) => {
    if (!cluster.includes(f)) errs.push(fieldInvalid(`spec.ipFamilies[${i}]`, f, "not configured on this cluster"));
  });
  if (errs.length > 0) return errs;

  if (families.length === 0) families.push(cluster[0]!);
  if (spec.ipFamilyPolicy !== "SingleStack" && families.length === 1 && cluster.length === 2) families.push(otherFamily(families[0]!));
  return [];
}
