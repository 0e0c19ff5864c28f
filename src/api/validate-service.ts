// Service validation: a port of ValidateService, validateServicePort,
// ValidateServiceClusterIPsRelatedFields and ValidateServiceUpdate from
// k8s.io/kubernetes pkg/apis/core/validation, with the same field paths and
// messages (including Kubernetes' own quirks, e.g. `spec.LoadBalancerSourceRanges`).
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidCIDR, isValidIP, isValidPortName, isValidPortNum } from "./apimachinery-validation";
import { isLinkLocalMulticast, isLinkLocalUnicast, isLoopback, isUnspecified, ipFamilyOfString, parseIP } from "./ip";
import { CLUSTER_IP_NONE, MAX_CLIENT_IP_AFFINITY_SECONDS, externallyAccessible, isHeadless, needsHealthCheck } from "./service-rules";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired } from "./status";
import type { Service, ServicePort, StatusCause } from "./types";
import { nameIsDNS1035Label, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from "./validate-meta";

export const SUPPORTED_PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"];
const SUPPORTED_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const SUPPORTED_SESSION_AFFINITY = ["ClientIP", "None"];
const SUPPORTED_TRAFFIC_POLICIES = ["Cluster", "Local"];
const SUPPORTED_IP_FAMILIES = ["IPv4", "IPv6"];
const SUPPORTED_IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"];
const SUPPORTED_TRAFFIC_DISTRIBUTION = ["PreferClose"];
const SUPPORTED_LB_IP_MODES = ["Proxy", "VIP"];

export const LB_SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";
const TOPOLOGY_MODE_ANNOTATION = "service.kubernetes.io/topology-mode";
const TOPOLOGY_HINTS_ANNOTATION = "service.kubernetes.io/topology-aware-hints";

/** A port number (1-65535) or an IANA_SVC_NAME naming a container port. */
export function validatePortNumOrName(port: number | string, path: string): StatusCause[] {
  const msgs = typeof port === "number" ? isValidPortNum(port) : isValidPortName(port);
  return msgs.map((m) => fieldInvalid(path, port, m));
}

/** Go's %#v of the (protocol, port) key Kubernetes reports for a duplicate port. */
const servicePortKey = (p: ServicePort): string =>
  `core.ServicePort{Name:"", Protocol:${JSON.stringify(p.protocol ?? "")}, AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;

function validateServicePort(sp: ServicePort, requireName: boolean, names: Set<string>, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (requireName && !sp.name) {
    errs.push(fieldRequired(`${path}.name`));
  } else if (sp.name) {
    for (const m of isDNS1123Label(sp.name)) errs.push(fieldInvalid(`${path}.name`, sp.name, m));
    if (names.has(sp.name)) errs.push(duplicate(`${path}.name`, JSON.stringify(sp.name)));
    else names.add(sp.name);
  }
  for (const m of isValidPortNum(sp.port)) errs.push(fieldInvalid(`${path}.port`, sp.port, m));
  if (!sp.protocol) errs.push(fieldRequired(`${path}.protocol`));
  else if (!SUPPORTED_PORT_PROTOCOLS.includes(sp.protocol)) errs.push(fieldNotSupported(`${path}.protocol`, sp.protocol, SUPPORTED_PORT_PROTOCOLS));
  errs.push(...validatePortNumOrName(sp.targetPort ?? 0, `${path}.targetPort`));
  if (sp.appProtocol !== undefined) {
    for (const m of isQualifiedName(sp.appProtocol)) errs.push(fieldInvalid(`${path}.appProtocol`, sp.appProtocol, m));
  }
  return errs;
}

/** field.Duplicate with a value already rendered the way Go's %#v renders it. */
const duplicate = (field: string, rendered: string): StatusCause => ({ reason: "FieldValueDuplicate", message: `Duplicate value: ${rendered}`, field });

/** Unspecified, loopback and link-local addresses make no sense as endpoints or external IPs. */
export function validateNonSpecialIP(value: string, path: string): StatusCause[] {
  const ip = parseIP(value);
  if (!ip) return [fieldInvalid(path, value, "must be a valid IP address")];
  const errs: StatusCause[] = [];
  if (isUnspecified(ip)) errs.push(fieldInvalid(path, value, `may not be unspecified (${value})`));
  if (isLoopback(ip)) errs.push(fieldInvalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
  if (isLinkLocalUnicast(ip)) errs.push(fieldInvalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
  if (isLinkLocalMulticast(ip)) errs.push(fieldInvalid(path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
  return errs;
}

function validateClientIPAffinityConfig(svc: Service, path: string): StatusCause[] {
  const cfg = svc.spec.sessionAffinityConfig;
  const why = "when session affinity type is ClientIP";
  if (!cfg) return [fieldRequired(path, why)];
  if (!cfg.clientIP) return [fieldRequired(`${path}.clientIP`, why)];
  const timeout = cfg.clientIP.timeoutSeconds;
  if (timeout === undefined) return [fieldRequired(`${path}.clientIP.timeoutSeconds`, why)];
  if (timeout <= 0 || timeout > MAX_CLIENT_IP_AFFINITY_SECONDS) {
    return [fieldInvalid(`${path}.clientIP.timeoutSeconds`, timeout, `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY_SECONDS}`)];
  }
  return [];
}

/** clusterIP, clusterIPs, ipFamilies and ipFamilyPolicy must agree (ValidateServiceClusterIPsRelatedFields). */
export function validateClusterIPFields(svc: Service): StatusCause[] {
  const spec = svc.spec;
  if (spec.type === "ExternalName") return [];
  const errs: StatusCause[] = [];
  const clusterIPs = spec.clusterIPs ?? [];
  const families = (spec.ipFamilies ?? []) as string[];
  if (spec.clusterIP) {
    if (clusterIPs.length === 0) errs.push(fieldRequired("spec.clusterIPs"));
    else if (clusterIPs[0] !== spec.clusterIP) errs.push(fieldInvalid("spec.clusterIPs", clusterIPs, "first value must match `clusterIP`"));
  } else if (clusterIPs.length !== 0) {
    errs.push(fieldInvalid("spec.clusterIPs", clusterIPs, "must be empty when `clusterIP` is not specified"));
  }
  const seen = new Set<string>();
  families.forEach((f, i) => {
    if (!SUPPORTED_IP_FAMILIES.includes(f)) errs.push(fieldNotSupported(`spec.ipFamilies[${i}]`, f, SUPPORTED_IP_FAMILIES));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, JSON.stringify(f)));
    seen.add(f);
  });
  if (spec.ipFamilyPolicy !== undefined && !SUPPORTED_IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy)) {
    errs.push(fieldNotSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, SUPPORTED_IP_FAMILY_POLICIES));
  }
  let invalidIPs = false;
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === CLUSTER_IP_NONE) {
      if (clusterIPs.length > 1) {
        invalidIPs = true;
        errs.push(fieldInvalid("spec.clusterIPs", clusterIPs, "'None' must be the first and only value"));
      }
      return;
    }
    const ipErrs = isValidIP(`spec.clusterIPs[${i}]`, ip);
    if (ipErrs.length) invalidIPs = true;
    errs.push(...ipErrs);
  });
  if (clusterIPs.length > 2) errs.push(fieldInvalid("spec.clusterIPs", clusterIPs, "may only hold up to 2 values"));
  // Kubernetes stops here: further checks on bad IPs would only repeat the error.
  if (invalidIPs) return errs;
  if (clusterIPs.length > 1 && ipFamilyOfString(clusterIPs[0]!) === ipFamilyOfString(clusterIPs[1]!)) {
    errs.push(fieldInvalid("spec.clusterIPs", clusterIPs, "may specify no more than one IP for each IP family"));
  }
  if (!isHeadless(svc) && clusterIPs.length > 0 && families.length > 0) {
    clusterIPs.forEach((ip, i) => {
      if (i > families.length - 1) return;
      const fam = ipFamilyOfString(ip);
      if (families[i] === "IPv4" && fam === 6) {
        errs.push(fieldInvalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      }
      if (families[i] === "IPv6" && fam !== 6) {
        errs.push(fieldInvalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
      }
    });
  }
  return errs;
}

function validateLoadBalancerClass(svc: Service): StatusCause[] {
  const errs: StatusCause[] = [];
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined) return errs;
  if (svc.spec.type === "LoadBalancer") for (const m of isQualifiedName(cls)) errs.push(fieldInvalid("spec.loadBalancerClass", cls, m));
  else errs.push(fieldForbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"));
  return errs;
}

/** loadBalancerClass is fixed for as long as a Service stays a LoadBalancer. */
function validateLoadBalancerClassUpdate(old: Service, svc: Service): StatusCause[] {
  if (old.spec.type !== "LoadBalancer" || svc.spec.type !== "LoadBalancer" || old.spec.loadBalancerClass === svc.spec.loadBalancerClass) return [];
  return [fieldInvalid("spec.loadBalancerClass", svc.spec.loadBalancerClass ?? null, "may not change once set")];
}

function validateTrafficPolicies(svc: Service): StatusCause[] {
  const errs: StatusCause[] = [];
  const spec = svc.spec;
  if (!externallyAccessible(svc)) {
    if (spec.externalTrafficPolicy) {
      errs.push(fieldInvalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
    }
  } else if (!spec.externalTrafficPolicy) {
    errs.push(fieldRequired("spec.externalTrafficPolicy"));
  } else if (!SUPPORTED_TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy)) {
    errs.push(fieldNotSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, SUPPORTED_TRAFFIC_POLICIES));
  }
  if (!needsHealthCheck(svc)) {
    if (spec.healthCheckNodePort) {
      errs.push(
        fieldInvalid(
          "spec.healthCheckNodePort",
          spec.healthCheckNodePort,
          "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ),
      );
    }
  } else if (spec.healthCheckNodePort) {
    // kube-apiserver also requires it here; the registry allocates one before it validates, so only callers that validate without allocating (tests) could miss it.
    for (const m of isValidPortNum(spec.healthCheckNodePort)) errs.push(fieldInvalid("spec.healthCheckNodePort", spec.healthCheckNodePort, m));
  }
  if (spec.internalTrafficPolicy === undefined) {
    // Not required for ExternalName, for historical reasons.
    if (spec.type === "NodePort" || spec.type === "LoadBalancer" || spec.type === "ClusterIP") errs.push(fieldRequired("spec.internalTrafficPolicy"));
  } else if (!SUPPORTED_TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy)) {
    errs.push(fieldNotSupported("spec.internalTrafficPolicy", spec.internalTrafficPolicy, SUPPORTED_TRAFFIC_POLICIES));
  }
  if (spec.trafficDistribution !== undefined && !SUPPORTED_TRAFFIC_DISTRIBUTION.includes(spec.trafficDistribution)) {
    errs.push(fieldNotSupported("spec.trafficDistribution", spec.trafficDistribution, SUPPORTED_TRAFFIC_DISTRIBUTION));
  }
  return errs;
}

export function validateService(svc: Service): StatusCause[] {
  const errs = validateObjectMeta(svc.metadata, true, nameIsDNS1035Label);
  const spec = svc.spec;
  const annotations = svc.metadata.annotations ?? {};
  const mode = annotations[TOPOLOGY_MODE_ANNOTATION];
  const hints = annotations[TOPOLOGY_HINTS_ANNOTATION];
  if (mode !== undefined && hints !== undefined && mode !== hints) {
    errs.push(
      fieldInvalid(`metadata.annotations[${TOPOLOGY_MODE_ANNOTATION}]`, mode, `must match annotations[${TOPOLOGY_HINTS_ANNOTATION}] when both are specified`),
    );
  }
  const ports = spec.ports ?? [];
  const headless = isHeadless(svc);
  if (ports.length === 0 && !headless && spec.type !== "ExternalName") errs.push(fieldRequired("spec.ports"));
  switch (spec.type) {
    case "LoadBalancer":
    case "NodePort":
      if (headless) errs.push(fieldInvalid("spec.clusterIPs[0]", spec.clusterIPs![0], `may not be set to 'None' for ${spec.type} services`));
      break;
    case "ExternalName": {
      if ((spec.clusterIPs?.length ?? 0) > 0) errs.push(fieldForbidden("spec.clusterIPs", "may not be set for ExternalName services"));
      if ((spec.ipFamilies?.length ?? 0) > 0) errs.push(fieldForbidden("spec.ipFamilies", "may not be set for ExternalName services"));
      if (spec.ipFamilyPolicy !== undefined) errs.push(fieldForbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
      // The CNAME may end with a dot to mark it fully qualified.
      const cname = (spec.externalName ?? "").replace(/\.$/, "");
      if (cname) for (const m of isDNS1123Subdomain(cname)) errs.push(fieldInvalid("spec.externalName", cname, m));
      else errs.push(fieldRequired("spec.externalName"));
      break;
    }
  }
  const names = new Set<string>();
  ports.forEach((p, i) => errs.push(...validateServicePort(p, ports.length > 1, names, `spec.ports[${i}]`)));
  if (spec.selector) errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (!spec.sessionAffinity) errs.push(fieldRequired("spec.sessionAffinity"));
  else if (!SUPPORTED_SESSION_AFFINITY.includes(spec.sessionAffinity)) {
    errs.push(fieldNotSupported("spec.sessionAffinity", spec.sessionAffinity, SUPPORTED_SESSION_AFFINITY));
  }
  if (spec.sessionAffinity === "ClientIP") errs.push(...validateClientIPAffinityConfig(svc, "spec.sessionAffinityConfig"));
  else if (spec.sessionAffinity === "None" && spec.sessionAffinityConfig) {
    errs.push(fieldForbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"));
  }
  errs.push(...validateClusterIPFields(svc));
  (spec.externalIPs ?? []).forEach((ip, i) => {
    const ipErrs = isValidIP(`spec.externalIPs[${i}]`, ip);
    errs.push(...(ipErrs.length ? ipErrs : validateNonSpecialIP(ip, `spec.externalIPs[${i}]`)));
  });
  if (!spec.type) errs.push(fieldRequired("spec.type"));
  else if (!SUPPORTED_SERVICE_TYPES.includes(spec.type)) errs.push(fieldNotSupported("spec.type", spec.type, SUPPORTED_SERVICE_TYPES));
  if (spec.type === "ClusterIP") {
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(fieldForbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (!p.nodePort) return;
    const key = `${p.protocol}/${p.nodePort}`;
    if (nodePorts.has(key)) errs.push(duplicate(`spec.ports[${i}].nodePort`, String(p.nodePort)));
    nodePorts.add(key);
  });
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${p.protocol}/${p.port}`;
    if (portKeys.has(key)) errs.push(duplicate(`spec.ports[${i}]`, servicePortKey(p)));
    portKeys.add(key);
  });
  errs.push(...validateSourceRanges(svc));
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.type !== "LoadBalancer") {
    errs.push(fieldForbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
  }
  // Kubernetes reports this path without the `spec.` prefix.
  if (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts === undefined) errs.push(fieldRequired("allocateLoadBalancerNodePorts"));
  errs.push(...validateLoadBalancerClass(svc));
  errs.push(...validateTrafficPolicies(svc));
  return errs;
}

