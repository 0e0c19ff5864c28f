// The objects the registry benchmark writes: LoadBalancer Services (so each has a public
// host at the edge) and Pods that they select, each with a pod IP and an svcedge.io/url
// pointing at one of a few real loopback pod servers (a path per Pod keeps the URLs, and
// so the route records' endpoints, distinct).
import { POD_URL_ANNOTATION } from "../../src/api/types";

export const BENCH_NAMESPACE = "bench";

export const serviceName = (s: number): string => `svc-${String(s).padStart(4, "0")}`;
export const podName = (s: number, p: number): string => `${serviceName(s)}-${p}`;

/** The public host of a LoadBalancer Service: `<name>-<namespace>.<LB_DOMAIN>`. */
export const serviceHost = (s: number, lbDomain: string): string => `${serviceName(s)}-${BENCH_NAMESPACE}.${lbDomain}`;

export function namespaceBody() {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: BENCH_NAMESPACE } };
}

export function serviceBody(s: number) {
  const name = serviceName(s);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  };
}

/** A distinct IPv4 address per pod index, inside 10.128.0.0/9 (never dialled: the URL annotation wins at the edge). */
function podIp(n: number): string {
  return `10.${128 + ((n >> 16) & 127)}.${(n >> 8) & 255}.${n & 255}`;
}

/** `ready: false` gives the Pod a Ready=False condition; otherwise it has none and counts as ready. */
export function podBody(s: number, p: number, perService: number, podServerUrl: string, ready = true) {
  const name = podName(s, p);
  const status: Record<string, unknown> = { phase: "Running", podIP: podIp(s * perService + p) };
  if (!ready) status.conditions = [{ type: "Ready", status: "False" }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: serviceName(s) }, annotations: { [POD_URL_ANNOTATION]: `${podServerUrl}/${name}` } },
    spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8080 }] }] },
    status,
  };
}

/** The merge patch for a Pod's status subresource that sets its Ready condition. */
export function readyPatch(ready: boolean) {
  return { status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } };
}
