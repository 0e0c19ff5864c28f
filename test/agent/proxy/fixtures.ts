// Builders for Services and EndpointSlices as the API serves them, and the table of
// cluster shapes the golden tests render.
import type { Endpoint, EndpointPort, EndpointSlice, Service, ServiceSpec } from "../../../src/api/types";
import { SERVICE_NAME_LABEL } from "../../../src/api/types";
import type { ProxyStateInput } from "../../../src/agent/proxy/state";

export const NODE = "node-a";
export const OTHER_NODE = "node-b";
export const NODE_IP = "198.18.0.1";

export function service(namespace: string, name: string, spec: ServiceSpec, lbIngressIPs: string[] = [], labels?: Record<string, string>): Service {
  const svc: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace, name, ...(labels ? { labels } : {}) },
    spec: { type: "ClusterIP", ...spec },
  };
  if (lbIngressIPs.length) svc.status = { loadBalancer: { ingress: lbIngressIPs.map((ip) => ({ ip })) } };
  return svc;
}

export function endpoint(ip: string, opts: { node?: string; ready?: boolean; serving?: boolean; terminating?: boolean } = {}): Endpoint {
  const ep: Endpoint = { addresses: [ip], conditions: {}, nodeName: opts.node ?? OTHER_NODE };
  if (opts.ready !== undefined) ep.conditions!.ready = opts.ready;
  if (opts.serving !== undefined) ep.conditions!.serving = opts.serving;
  if (opts.terminating !== undefined) ep.conditions!.terminating = opts.terminating;
  return ep;
}

let sliceCounter = 0;
export function slice(namespace: string, serviceName: string, ports: EndpointPort[], endpoints: Endpoint[]): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace, name: `${serviceName}-${(sliceCounter++).toString(36)}`, labels: { [SERVICE_NAME_LABEL]: serviceName } },
    addressType: "IPv4",
    endpoints,
    ports,
  };
}

const http = { name: "http", port: 80, targetPort: 8080, protocol: "TCP" as const };
const httpSlicePort = [{ name: "http", port: 8080, protocol: "TCP" as const }];

export interface GoldenCase {
  name: string;
  input: ProxyStateInput;
}

const input = (services: Service[], slices: EndpointSlice[]): ProxyStateInput => ({ services, slices, nodeName: NODE, nodeIPs: [NODE_IP] });

