// The DNS server's protocol behaviour, over real sockets on loopback: truncation over UDP
// (512 bytes without EDNS0, the advertised size with it) and the full answer over TCP;
// EDNS0 (OPT echoed, BADVERS); FORMERR or silence for malformed messages without the server
// ever stopping; forwarding to a real upstream (another instance of the server, for a zone
// of its own) with the cache, the TCP fallback on a truncated upstream answer, the in-flight
// bound against an upstream that never answers, and loop detection between two servers
// that forward to each other. The agent's metrics count all of it.
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSelf } from "../../src/agent/dns/forwarder";
import { waitFor } from "../../scripts/lab/agent-process";
import {
  decodeReply,
  freeUdpPort,
  namespaceObject,
  query,
  queryPacket,
  rrLines,
  sendTcp,
  sendUdp,
  serviceObject,
  sliceObject,
  startTestDns,
  type TestDns,
} from "./dns/client";

/** Enough endpoints that their A records overflow 512 bytes, and 1232 too. */
const MANY = 80;
const manyIPs = Array.from({ length: MANY }, (_, i) => `198.18.${8 + Math.floor(i / 250)}.${(i % 250) + 1}`);

function addBigHeadless(dns: TestDns, name: string): void {
  dns.add(serviceObject("default", name, { clusterIP: "None", ports: [{ name: "http", protocol: "TCP", port: 80 }] }));
  dns.add(
    sliceObject("default", name, `${name}-1`, {
      addressType: "IPv4",
      ports: [{ name: "http", protocol: "TCP", port: 80 }],
      endpoints: manyIPs.map((ip) => ({ addresses: [ip] })),
    }),
  );
}

let dns: TestDns;
let upstream: TestDns;

beforeAll(async () => {
  upstream = await startTestDns({ zone: "example.test", ttl: 30 });
  upstream.add(namespaceObject("default"));
  upstream.add(serviceObject("default", "web", { type: "ClusterIP", clusterIP: "198.19.9.9", ports: [{ port: 80 }] }));
  addBigHeadless(upstream, "big");
  dns = await startTestDns({ upstreams: [upstream.address] });
  dns.add(namespaceObject("default"));
  dns.add(serviceObject("default", "nginx", { type: "ClusterIP", clusterIP: "198.19.0.10", ports: [{ name: "http", port: 80 }] }));
  addBigHeadless(dns, "big");
});
afterAll(async () => {
  await dns?.stop();
  await upstream?.stop();
});

describe("truncation and EDNS0", () => {
  it("without EDNS0 a reply over 512 bytes comes back empty with TC; TCP carries all of it", async () => {
    const udp = await query(dns.address, "big.default.svc.cluster.local", "A");
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const tcp = await query(dns.address, "big.default.svc.cluster.local", "A", { tcp: true });
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers!.length).toBe(MANY);
  });

  it("EDNS0: the reply carries an OPT and may use the advertised size (up to 1232)", async () => {
    const small = await query(dns.address, "nginx.default.svc.cluster.local", "A", { edns: 4096 });
    const opt = small.additionals!.find((a) => a.type === "OPT") as unknown as { udpPayloadSize: number };
    expect(opt.udpPayloadSize).toBe(1232);
    expect(rrLines(small.answers)).toEqual(["nginx.default.svc.cluster.local 5 A 198.19.0.10"]);
    // 80 A records take ~3.8 KB without name compression: over 1232 still truncates.
    const big = await query(dns.address, "big.default.svc.cluster.local", "A", { edns: 4096 });
    expect(big.flag_tc).toBe(true);
  });

  it("an EDNS version other than 0 gets BADVERS (RFC 6891 6.1.3)", async () => {
    const r = await query(dns.address, "nginx.default.svc.cluster.local", "A", { edns: 1232, ednsVersion: 1 });
    const opt = r.additionals!.find((a) => a.type === "OPT") as unknown as { extendedRcode: number };
    expect(opt.extendedRcode).toBe(1);
    expect(r.answers).toEqual([]);
  });
});

