// Counters of this isolate: tests read them to see that a warm isolate serves requests
// without touching KV, and that unknown hosts cost no KV read.

export interface GatewayStats {
  /** Requests that reached the gateway. */
  requests: number;
  /** Route lookups answered from the isolate cache. */
  cacheHits: number;
  /** KV reads of any kind (route records and node tokens). */
  kvReads: number;
  /** Attempts sent again to another endpoint. */
  retries: number;
  /** Endpoints ejected by passive health. */
  ejections: number;
}

const counters: GatewayStats = { requests: 0, cacheHits: 0, kvReads: 0, retries: 0, ejections: 0 };

/** Mutable counters for the gateway's own modules. */
export const stats = counters;

/** A snapshot of this isolate's counters. */
export function gatewayStats(): GatewayStats {
  return { ...counters };
}
