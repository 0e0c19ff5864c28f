// Answers for names in the cluster zone, as the Kubernetes DNS-Based Service Discovery
// specification (kubernetes/dns docs/specification.md, schema 1.1.0) and CoreDNS's
// `kubernetes` plugin give them. Pure: records + question → resolution. The server encodes
// it; an ExternalName alias comes back with `chase` for the server to follow.
//
// NXDOMAIN versus NODATA (RFC 2308) as CoreDNS decides it: a name that exists but has no
// record of the asked type (the zone apex, `svc.<zone>`, an existing namespace, a Service
// asked for a family it has no address in) is NOERROR with an empty answer; a name that
// does not exist (an unknown namespace, Service, port or endpoint, a headless Service with no
// ready endpoint, spec 2.4.1) is NXDOMAIN. Both carry the zone's SOA in the authority section.
import type { Answer } from "dns-packet";
import type { ClusterRecords, DnsEndpoint, DnsPort, DnsService } from "./cluster-records";
import { addressKeyOfReverseName, addressOfDashed, isReverseName, relativeToZone } from "./names";

/** The schema this server implements (spec section 1; served as `dns-version.<zone>` TXT, 2.2). */
export const DNS_SCHEMA_VERSION = "1.1.0";
/** CoreDNS's SOA timers: refresh 7200, retry 1800, expire 86400 (the minimum is the TTL). */
const SOA_REFRESH = 7200;
const SOA_RETRY = 1800;
const SOA_EXPIRE = 86400;

export type Rcode = "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "FORMERR" | "NOTIMP" | "REFUSED";

export interface Resolution {
  rcode: Rcode;
  answers: Answer[];
  additionals: Answer[];
  /** Negative (NXDOMAIN or NODATA): the SOA goes into the authority section. */
  negative: boolean;
  /** The ExternalName target (lowercase, no trailing dot) the server still has to resolve for this type. */
  chase?: string;
}

export interface ClusterZone {
  /** Lowercase, no trailing dot ("cluster.local"). */
  zone: string;
  ttl: number;
  /** The server's own addresses: `ns.dns.<zone>` (CoreDNS's name for itself). */
  serverAddresses: string[];
}

export const soaRecord = (z: ClusterZone, serial: number): Answer => ({
  name: z.zone,
  type: "SOA",
  ttl: z.ttl,
  data: { mname: `ns.dns.${z.zone}`, rname: `hostmaster.${z.zone}`, serial, refresh: SOA_REFRESH, retry: SOA_RETRY, expire: SOA_EXPIRE, minimum: z.ttl },
});

const nodata = (): Resolution => ({ rcode: "NOERROR", answers: [], additionals: [], negative: true });
const nxdomain = (): Resolution => ({ rcode: "NXDOMAIN", answers: [], additionals: [], negative: true });
const positive = (answers: Answer[], additionals: Answer[] = []): Resolution =>
  answers.length ? { rcode: "NOERROR", answers, additionals, negative: false } : nodata();

function addressRecords(owner: string, addresses: Iterable<string>, type: string, ttl: number): Answer[] {
  const family = type === "A" ? 4 : 6;
  const out: Answer[] = [];
  for (const ip of addresses) if ((ip.includes(":") ? 6 : 4) === family) out.push({ name: owner, type: family === 4 ? "A" : "AAAA", ttl, data: ip });
  return out;
}

/** Both families' address records of a name (the SRV targets' additional section). */
const glue = (owner: string, addresses: string[], ttl: number): Answer[] => [
  ...addressRecords(owner, addresses, "A", ttl),
  ...addressRecords(owner, addresses, "AAAA", ttl),
];

/** RFC 2782 leaves priority and weight open (spec 2.3.2); as CoreDNS: priority 0, weights sharing 100. */
function srvRecords(owner: string, targets: { port: number; target: string }[], ttl: number): Answer[] {
  const weight = targets.length ? Math.max(1, Math.floor(100 / targets.length)) : 0;
  return targets.map((t) => ({ name: owner, type: "SRV", ttl, data: { priority: 0, weight, port: t.port, target: t.target } }));
}

const matchesPort = (p: DnsPort, port: string | undefined, proto: string | undefined): boolean =>
  port === undefined || (p.name !== "" && p.name === port && p.protocol === proto);

interface ServiceQuery {
  svc: DnsService;
  owner: string;
  type: string;
  /** `_<port>._<proto>` labels without the underscores, when asked. */
  port?: string;
  proto?: string;
  /** The `<hostname>` label, when asked. */
  endpoint?: string;
}

