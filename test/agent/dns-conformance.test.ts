// The Kubernetes DNS-Based Service Discovery specification (kubernetes/dns
// docs/specification.md, schema 1.1.0), example by example, against the agent's DNS server
// on loopback (real UDP, real dns-packet encoding). Each case cites the section it checks.
// The spec's names are kept; its addresses are replaced by lab ones (198.18.0.0/15,
// 2001:db8::/32). Where the spec is silent (NXDOMAIN versus NODATA, SOA in negative
// answers, TTLs) the cases follow CoreDNS's kubernetes plugin tests (plugin/kubernetes/handler_test.go).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { namespaceObject, query, rrLines, serviceObject, sliceObject, startTestDns, type TestDns } from "./dns/client";

const TTL = 5;
const SOA = `cluster.local ${TTL} SOA ns.dns.cluster.local hostmaster.cluster.local min=${TTL}`;
let dns: TestDns;

beforeAll(async () => {
  dns = await startTestDns({ ttl: TTL });
  for (const ns of ["default", "empty-ns"]) dns.add(namespaceObject(ns));
  dns.add(
    serviceObject("default", "kubernetes", {
      type: "ClusterIP",
      clusterIP: "198.19.0.1",
      clusterIPs: ["198.19.0.1"],
      ports: [
        { name: "https", protocol: "TCP", port: 443 },
        { name: "dns", protocol: "UDP", port: 53 },
      ],
    }),
  );
  dns.add(
    serviceObject("default", "dual", {
      type: "ClusterIP",
      clusterIP: "198.19.0.2",
      clusterIPs: ["198.19.0.2", "2001:db8::2"],
      ports: [{ name: "http", protocol: "TCP", port: 80 }],
    }),
  );
  dns.add(serviceObject("default", "unnamed", { type: "ClusterIP", clusterIP: "198.19.0.3", ports: [{ protocol: "TCP", port: 8080 }] }));
  dns.add(serviceObject("early", "first", { type: "ClusterIP", clusterIP: "198.19.0.4", ports: [{ port: 80 }] }));
  dns.add(serviceObject("default", "headless", { clusterIP: "None", ports: [{ name: "https", protocol: "TCP", port: 443 }] }));
  dns.add(
    sliceObject("default", "headless", "headless-v4", {
      addressType: "IPv4",
      ports: [{ name: "https", protocol: "TCP", port: 8443 }],
      endpoints: [
        { addresses: ["198.18.3.1"], conditions: { ready: true } },
        { addresses: ["198.18.3.2"], conditions: {} },
        { addresses: ["198.18.3.100"], hostname: "my-pet", conditions: { ready: true } },
        { addresses: ["198.18.3.9"], hostname: "not-ready", conditions: { ready: false } },
      ],
    }),
  );
  dns.add(
    sliceObject("default", "headless", "headless-v6", {
      addressType: "IPv6",
      ports: [{ name: "https", protocol: "TCP", port: 8443 }],
      endpoints: [{ addresses: ["2001:db8::3:1"], hostname: "my-pet", conditions: { ready: true } }],
    }),
  );
  dns.add(serviceObject("default", "headless-empty", { clusterIP: "None", ports: [{ name: "https", protocol: "TCP", port: 443 }] }));
  dns.add(
    sliceObject("default", "headless-empty", "he", {
      addressType: "IPv4",
      ports: [{ name: "https", protocol: "TCP", port: 443 }],
      endpoints: [{ addresses: ["198.18.4.1"], conditions: { ready: false } }],
    }),
  );
  dns.add(serviceObject("default", "publish", { clusterIP: "None", publishNotReadyAddresses: true, ports: [{ name: "peer", protocol: "TCP", port: 2380 }] }));
  dns.add(
    sliceObject("default", "publish", "p", {
      addressType: "IPv4",
      ports: [{ name: "peer", protocol: "TCP", port: 2380 }],
      endpoints: [{ addresses: ["198.18.5.1"], hostname: "etcd-0", conditions: { ready: false } }],
    }),
  );
  dns.add(serviceObject("default", "foo", { type: "ExternalName", externalName: "www.example.com" }));
  dns.add(serviceObject("default", "alias", { type: "ExternalName", externalName: "kubernetes.default.svc.cluster.local." }));
});
afterAll(() => dns?.stop());

