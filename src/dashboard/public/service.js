// Browser module /dashboard/service.js: one Service and its endpoints (Pod, node,
// URL, ready/serving/terminating), live from the watch of its EndpointSlices, beside
// the gateway's view (route record and ejections) polled from the admin host.
import { getJson, seg } from "./api.js";
import { ageCell, clear, errorText, h, table } from "./dom.js";
import { conditionsOf, endpointCounts, endpointId, SERVICE_NAME_LABEL, sliceSet, slicesPath, uniqueEndpoints } from "./endpoints.js";
import { loadAll } from "./pager.js";
import { hostnamesOf, portsOf } from "./services.js";
import { sleep, watchCollection } from "./watch.js";

/** Ejections are not in any watch: the gateway's view is asked for again this often. */
const EDGE_POLL_MS = 3000;

function flag(value, name) {
  return h("td", { class: value === (name !== "terminating") ? "ok" : "bad", dataset: { cond: name } }, String(value));
}

/** What the gateway does with an endpoint, from its route record and this isolate's ejections. */
function gatewayCell(edge, id) {
  if (!edge) return h("td", { class: "muted", dataset: { role: "gateway" } }, "…");
  if (edge.error) return h("td", { class: "muted", dataset: { role: "gateway" } }, "unknown");
  if (!edge.found) return h("td", { class: "muted", dataset: { role: "gateway" } }, "no route record");
  const ejected = [];
  const sets = new Set();
  for (const port of edge.ports) {
    for (const e of port.endpoints) {
      if (e.id !== id) continue;
      sets.add(e.set);
      if (e.ejected) ejected.push(port.name || String(port.port));
    }
  }
  if (ejected.length) return h("td", { class: "bad", dataset: { role: "gateway" } }, `ejected (${ejected.join(", ")})`);
  if (sets.has("ready")) return h("td", { class: "ok", dataset: { role: "gateway" } }, "in rotation");
  if (sets.has("fallback")) return h("td", { class: "warn", dataset: { role: "gateway" } }, "fallback");
  return h("td", { class: "muted", dataset: { role: "gateway" } }, "not routed");
}

function urlsOf(edge, id) {
  if (!edge?.found) return [];
  const urls = new Set();
  for (const port of edge.ports) for (const e of port.endpoints) if (e.id === id) urls.add(e.url);
  return [...urls];
}

/** The last of the admin API's checks for a host (GET /debug/routes/<host>): where the gateway stops. */
async function whyNotRouted(host, signal) {
  try {
    const explained = await getJson(`/debug/routes/${seg(host)}`, { signal });
    return explained.steps[explained.steps.length - 1];
  } catch (_err) {
    return "no route record in KV (yet)";
  }
}

