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

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const parts = pathname.split("/").filter((p) => p.length > 0).map(decodeURIComponent);
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
