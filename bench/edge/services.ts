// Registers the Services the gateway lines route to, through the admin API as a user
// would: selector-less LoadBalancer Services with hand-written EndpointSlices whose
// `svcedge.io/endpoint-urls` annotation maps every endpoint address to a loopback pod URL.
// Then waits until the registry has flushed every route record to KV, and only then asks
// the gateway: a host asked for too early is cached as unknown for the route cache period.
import { ENDPOINT_URLS_ANNOTATION, SERVICE_NAME_LABEL, type Service } from "../../src/api/types";
import { waitUntil } from "../processes";
import type { AdminApi } from "./admin";
import { HttpTarget } from "../registry/http";
import { answeredByPod } from "../registry/routable";

const NAMESPACE = "default";
/** Admin API writes in flight while registering many Services (the registry serialises them). */
const REGISTER_CONCURRENCY = 32;
/** Gateway requests in flight while checking that every host is served. */
const CHECK_CONCURRENCY = 16;
const CHECK_TIMEOUT_MS = 10_000;

export interface ServiceSpec {
  name: string;
  /** One URL per endpoint. Equal URLs are one endpoint to the route compiler: make them distinct. */
  endpointUrls: string[];
}

/** Endpoint addresses only have to be unique: 10.128.0.0/9 holds 8 million of them. */
const endpointAddress = (n: number): string => `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;

/** Creates the Service and its slice; returns the Service's public hostname (from its status, as kubectl shows it). */
export async function registerService(admin: AdminApi, spec: ServiceSpec, firstAddress: number): Promise<string> {
  const svc = await admin.json<Service>("POST", `/api/v1/namespaces/${NAMESPACE}/services`, {
    metadata: { name: spec.name },
    // No NodePorts: 10,000 LoadBalancer Services would not fit the NodePort range, and the edge needs none.
    spec: { type: "LoadBalancer", allocateLoadBalancerNodePorts: false, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  });
  const host = svc.status?.loadBalancer?.ingress?.[0]?.hostname;
  if (!host) throw new Error(`Service ${spec.name} got no LoadBalancer hostname`);
  const addresses = spec.endpointUrls.map((_, i) => endpointAddress(firstAddress + i));
  await admin.json("POST", `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`, {
    metadata: {
      name: `${spec.name}-pods`,
      labels: { [SERVICE_NAME_LABEL]: spec.name },
      annotations: { [ENDPOINT_URLS_ANNOTATION]: JSON.stringify(Object.fromEntries(addresses.map((a, i) => [a, spec.endpointUrls[i]]))) },
    },
    addressType: "IPv4",
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  });
  return host;
}

/** Registers `specs` with bounded concurrency; returns their hostnames in order. */
export async function registerServices(admin: AdminApi, specs: ServiceSpec[]): Promise<string[]> {
  const hosts: string[] = new Array(specs.length);
  const firstAddress: number[] = [];
  let total = 0;
  for (const s of specs) {
    firstAddress.push(total);
    total += s.endpointUrls.length;
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(REGISTER_CONCURRENCY, specs.length) }, async () => {
      while (next < specs.length) {
        const i = next++;
        hosts[i] = await registerService(admin, specs[i]!, firstAddress[i]!);
      }
    }),
  );
  return hosts;
}

/** Resolves once the registry has no endpoints sync or KV key left: every route record is in KV. */
export async function waitForKvFlushed(admin: AdminApi, timeoutMs: number): Promise<void> {
  await waitUntil(
    "the registry to flush its routes to KV",
    timeoutMs,
    async () => {
      const m = await admin.metrics();
      return m.kvPending === 0 && m.endpointsQueued === 0 ? true : undefined;
    },
    500,
  );
}

/** Asks the gateway once for every host (this also loads each into the isolate's route cache); throws on the first that is not served by a pod. */
export async function checkHostsServed(gatewayUrl: string, hosts: string[]): Promise<void> {
  const gateway = new HttpTarget(gatewayUrl, CHECK_CONCURRENCY);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(CHECK_CONCURRENCY, hosts.length) }, async () => {
        while (next < hosts.length) {
          const host = hosts[next++]!;
          const res = await gateway.request({ path: "/", host, timeoutMs: CHECK_TIMEOUT_MS });
          if (!answeredByPod(res)) throw new Error(`the gateway answered ${res.status} for ${host}: ${res.body.trim().slice(0, 80)}`);
        }
      }),
    );
  } finally {
    gateway.close();
  }
}
