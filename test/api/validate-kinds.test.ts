// Pod, EndpointSlice, Node and Namespace: defaults and validation.
import { describe, expect, it } from "vitest";
import { setDefaults } from "../../src/api/defaults";
import type { EndpointSlice, Namespace, Node, Pod, StatusCause } from "../../src/api/types";
import { validateCreate, validateStatusUpdate, validateUpdate } from "../../src/api/validate";
import { decoded } from "./service-fixtures";

const lines = (causes: StatusCause[]): string[] => causes.map((c) => `${c.field}: ${c.message}`);

function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}, status?: Record<string, unknown>): Pod {
  const p = decoded("Pod", { metadata: { name: "web-1", namespace: "default", ...metadata }, spec, ...(status ? { status } : {}) }) as Pod;
  setDefaults(p);
  return p;
}

const CONTAINER = { name: "web", ports: [{ name: "http", containerPort: 8080 }] };

describe("Pod", () => {
  it("defaults container port protocol and readiness probe fields", () => {
    const p = pod({ containers: [{ ...CONTAINER, readinessProbe: { httpGet: { port: "http" } } }] });
    expect(p.spec.containers[0]).toEqual({
      name: "web",
      ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
      readinessProbe: { httpGet: { port: "http", path: "/", scheme: "HTTP" }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    });
    expect(validateCreate(p)).toEqual([]);
  });

  it("requires containers and container names", () => {
    expect(lines(validateCreate(pod({ containers: [] })))).toEqual(["spec.containers: Required value"]);
    expect(lines(validateCreate(pod({ containers: [{ ports: [] }] })))).toEqual(["spec.containers[0].name: Required value"]);
  });

  it("container names are unique", () => {
    expect(lines(validateCreate(pod({ containers: [{ name: "a" }, { name: "a" }] })))).toEqual(['spec.containers[1].name: Duplicate value: "a"']);
  });

  it("container port names are IANA_SVC_NAMEs and unique; ports in range", () => {
    const p = pod({
      containers: [
        { name: "web", ports: [{ name: "HTTP", containerPort: 80 }, { name: "a", containerPort: 70000 }, { name: "a", containerPort: 81, hostPort: -1 }, {}] },
      ],
    });
    expect(lines(validateCreate(p))).toEqual([
      'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)',
      "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
      'spec.containers[0].ports[2].name: Duplicate value: "a"',
      "spec.containers[0].ports[2].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive",
      "spec.containers[0].ports[3].containerPort: Required value",
    ]);
  });

  it("a probe needs exactly one handler and non-negative numbers", () => {
    const none = pod({ containers: [{ name: "web", readinessProbe: { initialDelaySeconds: -5 } }] });
    expect(lines(validateCreate(none))).toEqual([
      "spec.containers[0].readinessProbe: Required value: must specify a handler type",
      "spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -5: must be greater than or equal to 0",
    ]);
    const two = pod({ containers: [{ name: "web", readinessProbe: { httpGet: { port: 80 }, tcpSocket: { port: 80 }, periodSeconds: -1 } }] });
    expect(lines(validateCreate(two))).toEqual([
      "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
      "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
    ]);
    const grpc = pod({ containers: [{ name: "web", readinessProbe: { grpc: { port: 70000 } } }] });
    expect(lines(validateCreate(grpc))).toEqual(["spec.containers[0].readinessProbe.grpc.port: Invalid value: 70000: must be between 1 and 65535, inclusive"]);
    const httpAndGrpc = pod({ containers: [{ name: "web", readinessProbe: { httpGet: { path: "/", port: 80 }, grpc: { port: 9090 } } }] });
    expect(lines(validateCreate(httpAndGrpc))).toEqual(["spec.containers[0].readinessProbe.grpc: Forbidden: may not specify more than 1 handler type"]);
    const scheme = pod({ containers: [{ name: "web", readinessProbe: { httpGet: { port: 80, scheme: "GOPHER" } } }] });
    expect(lines(validateCreate(scheme))).toEqual([
      'spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "GOPHER": supported values: "HTTP", "HTTPS"',
    ]);
  });

  it("podIP must be an IP; podIP fills podIPs", () => {
    const good = pod({ containers: [CONTAINER] }, {}, { podIP: "198.18.0.5" });
    expect(good.status?.podIPs).toEqual([{ ip: "198.18.0.5" }]);
    expect(validateCreate(good)).toEqual([]);
    const bad = pod({ containers: [CONTAINER] }, {}, { podIP: "198.18.0" });
    expect(lines(validateCreate(bad))).toEqual(['status.podIPs[0]: Invalid value: "198.18.0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']);
  });

  it("the svcedge.io/url annotation must be an http(s) URL", () => {
    expect(validateCreate(pod({ containers: [CONTAINER] }, { annotations: { "svcedge.io/url": "https://web-1.example.net:8443/base" } }))).toEqual([]);
    expect(lines(validateCreate(pod({ containers: [CONTAINER] }, { annotations: { "svcedge.io/url": "ftp://x" } })))).toEqual([
      'metadata.annotations[svcedge.io/url]: Invalid value: "ftp://x": must be an absolute http or https URL',
    ]);
  });

  it("pod names are DNS-1123 subdomains", () => {
    expect(validateCreate(pod({ containers: [CONTAINER] }, { name: "web-1.zone-a" }))).toEqual([]);
    expect(lines(validateCreate(pod({ containers: [CONTAINER] }, { name: "Web" })))[0]).toMatch(
      /^metadata\.name: Invalid value: "Web": a lowercase RFC 1123 subdomain/,
    );
  });

  it("only container images may change on update", () => {
    const old = pod({ containers: [{ ...CONTAINER, image: "web:1" }] }, { uid: "u" });
    expect(validateUpdate(pod({ containers: [{ ...CONTAINER, image: "web:2" }] }, { uid: "u" }), old)).toEqual([]);
    const moved = pod({ nodeName: "node-b", containers: [{ ...CONTAINER, image: "web:1" }] }, { uid: "u" });
    expect(lines(validateUpdate(moved, old))).toEqual([
      "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]);
  });

  it("status updates check condition types and IPs", () => {
    const old = pod({ containers: [CONTAINER] }, { uid: "u" });
    const next = pod(
      { containers: [CONTAINER] },
      { uid: "u" },
      {
        podIP: "198.18.0.7",
        conditions: [
          { type: "Ready", status: "True" },
          { type: "bad type", status: "True" },
        ],
      },
    );
    expect(lines(validateStatusUpdate(next, old))).toEqual([
      `status.conditions[1].Type: Invalid value: "bad type": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ]);
  });
});

function slice(body: Record<string, unknown>, metadata: Record<string, unknown> = {}): EndpointSlice {
  const s = decoded("EndpointSlice", {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-abc", namespace: "default", ...metadata },
    ...body,
  }) as EndpointSlice;
  setDefaults(s);
  return s;
}

describe("EndpointSlice", () => {
  it("defaults port protocol and name like Kubernetes", () => {
    const s = slice({ addressType: "IPv4", endpoints: [{ addresses: ["198.18.0.5"] }], ports: [{ port: 8080 }] });
    expect(s.ports).toEqual([{ port: 8080, name: "", protocol: "TCP" }]);
    expect(validateCreate(s)).toEqual([]);
  });

  it("addressType is required and must be known", () => {
    expect(lines(validateCreate(slice({ endpoints: [] })))).toEqual(["addressType: Required value"]);
    expect(lines(validateCreate(slice({ addressType: "IPX", endpoints: [] })))).toEqual([
      'addressType: Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6"',
    ]);
  });

  it("addresses must match the type", () => {
    const s = slice({ addressType: "IPv4", endpoints: [{ addresses: ["fd00::1", "127.0.0.1"] }, { addresses: [] }] });
    expect(lines(validateCreate(s))).toEqual([
      'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
      'endpoints[0].addresses[1]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
      "endpoints[1].addresses: Required value: must contain at least 1 address",
    ]);
    const fqdn = slice({ addressType: "FQDN", endpoints: [{ addresses: ["db.example.net", "localhost"] }] });
    expect(lines(validateCreate(fqdn))).toEqual([
      'endpoints[0].addresses[1]: Invalid value: "localhost": should be a domain with at least two segments separated by dots',
    ]);
  });

  it("at most 1000 endpoints", () => {
    const endpoints = Array.from({ length: 1001 }, (_, i) => ({ addresses: [`198.18.${i >> 8}.${i & 255}`] }));
    expect(lines(validateCreate(slice({ addressType: "IPv4", endpoints })))).toEqual(["endpoints: Too many: 1001: must have at most 1000 items"]);
  });

  it("port names are DNS-1123 labels and unique; protocols known", () => {
    const s = slice({
      addressType: "IPv4",
      endpoints: [],
      ports: [
        { name: "HTTP", port: 80 },
        { name: "b", port: 81, protocol: "ICMP" },
        { name: "b", port: 82 },
      ],
    });
    expect(lines(validateCreate(s))).toEqual([
      `ports[0].name: Invalid value: "HTTP": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      'ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'ports[2].name: Duplicate value: "b"',
    ]);
  });

  it("addressType is immutable", () => {
    const old = slice({ addressType: "IPv4", endpoints: [] }, { uid: "u" });
    expect(lines(validateUpdate(slice({ addressType: "IPv6", endpoints: [] }, { uid: "u" }), old))).toEqual([
      'addressType: Invalid value: "IPv6": field is immutable',
    ]);
  });
});

describe("Node and Namespace", () => {
  it("nodes are cluster-scoped with DNS-1123 subdomain names and typed addresses", () => {
    const n = decoded("Node", {
      metadata: { name: "node-a.lab", namespace: "default" },
      status: {
        addresses: [
          { type: "InternalIP", address: "198.18.0.1" },
          { type: "PublicIP", address: "x" },
          { type: "InternalIP", address: "1.2" },
        ],
      },
    }) as Node;
    expect(lines(validateCreate(n))).toEqual([
      "metadata.namespace: Forbidden: not allowed on this type",
      'status.addresses[1].type: Unsupported value: "PublicIP": supported values: "ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"',
      'status.addresses[2].address: Invalid value: "1.2": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ]);
  });

  it("namespaces are DNS-1123 labels, labelled with their name and Active", () => {
    const ns = decoded("Namespace", { metadata: { name: "team-a" } }) as Namespace;
    setDefaults(ns);
    expect(ns.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "team-a" });
    expect(ns.status).toEqual({ phase: "Active" });
    expect(validateCreate(ns)).toEqual([]);
    const dotted = decoded("Namespace", { metadata: { name: "team.a" } }) as Namespace;
    expect(lines(validateCreate(dotted))).toEqual(['metadata.name: Invalid value: "team.a": must not contain dots']);
  });
});
