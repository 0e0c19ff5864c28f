// Browser module /dashboard/nodes.js: the Nodes page: the Ready condition and how long
// ago each node's Lease (kube-node-lease/<node>, renewed by the agent) was renewed.
import { ApiError, getJson, seg } from "./api.js";
import { ageCell, h } from "./dom.js";
import { pagedList } from "./paged-list.js";
import { watchCollection } from "./watch.js";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

function readyCondition(node) {
  return (node.status?.conditions || []).find((c) => c.type === "Ready");
}

/** resourceVersions are opaque to clients in general; this registry's are increasing integers. */
function newer(a, b) {
  return !b || Number(a.metadata.resourceVersion) >= Number(b.metadata.resourceVersion);
}

/**
 * Companion of the Nodes list: the page's Leases, then the Lease namespace's watch (a
 * renewal per node every few seconds), applied to the rows shown.
 */
async function leasesCompanion(nodes, signal, changed) {
  const leases = new Map();
  for (const n of nodes) leases.set(n.metadata.name, null);
  if (nodes.length === 0) return { extraOf: () => undefined };
  const sync = async () => {
    // The watch starts from before the reads, so that no renewal between them is missed.
    const head = await getJson(`${LEASES}?limit=1`, { signal });
    await Promise.all(
      nodes.map(async (n) => {
        try {
          leases.set(n.metadata.name, await getJson(`${LEASES}/${seg(n.metadata.name)}`, { signal }));
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }),
    );
    watchCollection(
      LEASES,
      {},
      head.metadata.resourceVersion,
      {
        onEvent(type, lease) {
          const name = lease.metadata.name;
          if (!leases.has(name)) return;
          if (type === "DELETED") leases.set(name, null);
          else if (newer(lease, leases.get(name))) leases.set(name, lease);
          else return;
          changed(name);
        },
        onExpired() {
          sync().then(
            () => {
              for (const name of leases.keys()) changed(name);
            },
            () => {},
          );
        },
      },
      signal,
    );
  };
  await sync();
  return { extraOf: (name) => leases.get(name) };
}

function row(node, lease) {
  const ready = readyCondition(node);
  const status = ready ? ready.status : "Unknown";
  const spec = lease?.spec || {};
  return h(
    "tr",
    {},
    h("td", {}, node.metadata.name),
    h("td", { class: status === "True" ? "ok" : "bad", dataset: { role: "ready" } }, status === "True" ? "Ready" : status === "False" ? "NotReady" : "Unknown"),
    h("td", { class: "muted" }, (ready && (ready.reason || ready.message)) || "—"),
    ready ? ageCell(ready.lastTransitionTime) : h("td", { class: "muted" }, "—"),
    lease ? ageCell(spec.renewTime, "td", { role: "lease" }) : h("td", { class: "muted", dataset: { role: "lease" } }, "no lease"),
    h("td", {}, spec.leaseDurationSeconds ? `${spec.leaseDurationSeconds}s` : "—"),
    ageCell(node.metadata.creationTimestamp),
  );
}

export function nodesView(root, query, signal) {
  pagedList(
    root,
    {
      title: "Nodes",
      noun: ["Node", "Nodes"],
      route: "nodes",
      path: "/api/v1/nodes",
      columns: ["Name", "Ready", "Reason", "Since", "Lease renewed", "Lease duration", "Age"],
      filterHint: "Filter: name",
      filterText: (node) => node.metadata.name,
      row,
      companion: leasesCompanion,
    },
    query,
    signal,
  );
}