describe("malformed messages", () => {
  it("a header with a broken question gets FORMERR with the query's ID", async () => {
    const msg = Buffer.concat([queryPacket("nginx.default.svc.cluster.local", "A", { id: 777 }).subarray(0, 20)]);
    const reply = await sendUdp(dns.address, msg);
    const r = decodeReply(reply!);
    expect(r.id).toBe(777);
    expect(r.rcode).toBe("FORMERR");
  });

  it("two questions get FORMERR; another opcode gets NOTIMP", async () => {
    const two = dnsPacket.encode({
      type: "query",
      id: 9,
      questions: [
        { name: "a.cluster.local", type: "A" },
        { name: "b.cluster.local", type: "A" },
      ],
    });
    expect(decodeReply((await sendUdp(dns.address, two))!).rcode).toBe("FORMERR");
    const update = queryPacket("nginx.default.svc.cluster.local", "A", { id: 10 });
    update.writeUInt16BE((update.readUInt16BE(2) & ~0x7800) | (5 << 11), 2);
    expect(decodeReply((await sendUdp(dns.address, update))!).rcode).toBe("NOTIMP");
  });

  it("less than a header, or a response, gets nothing; then random bytes; the server still answers", async () => {
    expect(await sendUdp(dns.address, Buffer.from([1, 2, 3]), 300)).toBeUndefined();
    const response = queryPacket("nginx.default.svc.cluster.local", "A");
    response[2]! |= 0x80;
    expect(await sendUdp(dns.address, response, 300)).toBeUndefined();
    // A bounded batch of random messages, some with a plausible header.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
    const sock = createSocket("udp4");
    for (let i = 0; i < 300; i++) {
      const len = rand() % 80;
      const buf = Buffer.alloc(len, 0).map(() => rand() & 0xff);
      if (len >= 12 && i % 2 === 0) buf[2] = 0x01; // a query with RD
      await new Promise<void>((resolve) => sock.send(buf, dns.address.port, dns.address.host, () => resolve()));
    }
    sock.close();
    // TCP: a message cut short, then a garbage one on a second connection.
    await sendTcp(dns.address, Buffer.from([0, 1, 2]), 300);
    const r = await query(dns.address, "nginx.default.svc.cluster.local", "A");
    expect(rrLines(r.answers)).toEqual(["nginx.default.svc.cluster.local 5 A 198.19.0.10"]);
    expect(dns.metrics.dnsDropped.get({ reason: "malformed" })).toBeGreaterThan(0);
  });
});

