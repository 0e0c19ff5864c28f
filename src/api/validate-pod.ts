// Pod validation for the subset of core/v1 Pod that svcedge stores: a port of
// ValidatePod / validateContainers / validateContainerPorts / validateProbe /
// ValidatePodUpdate / ValidatePodStatusUpdate, plus svcedge's URL annotation.
// Unlike Kubernetes, `image` is optional: svcedge never runs the workload, a Pod
// only says where one listens.
import { IS_NEGATIVE, isDNS1123Label, isHTTPHeaderName, isQualifiedName, isValidIP, isValidPortName, isValidPortNum } from "./apimachinery-validation";
import { ipFamilyOfString } from "./ip";
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired } from "./status";
import type { Container, Pod, Probe, StatusCause } from "./types";
import { POD_URL_ANNOTATION } from "./types";
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./validate-meta";
import { SUPPORTED_PORT_PROTOCOLS, validatePortNumOrName } from "./validate-service";

const SUPPORTED_HTTP_SCHEMES = ["HTTP", "HTTPS"];
/** Conditions the kubelet owns; only other condition types must be qualified names. */
const SYSTEM_POD_CONDITIONS = new Set(["PodScheduled", "Ready", "Initialized", "ContainersReady"]);

/** What Kubernetes lists as mutable in a Pod spec (those svcedge stores: only container images). */
const UPDATABLE_POD_SPEC_FIELDS = [
  "`spec.containers[*].image`",
  "`spec.initContainers[*].image`",
  "`spec.activeDeadlineSeconds`",
  "`spec.tolerations` (only additions to existing tolerations)",
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

function validateProbe(probe: Probe | undefined, path: string): StatusCause[] {
  if (!probe) return [];
  const errs: StatusCause[] = [];
  let handlers = 0;
  const oneHandler = (name: "httpGet" | "tcpSocket" | "grpc", check: () => StatusCause[]): void => {
    if (handlers > 0) errs.push(fieldForbidden(`${path}.${name}`, "may not specify more than 1 handler type"));
    else {
      handlers++;
      errs.push(...check());
    }
  };
  const http = probe.httpGet;
  if (http) {
    oneHandler("httpGet", () => {
      const e: StatusCause[] = [];
      const p = `${path}.httpGet`;
      if (!http.path) e.push(fieldRequired(`${p}.path`));
      e.push(...validatePortNumOrName(http.port, `${p}.port`));
      if (!SUPPORTED_HTTP_SCHEMES.includes(http.scheme ?? "")) e.push(fieldNotSupported(`${p}.scheme`, http.scheme ?? "", SUPPORTED_HTTP_SCHEMES));
      for (const h of http.httpHeaders ?? []) for (const m of isHTTPHeaderName(h.name)) e.push(fieldInvalid(`${p}.httpHeaders`, h.name, m));
      return e;
    });
  }
  const tcp = probe.tcpSocket;
  if (tcp) oneHandler("tcpSocket", () => validatePortNumOrName(tcp.port, `${path}.tcpSocket.port`));
  const grpc = probe.grpc;
  if (grpc) oneHandler("grpc", () => validatePortNumOrName(grpc.port, `${path}.grpc.port`));
  if (handlers === 0) errs.push(fieldRequired(path, "must specify a handler type"));
  const numeric = ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const;
  for (const f of numeric) {
    const v = probe[f];
    if (v !== undefined && v < 0) errs.push(fieldInvalid(`${path}.${f}`, v, IS_NEGATIVE));
  }
  return errs;
}

function validateContainer(ctr: Container, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!ctr.name) errs.push(fieldRequired(`${path}.name`));
  else for (const m of isDNS1123Label(ctr.name)) errs.push(fieldInvalid(`${path}.name`, ctr.name, m));
  const names = new Set<string>();
  (ctr.ports ?? []).forEach((port, i) => {
    const p = `${path}.ports[${i}]`;
    if (port.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length) for (const m of msgs) errs.push(fieldInvalid(`${p}.name`, port.name, m));
      else if (names.has(port.name)) errs.push(fieldDuplicate(`${p}.name`, port.name));
      else names.add(port.name);
    }
    if (!port.containerPort) errs.push(fieldRequired(`${p}.containerPort`));
    else for (const m of isValidPortNum(port.containerPort)) errs.push(fieldInvalid(`${p}.containerPort`, port.containerPort, m));
    if (port.hostPort) for (const m of isValidPortNum(port.hostPort)) errs.push(fieldInvalid(`${p}.hostPort`, port.hostPort, m));
    if (!port.protocol) errs.push(fieldRequired(`${p}.protocol`));
    else if (!SUPPORTED_PORT_PROTOCOLS.includes(port.protocol)) errs.push(fieldNotSupported(`${p}.protocol`, port.protocol, SUPPORTED_PORT_PROTOCOLS));
  });
  errs.push(...validateProbe(ctr.readinessProbe, `${path}.readinessProbe`));
  return errs;
}

