// The benchmark's zone, the same for every server under test: N Services with one A record
// each, `svc-<i>.default.svc.cluster.local` → an address in 198.19.0.0/16 (lab space).

export const BENCH_ZONE = "cluster.local";
export const BENCH_TTL = 5;

export const benchServiceName = (i: number): string => `svc-${i}`;
export const benchServiceFqdn = (i: number): string => `${benchServiceName(i)}.default.svc.${BENCH_ZONE}`;
/** 198.19.0.1 onwards: room for 65,000 Services. */
export const benchServiceIP = (i: number): string => `198.19.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`;

/** dnsperf's query file: one "name type" per line. */
export const dnsperfQueries = (services: number): string => `${Array.from({ length: services }, (_, i) => `${benchServiceFqdn(i)} A`).join("\n")}\n`;

/** unbound's configuration serving the same records from a static local zone, one thread. */
export function unboundConf(services: number, port: number): string {
  const data = Array.from({ length: services }, (_, i) => `  local-data: "${benchServiceFqdn(i)}. ${BENCH_TTL} IN A ${benchServiceIP(i)}"`);
  return [
    "server:",
    "  num-threads: 1",
    `  interface: 127.0.0.1@${port}`,
    `  port: ${port}`,
    "  do-daemonize: no",
    '  chroot: ""',
    '  username: ""',
    '  pidfile: ""',
    '  directory: ""',
    "  use-syslog: no",
    "  verbosity: 0",
    "  access-control: 127.0.0.0/8 allow",
    "  do-ip6: no",
    `  local-zone: "${BENCH_ZONE}." static`,
    ...data,
    "",
  ].join("\n");
}
