// GET /metrics: Prometheus text for operators and benchmarks. The gateway counters
// are this isolate's (each isolate counts its own); the registry figures are global.
import { familyHeader, formatSampleValue, labelText, type Labels } from "../api/prometheus";
import { gatewayStats } from "../gateway/stats";
import type { RegistryStats } from "../registry/registry";

function metric(out: string[], name: string, type: "counter" | "gauge", help: string, samples: [labels: Labels, value: number][]): void {
  out.push(...familyHeader(name, type, help));
  for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatSampleValue(value)}`);
}

export function renderMetrics(registry: RegistryStats): string {
  const g = gatewayStats();
  const out: string[] = [];
  metric(out, "svcedge_gateway_requests_total", "counter", "Requests that reached the gateway in this isolate.", [[{}, g.requests]]);
  metric(out, "svcedge_gateway_route_cache_hits_total", "counter", "Route lookups answered from this isolate's cache.", [[{}, g.cacheHits]]);
  metric(out, "svcedge_gateway_kv_reads_total", "counter", "KV reads made by the gateway in this isolate (route records and node tokens).", [[{}, g.kvReads]]);
  metric(out, "svcedge_gateway_retries_total", "counter", "Attempts sent again to another endpoint.", [[{}, g.retries]]);
  metric(out, "svcedge_gateway_ejections_total", "counter", "Endpoints ejected by passive health.", [[{}, g.ejections]]);
  metric(out, "svcedge_registry_resource_version", "gauge", "The registry's latest resourceVersion.", [[{}, registry.resourceVersion]]);
  metric(out, "svcedge_registry_kv_writes_total", "counter", "KV writes and deletes issued by the registry since it started.", [[{}, registry.kvWrites]]);
  metric(out, "svcedge_registry_kv_pending", "gauge", "KV keys waiting for the next coalesced flush.", [[{}, registry.kvPending]]);
  metric(out, "svcedge_registry_endpoints_queue_depth", "gauge", "Services marked by Pod writes whose EndpointSlices are yet to be synced.", [
    [{}, registry.endpointsQueued],
  ]);
  metric(out, "svcedge_registry_watchers", "gauge", "Open watch streams.", [[{}, registry.watchers]]);
  metric(out, "svcedge_registry_token_lookups_total", "counter", "Node-token lookups the admin API asked of the registry since it started.", [
    [{}, registry.tokenLookups],
  ]);
  metric(
    out,
    "svcedge_registry_objects",
    "gauge",
    "Stored objects by resource.",
    Object.entries(registry.objects).map(([resource, n]) => [{ resource }, n]),
  );
  return `${out.join("\n")}\n`;
}
