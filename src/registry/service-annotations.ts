// svcedge's own Service annotations, validated at admission like spec fields: a
// bad value is a 422 with the annotation's path, never silently ignored.
import { isDNS1123Subdomain } from "../api/apimachinery-validation";
import { EXTRA_HOSTNAMES_ANNOTATION, TIMEOUT_ANNOTATION } from "../api/route";
import { fieldInvalid } from "../api/status";
import type { Service, StatusCause } from "../api/types";
import { parseDuration } from "./route-compiler";

/** A DNS label is at most 63 characters (RFC 1035), and the LoadBalancer hostname's first label is `<name>-<namespace>`. */
const DNS_LABEL_MAX = 63;

export interface HostnamePolicy {
  clusterDomain: string;
  lbDomain: string;
  adminHosts: ReadonlySet<string>;
}

const under = (host: string, domain: string): boolean => host === domain || host.endsWith(`.${domain}`);

export function validateServiceAnnotations(svc: Service, policy: HostnamePolicy): StatusCause[] {
  const causes: StatusCause[] = [];
  const annotations = svc.metadata.annotations ?? {};
  const hostnames = annotations[EXTRA_HOSTNAMES_ANNOTATION];
  if (hostnames !== undefined) {
    const field = `metadata.annotations[${EXTRA_HOSTNAMES_ANNOTATION}]`;
    for (const raw of hostnames.split(",")) {
      const host = raw.trim().toLowerCase().replace(/\.$/, "");
      if (!host) continue;
      const syntax = isDNS1123Subdomain(host);
      if (syntax.length > 0) causes.push(fieldInvalid(field, host, syntax.join("; ")));
      // Public names must not shadow what the cluster, the allocator or the admin API own.
      else if (under(host, policy.clusterDomain)) causes.push(fieldInvalid(field, host, `must not be under the cluster domain ${policy.clusterDomain}`));
      else if (under(host, policy.lbDomain))
        causes.push(fieldInvalid(field, host, `must not be under the LoadBalancer domain ${policy.lbDomain}, whose names are allocated`));
      else if (policy.adminHosts.has(host)) causes.push(fieldInvalid(field, host, "must not be an admin API host"));
    }
  }
  const timeout = annotations[TIMEOUT_ANNOTATION];
  if (timeout !== undefined) {
    const ms = parseDuration(timeout.trim());
    if (ms === undefined || ms <= 0)
      causes.push(fieldInvalid(`metadata.annotations[${TIMEOUT_ANNOTATION}]`, timeout, 'must be a positive duration such as "30s", "1500ms" or "2m"'));
  }
  if (svc.spec.type === "LoadBalancer") {
    const label = `${svc.metadata.name}-${svc.metadata.namespace}`;
    if (label.length > DNS_LABEL_MAX)
      causes.push(
        fieldInvalid(
          "metadata.name",
          svc.metadata.name,
          `must be no more than ${DNS_LABEL_MAX} characters when joined with the namespace as "<name>-<namespace>", the first label of the LoadBalancer hostname`,
        ),
      );
  }
  return causes;
}
