// Browser module /dashboard/services.js: the Services page (type, hostnames, ports,
// ready/total endpoints), and how a Service's addresses and ports read, shared with
// the Service's own page.
import { h } from "./dom.js";
import { serviceEndpointsCompanion } from "./endpoints.js";
import { pagedList } from "./paged-list.js";

/** Annotation with extra public hostnames of a LoadBalancer Service (src/api/route.ts). */
const EXTRA_HOSTNAMES_ANNOTATION = "svcedge.io/hostnames";

/** Names a Service answers on: LoadBalancer ingress and extra hostnames, or its ExternalName. */
export function hostnamesOf(svc) {
  const out = [];
  const ingress = svc.status?.loadBalancer?.ingress || [];
  for (const i of ingress) if (i.hostname || i.ip) out.push(i.hostname || i.ip);
  const extra = svc.metadata.annotations?.[EXTRA_HOSTNAMES_ANNOTATION];
  if (extra) for (const name of extra.split(",")) if (name.trim()) out.push(name.trim().toLowerCase());
  if (svc.spec.type === "ExternalName" && svc.spec.externalName) out.push(svc.spec.externalName);
  return [...new Set(out)];
}

/** As kubectl's PORT(S) column, with the port's name first: "http 80:30080/TCP". */
export function portsOf(svc) {
  return (svc.spec.ports || []).map((p) => `${(p.name ? `${p.name} ` : "") + p.port + (p.nodePort ? `:${p.nodePort}` : "")}/${p.protocol || "TCP"}`);
}

export function serviceLink(svc) {
  return `#/services/${encodeURIComponent(svc.metadata.namespace)}/${encodeURIComponent(svc.metadata.name)}`;
}

export function countsCell(counts) {
  if (!counts) return h("td", { class: "muted", dataset: { role: "endpoints" } }, "—");
  const cls = counts.total === 0 ? "muted" : counts.ready === 0 ? "bad" : counts.ready < counts.total ? "warn" : "ok";
  return h("td", { class: cls, dataset: { role: "endpoints" } }, `${counts.ready}/${counts.total}`);
}

function row(svc, counts) {
  const hosts = hostnamesOf(svc);
  return h(
    "tr",
    {},
    h("td", {}, svc.metadata.namespace),
    h("td", {}, h("a", { href: serviceLink(svc) }, svc.metadata.name)),
    h("td", {}, svc.spec.type || "ClusterIP"),
    h("td", {}, svc.spec.clusterIP || "—"),
    h("td", { class: "wrap" }, hosts.length ? hosts.join(", ") : "—"),
    h("td", {}, portsOf(svc).join(", ") || "—"),
    countsCell(counts),
  );
}

export function servicesView(root, query, signal) {
  pagedList(
    root,
    {
      title: "Services",
      noun: ["Service", "Services"],
      route: "services",
      path: "/api/v1/services",
      columns: ["Namespace", "Name", "Type", "Cluster IP", "Hostnames", "Ports", "Endpoints ready/total"],
      filterHint: "Filter: namespace/name, type or hostname",
      filterText: (svc) => `${svc.metadata.namespace}/${svc.metadata.name} ${svc.spec.type || "ClusterIP"} ${hostnamesOf(svc).join(" ")}`,
      row,
      companion: serviceEndpointsCompanion,
    },
    query,
    signal,
  );
}
