// Kubernetes REST paths → the resource a request names.
//   /api/v1/{resource}[/{name}[/{subresource}]]                     core, cluster-scoped or all namespaces
//   /api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]     core, namespaced
//   /apis/{group}/{version}/...                                     the same shapes for a named group

export interface ResourcePath {
  group: string;
  version: string;
  namespace: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** Subresources of a Namespace itself, which share the shape of a namespaced resource path. */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/**
 * The first `%` not followed by two hex digits, as Go reports it (`invalid URL escape "%zz"`);
 * Go's net/http answers such a request 400 before kube-apiserver routes it.
 */
export function malformedEscape(pathname: string): string | undefined {
  const m = /%(?![0-9A-Fa-f]{2}).{0,2}/s.exec(pathname);
  return m?.[0];
}

/** undefined for escapes that are not UTF-8: such a segment names nothing svcedge serves or stores. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const parts: string[] = [];
  for (const segment of pathname.split("/")) {
    if (segment.length === 0) continue;
    const decoded = decodeSegment(segment);
    if (decoded === undefined) return undefined;
    parts.push(decoded);
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  if (rest.length === 0 || rest.some((p) => p === "." || p === ".." || p.includes("/"))) return undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && !(group === "" && rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!))) {
    const [, namespace, resource, name, subresource, ...extra] = rest;
    if (extra.length > 0) return undefined;
    return clean({ group, version, namespace: namespace!, resource: resource!, name, subresource });
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length > 0) return undefined;
  return clean({ group, version, namespace: "", resource: resource!, name, subresource });
}

function clean(p: ResourcePath): ResourcePath {
  if (p.name === undefined) delete p.name;
  if (p.subresource === undefined) delete p.subresource;
  return p;
}