describe("forwarding", () => {
  it("forwards other names, then answers them from the cache", async () => {
    const asked = () => upstream.metrics.dnsRequests.get({ proto: "udp" });
    const before = asked();
    const first = await query(dns.address, "web.default.svc.example.test", "A");
    expect(first.rcode).toBe("NOERROR");
    expect(first.flag_aa).toBe(false);
    expect(first.flag_ra).toBe(true);
    expect(rrLines(first.answers)).toEqual(["web.default.svc.example.test 30 A 198.19.9.9"]);
    expect(asked()).toBe(before + 1);
    const second = await query(dns.address, "WEB.default.svc.example.test", "A");
    expect(second.answers!.map((a) => (a as { data: string }).data)).toEqual(["198.19.9.9"]);
    expect((second.answers![0] as { ttl: number }).ttl).toBeLessThanOrEqual(30);
    expect(asked()).toBe(before + 1);
    expect(dns.metrics.dnsCacheHits.get({ cache: "forward" })).toBeGreaterThanOrEqual(1);
    expect(dns.metrics.dnsForwardDuration.observations).toBeGreaterThanOrEqual(1);
  });

  it("forwards negative answers with the upstream's SOA, and caches them", async () => {
    const r = await query(dns.address, "nothing.default.svc.example.test", "A");
    expect(r.rcode).toBe("NXDOMAIN");
    expect(r.authorities!.map((a) => a.type)).toEqual(["SOA"]);
  });

  it("retries over TCP when the upstream's UDP answer is truncated", async () => {
    const r = await query(dns.address, "big.default.svc.example.test", "A", { tcp: true });
    expect(r.answers!.length).toBe(MANY);
  });

  it("reverse names outside the cluster go upstream (fall through), cluster addresses are answered here", async () => {
    const here = await query(dns.address, "10.0.19.198.in-addr.arpa", "PTR");
    expect(rrLines(here.answers)).toEqual(["10.0.19.198.in-addr.arpa 5 PTR nginx.default.svc.cluster.local"]);
    const there = await query(dns.address, "9.9.19.198.in-addr.arpa", "PTR");
    expect(there.flag_aa).toBe(false);
  });

  it("bounds the queries waiting on upstreams: past the bound, REFUSED at once", async () => {
    const silent = createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
    const stuck = await startTestDns({ upstreams: [{ host: "127.0.0.1", port: silent.address().port }], maxInFlight: 2, forwardTimeoutMs: 500 });
    try {
      const replies = await Promise.all(["a", "b", "c"].map((n) => query(stuck.address, `${n}.example.org`, "A")));
      const rcodes = replies.map((r) => r.rcode).sort();
      expect(rcodes).toEqual(["REFUSED", "SERVFAIL", "SERVFAIL"]);
      expect(stuck.metrics.dnsDropped.get({ reason: "overload" })).toBe(1);
    } finally {
      await stuck.stop();
      silent.close();
    }
  });

  it("never forwards to itself: its own address is no upstream, and a resolver that sends queries back is dropped", async () => {
    expect(isSelf({ host: "198.18.0.53", port: 53 }, { host: "198.18.0.53", port: 53 })).toBe(true);
    expect(isSelf({ host: "127.0.0.1", port: 53 }, { host: "0.0.0.0", port: 53 })).toBe(true);
    expect(isSelf({ host: "198.18.0.1", port: 53 }, { host: "198.18.0.53", port: 53 })).toBe(false);
    const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
    const a = await startTestDns({ port: pa, upstreams: [{ host: "127.0.0.1", port: pb }], forwardTimeoutMs: 500 });
    const b = await startTestDns({ port: pb, upstreams: [{ host: "127.0.0.1", port: pa }], forwardTimeoutMs: 500 });
    try {
      a.forwarder.probeForLoops();
      await waitFor("A to drop its looping upstream", 5_000, () => (a.forwarder.upstreamCount === 0 ? true : undefined));
      expect(a.metrics.dnsDropped.get({ reason: "loop" })).toBe(1);
      expect((await query(a.address, "www.example.org", "A")).rcode).toBe("REFUSED");
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe("metrics", () => {
  it("counts requests by proto, responses by rcode, cache hits, forward latency", () => {
    const text = dns.metrics.render();
    expect(text).toMatch(/^svcedge_agent_dns_requests_total\{proto="udp"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_requests_total\{proto="tcp"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_responses_total\{rcode="NOERROR"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_responses_total\{rcode="FORMERR"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_cache_hits_total\{cache="forward"\} [1-9]/m);
    expect(text).toMatch(/^svcedge_agent_dns_forward_duration_seconds_count [1-9]/m);
  });

  it("a repeated cluster query is served from the encoded-answer cache until the records change", async () => {
    const hits = () => dns.metrics.dnsCacheHits.get({ cache: "cluster" });
    await query(dns.address, "nginx.default.svc.cluster.local", "SRV");
    const before = hits();
    await query(dns.address, "nginx.default.svc.cluster.local", "SRV");
    expect(hits()).toBe(before + 1);
    dns.add(serviceObject("default", "nginx", { type: "ClusterIP", clusterIP: "198.19.0.10", ports: [{ name: "http", port: 8080 }] }));
    const r = await query(dns.address, "nginx.default.svc.cluster.local", "SRV");
    expect(hits()).toBe(before + 1);
    expect((r.answers![0] as { data: { port: number } }).data.port).toBe(8080);
  });
});
