// Builders for Service objects in tests: decoded, defaulted, then given their IP families
// for a single-stack IPv4 cluster, the way the apiserver sees a request body before validation.
import { decode } from "../../src/api/decode";
import { setDefaults } from "../../src/api/defaults";
import { initIPFamilyFields } from "../../src/api/service-ip-families";
import type { KubeObject, Service } from "../../src/api/types";

export function decoded(kind: "Service" | "Pod" | "EndpointSlice" | "Node" | "Namespace", raw: unknown): KubeObject {
  const res = decode(kind, raw);
  if (!res.ok) throw new Error(res.message);
  return res.object;
}

/** A defaulted Service in namespace "default" with the given spec (and metadata overrides). */
export function service(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}, old?: Service): Service {
  const svc = decoded("Service", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default", ...metadata }, spec }) as Service;
  setDefaults(svc, old);
  // Causes are what validation would report too: these builders leave them to the validator under test.
  initIPFamilyFields(svc, old, ["IPv4"]);
  return svc;
}

export const HTTP_PORT = { name: "http", port: 80 };
