// A small DNS client for the tests (dns-packet over real UDP or TCP sockets), and an
// in-process cluster DNS server on loopback built from the real parts: ClusterRecords fed
// with Service/EndpointSlice/Namespace changes, the query handler, the forwarder, the sockets.
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import type { Answer, DecodedPacket } from "dns-packet";
import type { EndpointSlice, KubeObject, Service } from "../../../src/api/types";
import { ClusterRecords } from "../../../src/agent/dns/cluster-records";
import { Forwarder } from "../../../src/agent/dns/forwarder";
import { QueryHandler } from "../../../src/agent/dns/query-handler";
import type { HostPort } from "../../../src/agent/dns/resolv-conf";
import { DnsServer } from "../../../src/agent/dns/server";
import { exchangeTcp } from "../../../src/agent/dns/tcp-exchange";
import { AgentMetrics } from "../../../src/agent/metrics";

const REPLY_TIMEOUT_MS = 3_000;

export interface QueryOptions {
  tcp?: boolean;
  /** EDNS0 UDP payload size to advertise; none when undefined. */
  edns?: number;
  ednsVersion?: number;
  id?: number;
}

export function queryPacket(name: string, type: string, opts: QueryOptions = {}): Buffer {
  const additionals =
    opts.edns === undefined
      ? []
      : [
          {
            name: ".",
            type: "OPT",
            udpPayloadSize: opts.edns,
            extendedRcode: 0,
            ednsVersion: opts.ednsVersion ?? 0,
            flags: 0,
            options: [],
          } as unknown as Answer,
        ];
  return dnsPacket.encode({ type: "query", id: opts.id ?? 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as never }], additionals });
}

/** Sends raw bytes over UDP; resolves with the raw reply, or undefined after the timeout. */
export function sendUdp(server: HostPort, msg: Buffer, timeoutMs = REPLY_TIMEOUT_MS): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(server.host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, timeoutMs);
    sock.once("message", (reply) => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    });
    sock.send(msg, server.port, server.host);
  });
}

export const sendTcp = (server: HostPort, msg: Buffer, timeoutMs = REPLY_TIMEOUT_MS): Promise<Buffer | undefined> => exchangeTcp(server, msg, timeoutMs);

export type Reply = DecodedPacket & { rcode: string };
export const decodeReply = (buf: Buffer): Reply => dnsPacket.decode(buf) as Reply;

export async function query(server: HostPort, name: string, type: string, opts: QueryOptions = {}): Promise<Reply> {
  const msg = queryPacket(name, type, opts);
  const reply = opts.tcp ? await sendTcp(server, msg) : await sendUdp(server, msg);
  if (!reply) throw new Error(`no reply to ${name} ${type}`);
  return decodeReply(reply);
}

/** Records as "name ttl type data" lines, sorted, for comparing with a table. */
export function rrLines(records: Answer[] | undefined): string[] {
  return (records ?? [])
    .filter((r) => r.type !== "OPT")
    .map((r) => {
      const data = (r as { data: unknown }).data;
      let text: string;
      if (r.type === "SRV") {
        const d = data as { priority: number; weight: number; port: number; target: string };
        text = `${d.priority} ${d.weight} ${d.port} ${d.target}`;
      } else if (r.type === "SOA") {
        const d = data as { mname: string; rname: string; minimum: number };
        text = `${d.mname} ${d.rname} min=${d.minimum}`;
      } else if (r.type === "TXT") text = (data as Buffer[]).map((b) => b.toString()).join(" ");
      else text = String(data);
      return `${r.name} ${(r as { ttl?: number }).ttl} ${r.type} ${text}`;
    })
    .sort();
}

let rv = 0;
const meta = (namespace: string | undefined, name: string, labels?: Record<string, string>) => ({
  name,
  ...(namespace ? { namespace } : {}),
  resourceVersion: String(++rv),
  ...(labels ? { labels } : {}),
});

export const namespaceObject = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: meta(undefined, name) });
export const serviceObject = (namespace: string, name: string, spec: Service["spec"]): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: meta(namespace, name),
  spec,
});
export const sliceObject = (
  namespace: string,
  service: string,
  name: string,
  body: Pick<EndpointSlice, "addressType" | "endpoints" | "ports">,
): EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: meta(namespace, name, { "kubernetes.io/service-name": service }),
  ...body,
});

export interface TestDns {
  address: HostPort;
  records: ClusterRecords;
  metrics: AgentMetrics;
  handler: QueryHandler;
  forwarder: Forwarder;
  add(obj: KubeObject): void;
  remove(obj: KubeObject): void;
  stop(): Promise<void>;
}

export async function startTestDns(
  opts: { zone?: string; ttl?: number; port?: number; upstreams?: HostPort[]; maxInFlight?: number; forwardTimeoutMs?: number } = {},
): Promise<TestDns> {
  const zone = opts.zone ?? "cluster.local";
  const records = new ClusterRecords(zone);
  const metrics = new AgentMetrics();
  const forwarder = new Forwarder({
    upstreams: opts.upstreams ?? [],
    timeoutMs: opts.forwardTimeoutMs ?? 1_000,
    onCache: (hit) => (hit ? metrics.dnsCacheHits : metrics.dnsCacheMisses).inc({ cache: "forward" }),
    onExchange: (seconds) => metrics.dnsForwardDuration.observe(seconds),
  });
  const handler = new QueryHandler({
    records,
    zone: { zone, ttl: opts.ttl ?? 5, serverAddresses: ["127.0.0.1"] },
    forwarder,
    metrics,
    ...(opts.maxInFlight ? { maxInFlight: opts.maxInFlight } : {}),
  });
  const server = new DnsServer({ listen: { host: "127.0.0.1", port: opts.port ?? 0 }, handler });
  await server.start();
  const apply = (type: "ADDED" | "DELETED", obj: KubeObject) => {
    const change = { type, key: `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`, object: obj };
    if (obj.kind === "Namespace") records.namespaceChanged(change);
    else if (obj.kind === "Service") records.serviceChanged(change as never);
    else records.sliceChanged(change as never);
  };
  return {
    address: server.address,
    records,
    metrics,
    handler,
    forwarder,
    add: (o) => apply("ADDED", o),
    remove: (o) => apply("DELETED", o),
    stop: async () => {
      await server.stop();
      forwarder.close();
    },
  };
}

/** A UDP port free on loopback now (for servers that must know each other's port before they start). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}
