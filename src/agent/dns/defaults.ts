// Cluster DNS defaults, shared by the flags and the server.

/** kubelet's and CoreDNS's default cluster domain. */
export const DEFAULT_DNS_ZONE = "cluster.local";
/** CoreDNS kubernetes plugin's default TTL (seconds), for positive and negative answers alike. */
export const DEFAULT_DNS_TTL_SECONDS = 5;
/** CoreDNS accepts a kubernetes `ttl` from 0 to 3600 seconds. */
export const MAX_DNS_TTL_SECONDS = 3600;
