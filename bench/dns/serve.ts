// The agent's cluster DNS as a process of its own for the benchmark: N ClusterIP Services
// (svc-<i>.default, one named port each) fed to ClusterRecords as the informers would, served
// by the real query handler and sockets on 127.0.0.1:<port>. Prints "ready" once listening.
// Usage: serve.ts <services> <port>
import type { KubeObject, Service } from "../../src/api/types";
import { ClusterRecords } from "../../src/agent/dns/cluster-records";
import { QueryHandler } from "../../src/agent/dns/query-handler";
import { DnsServer } from "../../src/agent/dns/server";
import { AgentMetrics } from "../../src/agent/metrics";
import { benchServiceIP, benchServiceName, BENCH_ZONE, BENCH_TTL } from "./zone";

const [servicesText, portText] = process.argv.slice(2);
const services = Number(servicesText);
const records = new ClusterRecords(BENCH_ZONE);
const ns: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "default", resourceVersion: "1" } };
records.namespaceChanged({ type: "ADDED", key: "default", object: ns });
for (let i = 0; i < services; i++) {
  const svc: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: benchServiceName(i), namespace: "default", resourceVersion: String(i + 2) },
    spec: { type: "ClusterIP", clusterIP: benchServiceIP(i), clusterIPs: [benchServiceIP(i)], ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  };
  records.serviceChanged({ type: "ADDED", key: `default/${svc.metadata.name}`, object: svc });
}
const handler = new QueryHandler({ records, zone: { zone: BENCH_ZONE, ttl: BENCH_TTL, serverAddresses: ["127.0.0.1"] }, metrics: new AgentMetrics() });
const server = new DnsServer({ listen: { host: "127.0.0.1", port: Number(portText) }, handler });
await server.start();
process.stdout.write("ready\n");
process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