function answerService(q: ServiceQuery, z: ClusterZone): Resolution {
  const { svc, owner, type, port, proto, endpoint } = q;
  const fqdn = `${svc.name}.${svc.namespace}.svc.${z.zone}`;
  if (svc.kind === "ExternalName") {
    // Only the Service's own name is an alias (spec 2.5); names under it do not exist.
    if (endpoint !== undefined || port !== undefined || !svc.externalName) return nxdomain();
    const cname: Answer = { name: owner, type: "CNAME", ttl: z.ttl, data: svc.externalName };
    if (type === "CNAME") return positive([cname]);
    return { rcode: "NOERROR", answers: [cname], additionals: [], negative: false, chase: svc.externalName };
  }
  // Endpoint names and headless Services answer from endpoints (spec 2.4); CoreDNS also serves
  // `<hostname>.<service>` for Services with a ClusterIP.
  if (svc.kind === "Headless" || endpoint !== undefined) {
    let eps: DnsEndpoint[] = endpoint === undefined ? svc.endpoints : svc.endpoints.filter((e) => e.hostname === endpoint);
    if (port !== undefined) eps = eps.filter((e) => e.ports.some((p) => matchesPort(p, port, proto)));
    if (eps.length === 0) return nxdomain();
    if (type === "A" || type === "AAAA")
      return positive(
        addressRecords(
          owner,
          eps.map((e) => e.address),
          type,
          z.ttl,
        ),
      );
    if (type !== "SRV") return nodata();
    const targets: { port: number; target: string }[] = [];
    const additionals: Answer[] = [];
    for (const e of eps) {
      const target = `${e.hostname}.${fqdn}`;
      const ports = e.ports.filter((p) => matchesPort(p, port, proto));
      for (const p of ports) targets.push({ port: p.port, target });
      if (ports.length) additionals.push(...glue(target, [e.address], z.ttl));
    }
    return positive(srvRecords(owner, targets, z.ttl), additionals);
  }
  const ports = svc.ports.filter((p) => matchesPort(p, port, proto));
  if (ports.length === 0 && port !== undefined) return nxdomain();
  if (type === "A" || type === "AAAA") return positive(addressRecords(owner, svc.clusterIPs, type, z.ttl));
  if (type !== "SRV") return nodata();
  return positive(
    srvRecords(
      owner,
      ports.map((p) => ({ port: p.port, target: fqdn })),
      z.ttl,
    ),
    glue(fqdn, svc.clusterIPs, z.ttl),
  );
}

/** `<ip-dashed>.<ns>.pod.<zone>` (spec 2.6, deprecated but required): the address itself, as CoreDNS's `pods insecure`. */
function answerPod(labels: string[], owner: string, type: string, records: ClusterRecords, z: ClusterZone): Resolution {
  const [namespace, podName, ...rest] = [...labels].reverse();
  if (namespace === undefined) return nodata();
  if (!records.hasNamespace(namespace) || rest.length) return nxdomain();
  if (podName === undefined) return nodata();
  const ip = addressOfDashed(podName);
  if (ip === undefined) return nxdomain();
  return type === "A" || type === "AAAA" ? positive(addressRecords(owner, [ip], type, z.ttl)) : nodata();
}

/**
 * The answer for a name in the cluster zone or a reverse zone, or undefined when the name is
 * not ours (the server forwards it). `name` is normalized (lowercase, no trailing dot);
 * `owner` is the question's name as asked, so answers repeat its spelling.
 */
export function resolveCluster(records: ClusterRecords, name: string, owner: string, type: string, z: ClusterZone): Resolution | undefined {
  if (isReverseName(name)) {
    const key = addressKeyOfReverseName(name);
    const names = key === undefined ? undefined : records.namesOf(key);
    // Addresses outside the cluster fall through to the upstream resolvers (CoreDNS's `fallthrough in-addr.arpa ip6.arpa`).
    if (!names) return undefined;
    return type === "PTR" ? positive(names.map((target) => ({ name: owner, type: "PTR", ttl: z.ttl, data: target }))) : nodata();
  }
  const rel = relativeToZone(name, z.zone);
  if (rel === undefined) return undefined;
  if (rel === "") {
    if (type === "SOA") return positive([soaRecord(z, records.serial)]);
    if (type === "NS") return positive([{ name: owner, type: "NS", ttl: z.ttl, data: `ns.dns.${z.zone}` }], glue(`ns.dns.${z.zone}`, z.serverAddresses, z.ttl));
    return nodata();
  }
  if (rel === "dns-version") return type === "TXT" ? positive([{ name: owner, type: "TXT", ttl: z.ttl, data: DNS_SCHEMA_VERSION }]) : nodata();
  if (rel === "dns") return nodata();
  if (rel === "ns.dns") return type === "A" || type === "AAAA" ? positive(addressRecords(owner, z.serverAddresses, type, z.ttl)) : nodata();
  const labels = rel.split(".");
  const kind = labels[labels.length - 1];
  if (kind === "pod") return answerPod(labels.slice(0, -1), owner, type, records, z);
  if (kind !== "svc") return nxdomain();
  // Read right to left: svc, namespace, service, then an endpoint or `_port._proto`.
  const [namespace, service, ...rest] = labels.slice(0, -1).reverse();
  if (namespace === undefined) return nodata();
  if (!records.hasNamespace(namespace)) return nxdomain();
  if (service === undefined) return nodata();
  const svc = records.service(namespace, service);
  if (!svc) return nxdomain();
  if (rest.length === 0) return answerService({ svc, owner, type }, z);
  if (rest.length === 1) return answerService({ svc, owner, type, endpoint: rest[0]! }, z);
  if (rest.length === 2 && rest[0]!.startsWith("_") && rest[1]!.startsWith("_"))
    return answerService({ svc, owner, type, proto: rest[0]!.slice(1), port: rest[1]!.slice(1) }, z);
  return nxdomain();
}
