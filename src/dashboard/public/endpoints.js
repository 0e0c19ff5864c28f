// Browser module /dashboard/endpoints.js: reading EndpointSlices as kube-proxy does
// (a nil `ready` means ready; `serving` defaults to `ready`), and the companion that
// gives a page of Services their ready/total counts, live.
import { loadAll } from "./pager.js";
import { watchCollection } from "./watch.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const SLICES = "/apis/discovery.k8s.io/v1";

export function slicesPath(namespace) {
  return `${SLICES + (namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "")}/endpointslices`;
}

export function conditionsOf(endpoint) {
  const c = endpoint.conditions || {};
  const ready = c.ready !== false;
  const serving = c.serving === undefined || c.serving === null ? ready : c.serving !== false;
  return { ready, serving, terminating: c.terminating === true };
}

/** The gateway's identity of an endpoint (src/registry/route-compiler.ts): the Pod's uid, else the address. */
export function endpointId(endpoint) {
  return endpoint.targetRef?.uid || endpoint.addresses[0] || "";
}

/** Endpoints of a Service's slices, each once (overlapping slices may list one twice). */
export function uniqueEndpoints(slices) {
  const seen = new Set();
  const out = [];
  for (const slice of [...slices].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    for (const endpoint of slice.endpoints || []) {
      if (!endpoint.addresses?.[0]) continue;
      const id = endpointId(endpoint);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ slice, endpoint });
    }
  }
  return out;
}

export function endpointCounts(slices) {
  const all = uniqueEndpoints(slices);
  return { ready: all.filter((e) => conditionsOf(e.endpoint).ready).length, total: all.length };
}

/** Slices by name, kept current from watch events. */
export function sliceSet() {
  const byName = new Map();
  return {
    apply(type, slice) {
      if (type === "DELETED") byName.delete(slice.metadata.name);
      else byName.set(slice.metadata.name, slice);
    },
    list: () => [...byName.values()],
    clear: () => byName.clear(),
  };
}

/**
 * Companion of the Services list: the page's slices, selected by the service-name
 * label (one request for the page, not one per Service), then watched.
 */
export async function serviceEndpointsCompanion(services, signal, changed) {
  const sets = new Map();
  const keyOf = (namespace, name) => `${namespace}/${name}`;
  for (const s of services) sets.set(keyOf(s.metadata.namespace, s.metadata.name), sliceSet());
  if (services.length === 0) return { extraOf: () => undefined };
  const names = [...new Set(services.map((s) => s.metadata.name))].sort();
  const params = { labelSelector: `${SERVICE_NAME_LABEL} in (${names.join(",")})` };
  const route = (type, slice) => {
    const key = keyOf(slice.metadata.namespace, slice.metadata.labels?.[SERVICE_NAME_LABEL]);
    const set = sets.get(key);
    if (!set) return undefined;
    set.apply(type, slice);
    return key;
  };
  const sync = async () => {
    const { items, resourceVersion } = await loadAll(slicesPath(""), params, signal);
    for (const set of sets.values()) set.clear();
    for (const slice of items) route("ADDED", slice);
    watchCollection(
      slicesPath(""),
      params,
      resourceVersion,
      {
        onEvent(type, slice) {
          const key = route(type, slice);
          if (key) changed(key);
        },
        onExpired() {
          // The watch fell behind the history: list again, then redraw every row.
          sync().then(
            () => {
              for (const key of sets.keys()) changed(key);
            },
            () => {},
          );
        },
      },
      signal,
    );
  };
  await sync();
  return { extraOf: (key) => (sets.has(key) ? endpointCounts(sets.get(key).list()) : undefined) };
}
