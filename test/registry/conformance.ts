// Shared by the tables that replay upstream's Service tests over REST (test/registry/*.clusters.test.ts and
// the other conformance tables): which cluster the project runs, upstream's makeValidService as a request
// body, and the fields of a 422's causes.
import { env } from "cloudflare:workers";

export const CIDRS = (env as unknown as { SERVICE_CIDR: string }).SERVICE_CIDR.split(",").map((c) => c.trim());
/** The cluster's families in order: "4", "6", "46" or "64" (vitest.config.ts). */
export const CLUSTER = CIDRS.map((c) => (c.includes(":") ? "6" : "4")).join("");

export type Spec = Record<string, any>;
export type Svc = { metadata: Record<string, any>; spec: Spec; status?: Spec };

/** upstream's makeValidService (pkg/apis/core/validation/validation_test.go), as a request body. */
export function makeValidService(name: string): Svc {
  return {
    metadata: { name, annotations: {} },
    spec: {
      selector: { key: "val" },
      sessionAffinity: "None",
      type: "ClusterIP",
      ports: [{ name: "p", protocol: "TCP", port: 8675, targetPort: 8675 }],
      internalTrafficPolicy: "Cluster",
    },
  };
}

/** The fields of a 422's causes, sorted. */
export const causeFields = (body: any): string[] => (body.details?.causes ?? []).map((x: { field: string }) => x.field).sort();