function validateSourceRanges(svc: Service): StatusCause[] {
  const errs: StatusCause[] = [];
  const ranges = svc.spec.loadBalancerSourceRanges ?? [];
  const annotation = svc.metadata.annotations?.[LB_SOURCE_RANGES_ANNOTATION];
  const notLB = "may only be used when `type` is 'LoadBalancer'";
  if (ranges.length > 0) {
    // Kubernetes reports this field with a capital L.
    const path = "spec.LoadBalancerSourceRanges";
    if (svc.spec.type !== "LoadBalancer") errs.push(fieldForbidden(path, notLB));
    // Space-padded values are tolerated, a leftover from the annotation era.
    ranges.forEach((r, i) => errs.push(...isValidCIDR(`${path}[${i}]`, r.trim())));
  } else if (annotation !== undefined) {
    const path = `metadata.annotations[${LB_SOURCE_RANGES_ANNOTATION}]`;
    if (svc.spec.type !== "LoadBalancer") errs.push(fieldForbidden(path, notLB));
    const val = annotation.trim();
    if (val) for (const r of val.split(",")) errs.push(...isValidCIDR(path, r.trim()));
  }
  return errs;
}

function validateClusterIPsUpdate(old: Service, svc: Service): StatusCause[] {
  if (svc.spec.type === "ExternalName" || old.spec.type === "ExternalName") return [];
  if (isHeadless(old) && isHeadless(svc)) return [];
  const errs: StatusCause[] = [];
  const was = old.spec.clusterIPs ?? [];
  const now = svc.spec.clusterIPs ?? [];
  if (was.length === now.length) {
    was.forEach((ip, i) => {
      if (ip !== now[i]) errs.push(fieldInvalid(`spec.clusterIPs[${i}]`, now, "may not change once set"));
    });
  } else if (was.length > now.length) {
    if (now.length === 0) errs.push(fieldInvalid("spec.clusterIPs[0]", now, "primary clusterIP can not be unset"));
    if (was.length > 0 && now.length > 0 && now[0] !== was[0]) errs.push(fieldInvalid("spec.clusterIPs[0]", now, "may not change once set"));
    if (now.length === 1 && svc.spec.ipFamilyPolicy !== "SingleStack") {
      errs.push(fieldInvalid("spec.ipFamilyPolicy", svc.spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
    }
  } else if (was.length > 0 && now[0] !== was[0]) {
    errs.push(fieldInvalid("spec.clusterIPs[0]", now, "may not change once set"));
  }
  return errs;
}

function validateIPFamiliesUpdate(old: Service, svc: Service): StatusCause[] {
  if (svc.spec.type === "ExternalName" || old.spec.type === "ExternalName") return [];
  // Headless Services may change families, and so may a change to or from headless.
  if (isHeadless(old) || isHeadless(svc)) return [];
  const errs: StatusCause[] = [];
  const was = old.spec.ipFamilies ?? [];
  const now = svc.spec.ipFamilies ?? [];
  const clusterIPs = svc.spec.clusterIPs ?? [];
  if (was.length === now.length) {
    was.forEach((f, i) => {
      if (f !== now[i]) errs.push(fieldInvalid("spec.ipFamilies[0]", now, "may not change once set"));
    });
  } else if (was.length > now.length) {
    if (clusterIPs.length === 0) errs.push(fieldInvalid("spec.ipFamilies[0]", now, "primary ipFamily can not be unset"));
    if (now.length > 0 && now[0] !== was[0]) errs.push(fieldInvalid("spec.ipFamilies[0]", clusterIPs, "may not change once set"));
    if (now.length === 1 && svc.spec.ipFamilyPolicy !== "SingleStack") {
      errs.push(fieldInvalid("spec.ipFamilyPolicy", svc.spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
    }
  } else if (was.length > 0 && now.length > 0 && now[0] !== was[0]) {
    errs.push(fieldInvalid("spec.ipFamilies[0]", clusterIPs, "may not change once set"));
  }
  return errs;
}

export function validateServiceUpdate(svc: Service, old: Service): StatusCause[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  errs.push(...validateClusterIPsUpdate(old, svc));
  errs.push(...validateIPFamiliesUpdate(old, svc));
  errs.push(...validateLoadBalancerClassUpdate(old, svc));
  if (needsHealthCheck(old) && needsHealthCheck(svc) && svc.spec.healthCheckNodePort !== old.spec.healthCheckNodePort) {
    errs.push(fieldForbidden("spec.healthCheckNodePort", "field is immutable"));
  }
  errs.push(...validateService(svc));
  return errs;
}

/** ValidateServiceStatusUpdate: the load balancer ingress points must be real IPs or DNS names. */
export function validateServiceStatusUpdate(svc: Service, old: Service): StatusCause[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const path = "status.loadBalancer.ingress";
  if (svc.spec.type !== "LoadBalancer" && ingress.length !== 0) {
    errs.push(fieldForbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"));
    return errs;
  }
  ingress.forEach((ing, i) => {
    const p = `${path}[${i}]`;
    if (ing.ip) errs.push(...isValidIP(`${p}.ip`, ing.ip));
    if (ing.ipMode === undefined) {
      if (ing.ip) errs.push(fieldRequired(`${p}.ipMode`, "must be specified when `ip` is set"));
    } else if (!ing.ip) {
      errs.push(fieldForbidden(`${p}.ipMode`, "may not be specified when `ip` is not set"));
    } else if (!SUPPORTED_LB_IP_MODES.includes(ing.ipMode)) {
      errs.push(fieldNotSupported(`${p}.ipMode`, ing.ipMode, SUPPORTED_LB_IP_MODES));
    }
    if (ing.hostname) {
      for (const m of isDNS1123Subdomain(ing.hostname)) errs.push(fieldInvalid(`${p}.hostname`, ing.hostname, m));
      if (parseIP(ing.hostname)) errs.push(fieldInvalid(`${p}.hostname`, ing.hostname, "must be a DNS name, not an IP address"));
    }
  });
  return errs;
}