interface Case {
  section: string;
  what: string;
  name: string;
  type: string;
  rcode: "NOERROR" | "NXDOMAIN";
  answer?: string[];
  additional?: string[];
  /** The SOA in the authority section (negative answers). */
  soa?: boolean;
}

const CASES: Case[] = [
  {
    section: "2.2",
    what: "schema version",
    name: "dns-version.cluster.local",
    type: "TXT",
    rcode: "NOERROR",
    answer: [`dns-version.cluster.local ${TTL} TXT 1.1.0`],
  },
  {
    section: "2.3.1",
    what: "A record of a ClusterIP Service",
    name: "kubernetes.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`kubernetes.default.svc.cluster.local ${TTL} A 198.19.0.1`],
  },
  {
    section: "2.3.1",
    what: "AAAA record of an IPv6 ClusterIP",
    name: "dual.default.svc.cluster.local",
    type: "AAAA",
    rcode: "NOERROR",
    answer: [`dual.default.svc.cluster.local ${TTL} AAAA 2001:db8::2`],
  },
  {
    section: "2.3.1",
    what: "A record of a dual-stack Service: its IPv4 ClusterIP only",
    name: "dual.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`dual.default.svc.cluster.local ${TTL} A 198.19.0.2`],
  },
  {
    section: "2.1",
    what: "case-insensitive; the answer repeats the question's spelling",
    name: "Kubernetes.DEFAULT.svc.Cluster.Local",
    type: "A",
    rcode: "NOERROR",
    answer: [`Kubernetes.DEFAULT.svc.Cluster.Local ${TTL} A 198.19.0.1`],
  },
  {
    section: "2.3.2",
    what: "SRV record of a named port, the Service's A record in the additional section",
    name: "_https._tcp.kubernetes.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answer: [`_https._tcp.kubernetes.default.svc.cluster.local ${TTL} SRV 0 100 443 kubernetes.default.svc.cluster.local`],
    additional: [`kubernetes.default.svc.cluster.local ${TTL} A 198.19.0.1`],
  },
  {
    section: "2.3.2",
    what: "SRV of a UDP port",
    name: "_dns._udp.kubernetes.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answer: [`_dns._udp.kubernetes.default.svc.cluster.local ${TTL} SRV 0 100 53 kubernetes.default.svc.cluster.local`],
    additional: [`kubernetes.default.svc.cluster.local ${TTL} A 198.19.0.1`],
  },
  {
    section: "2.3.2",
    what: "a port under the wrong protocol has no SRV",
    name: "_https._udp.kubernetes.default.svc.cluster.local",
    type: "SRV",
    rcode: "NXDOMAIN",
    soa: true,
  },
  {
    section: "2.3.2",
    what: "unnamed ports have no SRV record",
    name: "_8080._tcp.unnamed.default.svc.cluster.local",
    type: "SRV",
    rcode: "NXDOMAIN",
    soa: true,
  },
  {
    section: "2.3.3",
    what: "PTR of a ClusterIP",
    name: "1.0.19.198.in-addr.arpa",
    type: "PTR",
    rcode: "NOERROR",
    answer: [`1.0.19.198.in-addr.arpa ${TTL} PTR kubernetes.default.svc.cluster.local`],
  },
  {
    section: "2.3.3",
    what: "PTR of an IPv6 ClusterIP (nibbles, reversed)",
    name: "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    type: "PTR",
    rcode: "NOERROR",
    answer: [`2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa ${TTL} PTR dual.default.svc.cluster.local`],
  },
  {
    section: "2.4.1",
    what: "A records of a headless Service: every ready endpoint (nil ready counts as ready), not the not-ready one",
    name: "headless.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: ["198.18.3.1", "198.18.3.100", "198.18.3.2"].map((ip) => `headless.default.svc.cluster.local ${TTL} A ${ip}`),
  },
  {
    section: "2.4.1",
    what: "AAAA records of a headless Service",
    name: "headless.default.svc.cluster.local",
    type: "AAAA",
    rcode: "NOERROR",
    answer: [`headless.default.svc.cluster.local ${TTL} AAAA 2001:db8::3:1`],
  },
  {
    section: "2.4.1",
    what: "a hostname with several addresses: one record per address of the family",
    name: "my-pet.headless.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`my-pet.headless.default.svc.cluster.local ${TTL} A 198.18.3.100`],
  },
  {
    section: "2.4.1",
    what: "the same hostname's AAAA",
    name: "my-pet.headless.default.svc.cluster.local",
    type: "AAAA",
    rcode: "NOERROR",
    answer: [`my-pet.headless.default.svc.cluster.local ${TTL} AAAA 2001:db8::3:1`],
  },
  {
    section: "2.4.1",
    what: "an endpoint without hostname, by its system-assigned one (dashed address, as CoreDNS)",
    name: "198-18-3-1.headless.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`198-18-3-1.headless.default.svc.cluster.local ${TTL} A 198.18.3.1`],
  },
  {
    section: "2.4.1",
    what: "a not-ready endpoint has no hostname record",
    name: "not-ready.headless.default.svc.cluster.local",
    type: "A",
    rcode: "NXDOMAIN",
    soa: true,
  },
  { section: "2.4.1", what: "no ready endpoints: NXDOMAIN", name: "headless-empty.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", soa: true },
  {
    section: "2.1 (ready)",
    what: "publishNotReadyAddresses publishes not-ready endpoints",
    name: "publish.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`publish.default.svc.cluster.local ${TTL} A 198.18.5.1`],
  },
  {
    section: "2.1 (ready)",
    what: "... with their hostname records",
    name: "etcd-0.publish.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`etcd-0.publish.default.svc.cluster.local ${TTL} A 198.18.5.1`],
  },
  {
    section: "2.4.2",
    what: "SRV of a headless Service: one per ready endpoint, targeting its hostname, with the endpoint's port",
    name: "_https._tcp.headless.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answer: ["198-18-3-1", "198-18-3-2", "my-pet", "my-pet"].map(
      (h) => `_https._tcp.headless.default.svc.cluster.local ${TTL} SRV 0 25 8443 ${h}.headless.default.svc.cluster.local`,
    ),
    additional: [
      `198-18-3-1.headless.default.svc.cluster.local ${TTL} A 198.18.3.1`,
      `198-18-3-2.headless.default.svc.cluster.local ${TTL} A 198.18.3.2`,
      `my-pet.headless.default.svc.cluster.local ${TTL} A 198.18.3.100`,
      `my-pet.headless.default.svc.cluster.local ${TTL} AAAA 2001:db8::3:1`,
    ],
  },
  {
    section: "2.4.3",
    what: "PTR of a headless endpoint with a hostname",
    name: "100.3.18.198.in-addr.arpa",
    type: "PTR",
    rcode: "NOERROR",
    answer: [`100.3.18.198.in-addr.arpa ${TTL} PTR my-pet.headless.default.svc.cluster.local`],
  },
  {
    section: "2.4.3",
    what: "PTR of a headless endpoint without one",
    name: "1.3.18.198.in-addr.arpa",
    type: "PTR",
    rcode: "NOERROR",
    answer: [`1.3.18.198.in-addr.arpa ${TTL} PTR 198-18-3-1.headless.default.svc.cluster.local`],
  },
  {
    section: "2.5",
    what: "CNAME of an ExternalName Service",
    name: "foo.default.svc.cluster.local",
    type: "CNAME",
    rcode: "NOERROR",
    answer: [`foo.default.svc.cluster.local ${TTL} CNAME www.example.com`],
  },
  {
    section: "2.5",
    what: "an ExternalName pointing into the cluster: the CNAME, then its target's A",
    name: "alias.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`alias.default.svc.cluster.local ${TTL} CNAME kubernetes.default.svc.cluster.local`, `kubernetes.default.svc.cluster.local ${TTL} A 198.19.0.1`],
  },
  { section: "2.5", what: "names under an ExternalName do not exist", name: "x.foo.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", soa: true },
  {
    section: "2.6",
    what: "deprecated pod A record",
    name: "198-18-0-9.default.pod.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`198-18-0-9.default.pod.cluster.local ${TTL} A 198.18.0.9`],
  },
  { section: "2.6", what: "pod record of an unknown namespace", name: "198-18-0-9.nowhere.pod.cluster.local", type: "A", rcode: "NXDOMAIN", soa: true },
  // Negative answers (RFC 2308; CoreDNS's choices where the spec is silent).
  {
    section: "2.3.1 / RFC 2308",
    what: "NODATA: an IPv4-only Service asked for AAAA",
    name: "kubernetes.default.svc.cluster.local",
    type: "AAAA",
    rcode: "NOERROR",
    answer: [],
    soa: true,
  },
  {
    section: "2.3.1 / RFC 2308",
    what: "NODATA: an existing name, a type it has none of",
    name: "kubernetes.default.svc.cluster.local",
    type: "MX",
    rcode: "NOERROR",
    answer: [],
    soa: true,
  },
  { section: "2.3 / RFC 2308", what: "NXDOMAIN: no such Service", name: "nginx.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", soa: true },
  { section: "2.3 / RFC 2308", what: "NXDOMAIN: no such namespace", name: "kubernetes.nowhere.svc.cluster.local", type: "A", rcode: "NXDOMAIN", soa: true },
  {
    section: "2.3 / RFC 2308",
    what: "NODATA: an existing namespace with no Service of that name asked as a whole",
    name: "empty-ns.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [],
    soa: true,
  },
  {
    section: "2.3 / RFC 2308",
    what: "NODATA: a namespace whose Namespace object has not arrived yet but holds a Service",
    name: "early.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [],
    soa: true,
  },
  {
    section: "2.3.1",
    what: "... and that Service resolves",
    name: "first.early.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answer: [`first.early.svc.cluster.local ${TTL} A 198.19.0.4`],
  },
  { section: "2.3 / RFC 2308", what: "NODATA: svc.<zone>", name: "svc.cluster.local", type: "A", rcode: "NOERROR", answer: [], soa: true },
  { section: "2.3 / RFC 2308", what: "NXDOMAIN: neither svc nor pod under the zone", name: "foo.cluster.local", type: "A", rcode: "NXDOMAIN", soa: true },
  {
    section: "2.4.1 / RFC 2308",
    what: "NXDOMAIN: no such endpoint hostname",
    name: "bogus.headless.default.svc.cluster.local",
    type: "A",
    rcode: "NXDOMAIN",
    soa: true,
  },
  { section: "RFC 1035 (zone apex)", what: "the zone's SOA", name: "cluster.local", type: "SOA", rcode: "NOERROR", answer: [SOA] },
];

