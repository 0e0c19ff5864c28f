// KV value → a RouteRecord the rest of the gateway can trust. The registry writes
// these, but KV is shared state: a malformed record (or endpoint) is logged and
// skipped rather than fetched, so that only http(s) origins named by a record are
// ever contacted, and of those only the ones the origin guard allows.
import type { RouteEndpoint, RoutePort, RouteRecord } from "../api/route";
import { gatewayConfig } from "./config";
import { isHostname } from "./host";
import { canonicalHostname, mayFetchOrigin } from "./origin-guard";
import { compileSourceRanges, type SourceRange } from "./source-ranges";
import { isObject } from "../api/plain-data";

/** A record as the isolate caches it: parsed once, with what requests need precomputed. */
export interface LoadedRoute extends RouteRecord {
  /** Parsed `sourceRanges`; set when the record restricts callers (empty: nobody may call). */
  allowedSources?: readonly SourceRange[];
  /** Set when the ExternalName is an origin the guard refuses: nothing is fetched. */
  externalNameRefused?: true;
}

const EXTERNAL_NAME = /^([a-z0-9.-]+)(?::([0-9]{1,5}))?\.?$/;

const isPortNumber = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/** Returns the record with endpoint URLs normalised (no trailing slash), or null if unusable. */
export function parseRouteRecord(value: unknown, host: string): LoadedRoute | null {
  if (!isObject(value) || value.v !== 1) return reject(host, "unknown record version");
  const { namespace, service, access, externalName, sessionAffinity, affinityTimeoutSeconds, timeoutMs, ports, resourceVersion, sourceRanges } = value;
  if (typeof namespace !== "string" || typeof service !== "string") return reject(host, "missing namespace/service");
  if (access !== "public" && access !== "cluster") return reject(host, "bad access");
  if (externalName !== undefined && (typeof externalName !== "string" || !isExternalName(externalName))) {
    return reject(host, "bad externalName");
  }
  if (!Array.isArray(ports)) return reject(host, "ports is not a list");
  const record: LoadedRoute = {
    v: 1,
    namespace,
    service,
    access,
    sessionAffinity: sessionAffinity === "ClientIP" ? "ClientIP" : "None",
    ports: ports.flatMap((p) => parsePort(p, host)),
    resourceVersion: typeof resourceVersion === "string" ? resourceVersion : "",
  };
  if (typeof externalName === "string") {
    record.externalName = externalName.toLowerCase().replace(/\.$/, "");
    const name = canonicalHostname(record.externalName);
    if (name === undefined || !mayFetchOrigin(name, gatewayConfig())) {
      reject(host, `externalName ${record.externalName} is a refused origin`);
      record.externalNameRefused = true;
    }
  }
  if (typeof affinityTimeoutSeconds === "number") record.affinityTimeoutSeconds = affinityTimeoutSeconds;
  if (typeof timeoutMs === "number" && Number.isFinite(timeoutMs) && timeoutMs > 0) record.timeoutMs = timeoutMs;
  if (sourceRanges !== undefined) restrictSources(record, sourceRanges, host);
  return record;
}

/** Fails closed: a restriction the gateway cannot read admits nobody rather than everybody. */
function restrictSources(record: LoadedRoute, value: unknown, host: string): void {
  if (!Array.isArray(value)) {
    reject(host, "sourceRanges is not a list");
    record.allowedSources = [];
    return;
  }
  // An empty list restricts nothing (Kubernetes: no loadBalancerSourceRanges, no filter).
  if (value.length === 0) return;
  const cidrs = value.filter((r): r is string => typeof r === "string");
  record.sourceRanges = cidrs;
  record.allowedSources = compileSourceRanges(cidrs, host);
}

/** A DNS-1123 subdomain (trailing dot allowed, as Kubernetes does), optionally with a port. */
export function isExternalName(name: string): boolean {
  const match = EXTERNAL_NAME.exec(name.toLowerCase());
  if (!match || !isHostname(match[1]!.replace(/\.$/, ""))) return false;
  return match[2] === undefined || isPortNumber(Number(match[2]));
}

function parsePort(value: unknown, host: string): RoutePort[] {
  if (!isObject(value) || typeof value.name !== "string" || !isPortNumber(value.port)) {
    reject(host, "bad port");
    return [];
  }
  const protocol = value.protocol === "UDP" || value.protocol === "SCTP" ? value.protocol : "TCP";
  const port: RoutePort = {
    name: value.name,
    port: value.port,
    protocol,
    ready: parseEndpoints(value.ready, host),
    terminating: parseEndpoints(value.terminating, host),
  };
  if (typeof value.appProtocol === "string") port.appProtocol = value.appProtocol;
  return [port];
}

function parseEndpoints(value: unknown, host: string): RouteEndpoint[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((e): RouteEndpoint[] => {
    const url = isObject(e) && typeof e.id === "string" && typeof e.url === "string" ? normaliseOrigin(e.url) : null;
    if (!isObject(e) || url === null) {
      reject(host, "bad endpoint");
      return [];
    }
    // A refused origin is not an endpoint at all: the Service's other endpoints still serve.
    if (!mayFetchOrigin(new URL(url).hostname, gatewayConfig())) {
      reject(host, `endpoint ${url} is a refused origin`);
      return [];
    }
    const endpoint: RouteEndpoint = { id: e.id as string, url };
    if (typeof e.nodeName === "string") endpoint.nodeName = e.nodeName;
    return [endpoint];
  });
}

/** "http(s)://authority[/prefix]" without userinfo, query or fragment; trailing slash removed. */
function normaliseOrigin(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username || url.password || url.search || url.hash) return null;
  return url.origin + url.pathname.replace(/\/+$/, "");
}

function reject(host: string, why: string): null {
  console.warn(`gateway: ignoring route record part for ${host}: ${why}`);
  return null;
}
