// EndpointSlice validation: a port of k8s.io/kubernetes pkg/apis/discovery/validation.
import {
  FIELD_IMMUTABLE,
  fieldTooMany,
  isDNS1123Label,
  isFullyQualifiedDomainName,
  isQualifiedName,
  isValidIPv4Address,
  isValidIPv6Address,
  isValidLabelValue,
} from "./apimachinery-validation";
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired } from "./status";
import type { Endpoint, EndpointPort, EndpointSlice, StatusCause } from "./types";
import { hasOwn } from "./plain-data";
import { nameIsDNSSubdomain, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from "./validate-meta";
import { SUPPORTED_PORT_PROTOCOLS, validateNonSpecialIP } from "./validate-service";

const SUPPORTED_ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
/** Kubernetes' hard caps per slice (the controller's default of 100 endpoints is lower). */
export const MAX_ENDPOINTS_PER_SLICE = 1000;
export const MAX_ADDRESSES_PER_ENDPOINT = 100;
export const MAX_PORTS_PER_SLICE = 20000;
export const MAX_ZONE_HINTS = 8;
/** maxTopologyLabels: an endpoint's deprecatedTopology holds at most 16 labels. */
export const MAX_TOPOLOGY_LABELS = 16;
/** The label the v1 `zone` field replaced; conversion keeps it out of deprecatedTopology. */
const ZONE_LABEL = "topology.kubernetes.io/zone";

function validateAddress(addressType: string, address: string, path: string): StatusCause[] {
  switch (addressType) {
    case "IPv4": {
      const errs = isValidIPv4Address(path, address);
      return errs.length ? errs : validateNonSpecialIP(address, path);
    }
    case "IPv6": {
      const errs = isValidIPv6Address(path, address);
      return errs.length ? errs : validateNonSpecialIP(address, path);
    }
    case "FQDN":
      return isFullyQualifiedDomainName(path, address);
    default:
      // Unknown address types are reported once, on addressType.
      return [];
  }
}

function validateEndpoints(endpoints: Endpoint[], addressType: string): StatusCause[] {
  if (endpoints.length > MAX_ENDPOINTS_PER_SLICE) return [fieldTooMany("endpoints", endpoints.length, MAX_ENDPOINTS_PER_SLICE)];
  const errs: StatusCause[] = [];
  endpoints.forEach((ep, i) => {
    const path = `endpoints[${i}]`;
    const addrPath = `${path}.addresses`;
    if (ep.addresses.length === 0) errs.push(fieldRequired(addrPath, "must contain at least 1 address"));
    else if (ep.addresses.length > MAX_ADDRESSES_PER_ENDPOINT) errs.push(fieldTooMany(addrPath, ep.addresses.length, MAX_ADDRESSES_PER_ENDPOINT));
    ep.addresses.forEach((a, j) => errs.push(...validateAddress(addressType, a, `${addrPath}[${j}]`)));
    if (ep.nodeName !== undefined) for (const m of nameIsDNSSubdomain(ep.nodeName, false)) errs.push(fieldInvalid(`${path}.nodeName`, ep.nodeName, m));
    if (ep.hostname !== undefined) for (const m of isDNS1123Label(ep.hostname)) errs.push(fieldInvalid(`${path}.hostname`, ep.hostname, m));
    const topologyPath = `${path}.deprecatedTopology`;
    const topology = ep.deprecatedTopology;
    if (topology && Object.keys(topology).length > MAX_TOPOLOGY_LABELS)
      errs.push(fieldTooMany(topologyPath, Object.keys(topology).length, MAX_TOPOLOGY_LABELS));
    errs.push(...validateLabels(topology, topologyPath));
    // field.InternalError in the apiserver's validation: a 422 whose cause is an internal error.
    if (topology && hasOwn(topology, ZONE_LABEL))
      errs.push({ reason: "InternalError", message: "Internal error: reserved key was not removed in conversion", field: `${topologyPath}[${ZONE_LABEL}]` });
    const zones = ep.hints?.forZones ?? [];
    if (zones.length > MAX_ZONE_HINTS) errs.push(fieldTooMany(`${path}.hints.forZones`, zones.length, MAX_ZONE_HINTS));
    else {
      const seen = new Set<string>();
      zones.forEach((z, j) => {
        const zp = `${path}.hints.forZones[${j}].name`;
        if (seen.has(z.name)) errs.push(fieldDuplicate(zp, z.name));
        seen.add(z.name);
        for (const m of isValidLabelValue(z.name)) errs.push(fieldInvalid(zp, z.name, m));
      });
    }
  });
  return errs;
}

function validatePorts(ports: EndpointPort[]): StatusCause[] {
  if (ports.length > MAX_PORTS_PER_SLICE) return [fieldTooMany("ports", ports.length, MAX_PORTS_PER_SLICE)];
  const errs: StatusCause[] = [];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const path = `ports[${i}]`;
    const name = p.name ?? "";
    if (name) for (const m of isDNS1123Label(name)) errs.push(fieldInvalid(`${path}.name`, name, m));
    if (names.has(name)) errs.push(fieldDuplicate(`${path}.name`, name));
    else names.add(name);
    if (!p.protocol) errs.push(fieldRequired(`${path}.protocol`));
    else if (!SUPPORTED_PORT_PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(`${path}.protocol`, p.protocol, SUPPORTED_PORT_PROTOCOLS));
    if (p.appProtocol !== undefined) for (const m of isQualifiedName(p.appProtocol)) errs.push(fieldInvalid(`${path}.appProtocol`, p.appProtocol, m));
  });
  return errs;
}

export function validateEndpointSlice(slice: EndpointSlice): StatusCause[] {
  const errs = validateObjectMeta(slice.metadata, true, nameIsDNSSubdomain);
  if (!slice.addressType) errs.push(fieldRequired("addressType"));
  else if (!SUPPORTED_ADDRESS_TYPES.includes(slice.addressType)) errs.push(fieldNotSupported("addressType", slice.addressType, SUPPORTED_ADDRESS_TYPES));
  errs.push(...validateEndpoints(slice.endpoints, slice.addressType));
  errs.push(...validatePorts(slice.ports ?? []));
  return errs;
}

export function validateEndpointSliceUpdate(slice: EndpointSlice, old: EndpointSlice): StatusCause[] {
  const errs = validateObjectMetaUpdate(slice.metadata, old.metadata);
  errs.push(...validateEndpoints(slice.endpoints, slice.addressType));
  errs.push(...validatePorts(slice.ports ?? []));
  if (slice.addressType !== old.addressType) errs.push(fieldInvalid("addressType", slice.addressType, FIELD_IMMUTABLE));
  return errs;
}