function validatePodURLAnnotation(pod: Pod): StatusCause[] {
  const url = pod.metadata.annotations?.[POD_URL_ANNOTATION];
  if (url === undefined) return [];
  const path = `metadata.annotations[${POD_URL_ANNOTATION}]`;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) {
    return [fieldInvalid(path, url, "must be an absolute http or https URL")];
  }
  return [];
}

function validatePodStatusAddresses(pod: Pod): StatusCause[] {
  const errs: StatusCause[] = [];
  const s = pod.status;
  if (!s) return errs;
  const ips = s.podIPs ?? [];
  ips.forEach((p, i) => errs.push(...isValidIP(`status.podIPs[${i}]`, p.ip)));
  if (ips.length > 1 && errs.length === 0) {
    const seen = new Set<string>();
    ips.forEach((p, i) => {
      if (seen.has(p.ip)) errs.push(fieldDuplicate(`status.podIPs[${i}]`, p.ip));
      seen.add(p.ip);
    });
    if (ips.length > 2 || ipFamilyOfString(ips[0]!.ip) === ipFamilyOfString(ips[1]!.ip)) {
      errs.push(
        fieldInvalid(
          "status.podIPs",
          ips.map((p) => p.ip),
          "may specify no more than one IP for each IP family",
        ),
      );
    }
  }
  if (s.podIP && ips.length === 0) errs.push(...isValidIP("status.podIP", s.podIP));
  if (s.hostIP) errs.push(...isValidIP("status.hostIP", s.hostIP));
  return errs;
}

function validatePodConditions(pod: Pod): StatusCause[] {
  const errs: StatusCause[] = [];
  (pod.status?.conditions ?? []).forEach((c, i) => {
    if (SYSTEM_POD_CONDITIONS.has(c.type)) return;
    // Kubernetes reports this path with a capital T.
    for (const m of isQualifiedName(c.type)) errs.push(fieldInvalid(`status.conditions[${i}].Type`, c.type, m));
  });
  return errs;
}

export function validatePod(pod: Pod): StatusCause[] {
  const errs = validateObjectMeta(pod.metadata, true, nameIsDNSSubdomain);
  errs.push(...validatePodURLAnnotation(pod));
  const spec = pod.spec;
  if (spec.containers.length === 0) errs.push(fieldRequired("spec.containers"));
  const names = new Set<string>();
  spec.containers.forEach((c, i) => {
    errs.push(...validateContainer(c, `spec.containers[${i}]`));
    if (names.has(c.name)) errs.push(fieldDuplicate(`spec.containers[${i}].name`, c.name));
    else names.add(c.name);
  });
  if (spec.hostname) for (const m of isDNS1123Label(spec.hostname)) errs.push(fieldInvalid("spec.hostname", spec.hostname, m));
  if (spec.subdomain) for (const m of isDNS1123Label(spec.subdomain)) errs.push(fieldInvalid("spec.subdomain", spec.subdomain, m));
  if (spec.nodeName) for (const m of nameIsDNSSubdomain(spec.nodeName, false)) errs.push(fieldInvalid("spec.nodeName", spec.nodeName, m));
  errs.push(...validatePodStatusAddresses(pod));
  errs.push(...validatePodConditions(pod));
  return errs;
}

/** Pod specs are immutable apart from container images (ValidatePodUpdate). */
export function validatePodUpdate(pod: Pod, old: Pod): StatusCause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  const withOldImages = {
    ...pod.spec,
    containers: pod.spec.containers.map((c, i) => {
      const was = old.spec.containers[i];
      const { image: _image, ...rest } = c;
      return was?.image !== undefined ? { ...rest, image: was.image } : rest;
    }),
  };
  if (pod.spec.containers.length !== old.spec.containers.length || canonical(withOldImages) !== canonical(old.spec)) {
    errs.push(fieldForbidden("spec", `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(",")}`));
  }
  errs.push(...validatePod(pod));
  return errs;
}

export function validatePodStatusUpdate(pod: Pod, old: Pod): StatusCause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePodStatusAddresses(pod));
  errs.push(...validatePodConditions(pod));
  return errs;
}

/** JSON with object keys sorted, so that key order does not count as a change. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}