/** One cluster shape per behaviour the renderers must get right. */
export const GOLDEN_CASES: GoldenCase[] = [
  {
    name: "clusterip",
    input: input(
      [service("default", "web", { clusterIP: "10.96.0.10", ports: [http] })],
      [slice("default", "web", httpSlicePort, [endpoint("198.18.1.2"), endpoint("198.18.1.3"), endpoint("198.18.1.4")])],
    ),
  },
  {
    name: "nodeport",
    input: input(
      [service("default", "web", { type: "NodePort", clusterIP: "10.96.0.11", ports: [{ ...http, nodePort: 30080 }] })],
      [slice("default", "web", httpSlicePort, [endpoint("198.18.1.2")])],
    ),
  },
  {
    name: "loadbalancer",
    input: input(
      [
        service("default", "web", { type: "LoadBalancer", clusterIP: "10.96.0.12", externalIPs: ["198.19.0.20"], ports: [{ ...http, nodePort: 30081 }] }, [
          "198.19.0.10",
        ]),
      ],
      [slice("default", "web", httpSlicePort, [endpoint("198.18.1.2"), endpoint("198.18.1.3")])],
    ),
  },
  {
    name: "externalname-and-headless",
    input: input(
      [
        service("default", "ext", { type: "ExternalName", externalName: "example.com", ports: [http] }),
        service("default", "db", { clusterIP: "None", ports: [http] }),
        // kube-proxy's label selector leaves these out too.
        service("default", "other-proxy", { clusterIP: "10.96.0.22", ports: [http] }, [], { "service.kubernetes.io/service-proxy-name": "other" }),
        service("default", "labelled-headless", { clusterIP: "10.96.0.23", ports: [http] }, [], { "service.kubernetes.io/headless": "" }),
      ],
      [
        slice("default", "db", httpSlicePort, [endpoint("198.18.1.2")]),
        slice("default", "other-proxy", httpSlicePort, [endpoint("198.18.1.3")]),
        slice("default", "labelled-headless", httpSlicePort, [endpoint("198.18.1.4")]),
      ],
    ),
  },
  {
    name: "named-targetport",
    input: input(
      [service("default", "api", { clusterIP: "10.96.0.13", ports: [{ name: "web", port: 80, targetPort: "http-alt" }] })],
      // The slice carries the resolved container port under the service port's name.
      [
        slice(
          "default",
          "api",
          [
            { name: "web", port: 8081, protocol: "TCP" },
            { name: "other", port: 9999 },
          ],
          [endpoint("198.18.1.5")],
        ),
      ],
    ),
  },
  {
    name: "multiple-ports",
    input: input(
      [
        service("kube-system", "dns", {
          clusterIP: "10.96.0.53",
          ports: [
            { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
            { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
            { name: "metrics", port: 9153, protocol: "TCP" },
          ],
        }),
      ],
      [
        slice(
          "kube-system",
          "dns",
          [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, protocol: "TCP" },
            { name: "metrics", port: 9153, protocol: "TCP" },
          ],
          [endpoint("198.18.1.6"), endpoint("198.18.1.7")],
        ),
      ],
    ),
  },
  {
    name: "no-endpoints",
    input: input(
      [service("default", "empty", { type: "NodePort", clusterIP: "10.96.0.14", ports: [{ ...http, nodePort: 30082 }] })],
      [slice("default", "empty", httpSlicePort, [endpoint("198.18.1.8", { ready: false, serving: false })])],
    ),
  },
  {
    name: "terminating-fallback",
    input: input(
      [service("default", "draining", { clusterIP: "10.96.0.15", ports: [http] })],
      [
        slice("default", "draining", httpSlicePort, [
          endpoint("198.18.1.9", { ready: false, serving: true, terminating: true }),
          endpoint("198.18.1.10", { ready: false, serving: false, terminating: true }),
          endpoint("198.18.1.11", { ready: false }),
        ]),
      ],
    ),
  },
  {
    name: "external-traffic-policy-local",
    input: input(
      [
        service("default", "edge", { type: "NodePort", clusterIP: "10.96.0.16", externalTrafficPolicy: "Local", ports: [{ ...http, nodePort: 30083 }] }),
        service("default", "edge-remote", { type: "NodePort", clusterIP: "10.96.0.17", externalTrafficPolicy: "Local", ports: [{ ...http, nodePort: 30084 }] }),
      ],
      [
        slice("default", "edge", httpSlicePort, [endpoint("198.18.0.2", { node: NODE }), endpoint("198.18.1.12")]),
        slice("default", "edge-remote", httpSlicePort, [endpoint("198.18.1.13")]),
      ],
    ),
  },
  {
    name: "internal-traffic-policy-local",
    input: input(
      [
        service("default", "node-local", { clusterIP: "10.96.0.18", internalTrafficPolicy: "Local", ports: [http] }),
        service("default", "node-remote", { clusterIP: "10.96.0.19", internalTrafficPolicy: "Local", ports: [http] }),
      ],
      [
        slice("default", "node-local", httpSlicePort, [endpoint("198.18.0.3", { node: NODE }), endpoint("198.18.1.14")]),
        slice("default", "node-remote", httpSlicePort, [endpoint("198.18.1.15")]),
      ],
    ),
  },
  {
    name: "sctp",
    input: input(
      [
        service("default", "signal", {
          type: "NodePort",
          clusterIP: "10.96.0.21",
          ports: [{ name: "sctp", port: 9000, protocol: "SCTP", targetPort: 9000, nodePort: 30085 }],
        }),
      ],
      [slice("default", "signal", [{ name: "sctp", port: 9000, protocol: "SCTP" }], [endpoint("198.18.1.18"), endpoint("198.18.1.19")])],
    ),
  },
  {
    name: "session-affinity",
    input: input(
      [
        service("default", "sticky", {
          clusterIP: "10.96.0.20",
          sessionAffinity: "ClientIP",
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
          ports: [http],
        }),
      ],
      [slice("default", "sticky", httpSlicePort, [endpoint("198.18.1.16"), endpoint("198.18.1.17")])],
    ),
  },
];

/** An EndpointSlice of IPv6 addresses (the endpoints controller makes one per family). */
export const slice6 = (namespace: string, serviceName: string, ports: EndpointPort[], endpoints: Endpoint[]): EndpointSlice => ({
  ...slice(namespace, serviceName, ports, endpoints),
  addressType: "IPv6",
});

export const NODE_IP6 = "2001:db8::1";

/**
 * A dual-stack cluster, rendered once per family (one golden each): dual-stack Services with
 * one slice per family, a single-stack Service of each family, external and load-balancer
 * IPs of both families, a Local policy and ClientIP affinity.
 */
export const DUAL_STACK_INPUT: ProxyStateInput = {
  services: [
    service(
      "default",
      "web",
      {
        type: "LoadBalancer",
        clusterIP: "10.96.0.10",
        clusterIPs: ["10.96.0.10", "2001:db8:96::10"],
        ipFamilies: ["IPv4", "IPv6"],
        ipFamilyPolicy: "PreferDualStack",
        externalIPs: ["198.19.0.20", "2001:db8:19::20"],
        externalTrafficPolicy: "Local",
        ports: [{ ...http, nodePort: 30080 }],
      },
      ["198.19.0.10", "2001:db8:19::10"],
    ),
    service("default", "sticky", {
      clusterIP: "2001:db8:96::20",
      clusterIPs: ["2001:db8:96::20", "10.96.0.20"],
      ipFamilies: ["IPv6", "IPv4"],
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      ports: [http],
    }),
    service("default", "v6-only", { clusterIP: "2001:db8:96::30", clusterIPs: ["2001:db8:96::30"], ipFamilies: ["IPv6"], ports: [http] }),
    service("default", "v4-only", { clusterIP: "10.96.0.40", ports: [http] }),
  ],
  slices: [
    slice("default", "web", httpSlicePort, [endpoint("198.18.0.2", { node: NODE }), endpoint("198.18.1.2")]),
    slice6("default", "web", httpSlicePort, [endpoint("2001:db8::2", { node: NODE }), endpoint("2001:db8:1::2")]),
    slice("default", "sticky", httpSlicePort, [endpoint("198.18.1.16"), endpoint("198.18.1.17")]),
    slice6("default", "sticky", httpSlicePort, [endpoint("2001:db8:1::16"), endpoint("2001:db8:1::17")]),
    slice6("default", "v6-only", httpSlicePort, [endpoint("2001:db8:1::9"), endpoint("2001:db8:1::10")]),
    slice("default", "v4-only", httpSlicePort, [endpoint("198.18.1.40")]),
  ],
  nodeName: NODE,
  nodeIPs: [NODE_IP, NODE_IP6],
};