describe("Kubernetes DNS specification 1.1.0, over UDP", () => {
  // EDNS0 with dig's default size: without it, 512 bytes leave no room for some additional sections.
  it.each(CASES)("$section $what: $name $type", async (c) => {
    const r = await query(dns.address, c.name, c.type, { edns: 1232 });
    expect(r.rcode).toBe(c.rcode);
    expect(r.flag_aa).toBe(true);
    if (c.answer) expect(rrLines(r.answers)).toEqual([...c.answer].sort());
    if (c.additional) expect(rrLines(r.additionals)).toEqual([...c.additional].sort());
    expect(rrLines(r.authorities)).toEqual(c.soa ? [SOA] : []);
  });

  it("the same answers over TCP", async () => {
    for (const c of CASES) {
      const r = await query(dns.address, c.name, c.type, { tcp: true });
      expect(r.rcode, `${c.name} ${c.type}`).toBe(c.rcode);
      if (c.answer) expect(rrLines(r.answers), `${c.name} ${c.type}`).toEqual([...c.answer].sort());
    }
  });

  it("a namespace with neither a Namespace object nor a Service is gone: NXDOMAIN", async () => {
    dns.remove(serviceObject("early", "first", { clusterIP: "198.19.0.4" }));
    const r = await query(dns.address, "early.svc.cluster.local", "A");
    expect(r.rcode).toBe("NXDOMAIN");
    expect(rrLines(r.authorities)).toEqual([SOA]);
  });
});
