// A synthetic cluster for the agent's scale measurements: N Services x E endpoints, as
// informer stores would hold them. ClusterIP Services, every 10th a NodePort, every 100th
// with ClientIP affinity; a third of the endpoints on this node. The addresses are rule
// contents only (10.96.0.0/12 ClusterIPs, 10.128.0.0/10 endpoints): no traffic goes to them.
import type { EndpointSlice, Service } from "../../src/api/types";
import { SERVICE_NAME_LABEL } from "../../src/api/types";

export const SCALE_NODE = "node-a";
/** The node's own address as the proxier sees it (NodePort rules); on no interface. */
export const SCALE_NODE_IP = "198.18.200.1";
export const SCALE_CLUSTER_CIDRS = ["10.128.0.0/10"];
/** NodePorts 30000..32699 (the default range ends at 32767). */
const NODE_PORTS = 2700;

export interface Cluster {
  services: Service[];
  slices: EndpointSlice[];
}

/** Endpoint address number n (0-based) of the whole cluster. */
export const endpointIP = (n: number): string => `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;

export function syntheticCluster(count: number, perService: number): Cluster {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let s = 0; s < count; s++) {
    const ns = `ns-${s % 50}`;
    const name = `svc-${s}`;
    const nodePort = s % 10 === 0 && s < NODE_PORTS * 10;
    services.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { namespace: ns, name },
      spec: {
        type: nodePort ? "NodePort" : "ClusterIP",
        clusterIP: `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`,
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", ...(nodePort ? { nodePort: 30000 + ((s / 10) % NODE_PORTS) } : {}) }],
        ...(s % 100 === 1 ? { sessionAffinity: "ClientIP" as const } : {}),
      },
    });
    const endpoints = [];
    for (let e = 0; e < perService; e++) {
      endpoints.push({ addresses: [endpointIP(s * perService + e)], conditions: { ready: true }, nodeName: e % 3 === 0 ? SCALE_NODE : "node-b" });
    }
    slices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { namespace: ns, name: `${name}-abc`, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  }
  return { services, slices };
}
