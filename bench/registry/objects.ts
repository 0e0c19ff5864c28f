// The objects the registry benchmark writes: LoadBalancer Services (so each has a public
// host at the edge) and Pods that they select, each with a pod IP and an svcedge.io/url
// pointing at one of a few real loopback pod servers (a path per Pod keeps the URLs, and
// so the route records' endpoints, distinct). Each Pod also carries kubectl's
// last-applied-configuration (about 1 KB), as Pods created with `kubectl apply` do: the
// registry's memory and storage per Pod are measured on Pods of a realistic size.
import { POD_URL_ANNOTATION } from "../../src/api/types";

export const BENCH_NAMESPACE = "bench";

export const serviceName = (s: number): string => `svc-${String(s).padStart(4, "0")}`;
export const podName = (s: number, p: number): string => `${serviceName(s)}-${p}`;

/** The public host of a LoadBalancer Service: `<name>-<namespace>.<LB_DOMAIN>`. */
export const serviceHost = (s: number, lbDomain: string): string => `${serviceName(s)}-${BENCH_NAMESPACE}.${lbDomain}`;

export function namespaceBody() {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: BENCH_NAMESPACE } };
}

/** No NodePorts: 10,000 LoadBalancer Services would not fit the NodePort range (2,768 ports). */
export function serviceBody(s: number) {
  const name = serviceName(s);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { type: "LoadBalancer", allocateLoadBalancerNodePorts: false, selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  };
}

/** kubectl apply's annotation: the manifest as last applied, JSON. */
const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
/** The image, command and env of a typical manifest: what makes a real last-applied-configuration about 1 KB. */
const CONTAINER_EXTRAS = {
  image: "registry.example.com/team/app:2026.11.27-3f9c2a1",
  command: ["/app/server", "--listen=:8080", "--metrics=:9090", "--log-format=json"],
  env: ["LOG_LEVEL=info", "CACHE_TTL=30s", "UPSTREAM=https://api.internal.example.com", "FEATURE_FLAGS=alpha,beta", "TRACE_SAMPLE=0.01"].map((kv) => ({
    name: kv.split("=")[0],
    value: kv.split("=")[1],
  })),
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
  readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5 },
  volumeMounts: [{ name: "config", mountPath: "/etc/app", readOnly: true }],
  securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
};
const MANIFEST_ANNOTATIONS = { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" };
const POD_EXTRAS = { volumes: [{ name: "config", configMap: { name: "app-config" } }], terminationGracePeriodSeconds: 30 };

function lastApplied(name: string, app: string): string {
  const manifest = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { annotations: MANIFEST_ANNOTATIONS, name, namespace: BENCH_NAMESPACE, labels: { app } },
    spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8080 }], ...CONTAINER_EXTRAS }], ...POD_EXTRAS },
  };
  return `${JSON.stringify(manifest)}\n`;
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
    metadata: {
      name,
      labels: { app: serviceName(s) },
      annotations: { [POD_URL_ANNOTATION]: `${podServerUrl}/${name}`, [LAST_APPLIED_ANNOTATION]: lastApplied(name, serviceName(s)) },
    },
    spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8080 }] }] },
    status,
  };
}

/** The merge patch for a Pod's status subresource that sets its Ready condition. */
export function readyPatch(ready: boolean) {
  return { status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } };
}