export function serviceView(root, namespace, name, signal) {
  const base = `/api/v1/namespaces/${seg(namespace)}/services`;
  const title = h("h1", {}, "Service ", `${namespace}/${name}`);
  const summary = h("div");
  const counts = h("span");
  const endpoints = h("div");
  const edgeNote = h("p", { class: "muted", dataset: { role: "edge-note" } });
  root.append(h("p", {}, h("a", { href: "#/services" }, "← Services")), title, summary, h("h2", {}, "Endpoints ", counts), endpoints, edgeNote);

  let svc = null;
  const slices = sliceSet();
  let edge = null;

  function drawSummary() {
    clear(summary);
    const s = svc.spec;
    const selector = Object.entries(s.selector || {})
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const item = (label, value) => [h("dt", {}, label), h("dd", { class: "wrap" }, value)];
    summary.append(
      h(
        "dl",
        { class: "summary" },
        item("Type", s.type || "ClusterIP"),
        item("Cluster IP", s.clusterIP || "—"),
        item("Hostnames", hostnamesOf(svc).join(", ") || "—"),
        item("Ports", portsOf(svc).join(", ") || "—"),
        item("Selector", selector || "<none>"),
        item("Session affinity", s.sessionAffinity || "None"),
        item("Created", ageCell(svc.metadata.creationTimestamp, "span")),
      ),
    );
  }

  function drawEndpoints() {
    const all = uniqueEndpoints(slices.list());
    const n = endpointCounts(slices.list());
    counts.textContent = `${n.ready}/${n.total} ready`;
    counts.className = "muted";
    counts.dataset.role = "endpoint-counts";
    clear(endpoints);
    if (all.length === 0) {
      endpoints.append(
        h(
          "p",
          { class: "muted", dataset: { role: "empty" } },
          svc?.spec.selector ? "No endpoints: no Pod matches the selector, or none has an address." : "No endpoints.",
        ),
      );
      return;
    }
    const rows = all.map(({ slice, endpoint }) => {
      const c = conditionsOf(endpoint);
      const id = endpointId(endpoint);
      const ref = endpoint.targetRef || {};
      const urls = urlsOf(edge, id);
      const ports = (slice.ports || []).map((p) => `${(p.name ? `${p.name} ` : "") + p.port}/${p.protocol || "TCP"}`).join(", ");
      return h(
        "tr",
        { dataset: { endpoint: ref.name || endpoint.addresses[0] } },
        h("td", {}, ref.kind === "Pod" && ref.name ? ref.name : "—"),
        h("td", {}, endpoint.nodeName || "—"),
        h("td", {}, endpoint.addresses.join(", ")),
        h("td", {}, ports || "—"),
        h("td", { class: "wrap" }, urls.length ? urls.join(", ") : "—"),
        flag(c.ready, "ready"),
        flag(c.serving, "serving"),
        flag(c.terminating, "terminating"),
        gatewayCell(edge, id),
      );
    });
    endpoints.append(table(["Pod", "Node", "Addresses", "Ports", "URL", "Ready", "Serving", "Terminating", "Gateway"], rows));
  }

  async function pollEdge() {
    while (!signal.aborted) {
      try {
        edge = await getJson(`/dashboard/api/edge/namespaces/${seg(namespace)}/services/${seg(name)}`, { signal });
        edgeNote.textContent = edge.found
          ? "Gateway: the route record of " +
            edge.host +
            " (resourceVersion " +
            edge.resourceVersion +
            ") and the ejections of the isolate that answered, every " +
            EDGE_POLL_MS / 1000 +
            " s."
          : `Gateway: ${edge.host}: ${await whyNotRouted(edge.host, signal)}`;
      } catch (err) {
        if (signal.aborted) return;
        edge = { error: true };
        edgeNote.textContent = `Gateway view unavailable: ${errorText(err)}`;
      }
      drawEndpoints();
      await sleep(EDGE_POLL_MS, signal);
    }
  }

  const sliceParams = { labelSelector: `${SERVICE_NAME_LABEL}=${name}` };
  async function syncSlices() {
    const list = await loadAll(slicesPath(namespace), sliceParams, signal);
    slices.clear();
    for (const s of list.items) slices.apply("ADDED", s);
    drawEndpoints();
    watchCollection(
      slicesPath(namespace),
      sliceParams,
      list.resourceVersion,
      {
        onEvent(type, slice) {
          slices.apply(type, slice);
          drawEndpoints();
        },
        onExpired() {
          syncSlices().catch(() => {});
        },
      },
      signal,
    );
  }

  async function start() {
    try {
      svc = await getJson(`${base}/${seg(name)}`, { signal });
    } catch (err) {
      if (signal.aborted) return;
      root.append(h("p", { class: "error", role: "alert" }, errorText(err)));
      return;
    }
    drawSummary();
    watchCollection(
      base,
      { fieldSelector: `metadata.name=${name}` },
      svc.metadata.resourceVersion,
      {
        onEvent(type, object) {
          if (type === "DELETED") {
            title.append(h("span", { class: "bad" }, " (deleted)"));
            return;
          }
          svc = object;
          drawSummary();
        },
        onExpired() {
          // Rare (a watch that fell far behind): the summary stays as it is; a reload reads it again.
          title.append(h("span", { class: "muted" }, " (summary may be stale: reload)"));
        },
      },
      signal,
    );
    await syncSlices();
    pollEdge();
  }
  start().catch((err) => {
    if (!signal.aborted) root.append(h("p", { class: "error", role: "alert" }, errorText(err)));
  });
}
