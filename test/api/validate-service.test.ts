import { describe, expect, it } from "vitest";
import { validateCreate, validateStatusUpdate, validateUpdate } from "../../src/api/validate";
import type { StatusCause } from "../../src/api/types";
import { HTTP_PORT, service } from "./service-fixtures";

const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const BAD_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/** "field: message", the way kubectl prints each cause. */
const lines = (causes: StatusCause[]): string[] => causes.map((c) => `${c.field}: ${c.message}`);

interface Case {
  name: string;
  spec: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  want: string[];
}

const cases: Case[] = [
  {
    name: "name must be a DNS-1035 label",
    spec: { ports: [HTTP_PORT] },
    metadata: { name: "1abc" },
    want: [`metadata.name: Invalid value: "1abc": ${DNS1035}`],
  },
  {
    name: "name longer than 63 characters",
    spec: { ports: [HTTP_PORT] },
    metadata: { name: "a".repeat(64) },
    want: [`metadata.name: Invalid value: "${"a".repeat(64)}": must be no more than 63 characters`],
  },
  {
    name: "name is required",
    spec: { ports: [HTTP_PORT] },
    metadata: { name: undefined },
    want: ["metadata.name: Required value: name or generateName is required"],
  },
  {
    name: "label values are checked",
    spec: { ports: [HTTP_PORT] },
    metadata: { labels: { app: "-bad" } },
    want: [
      `metadata.labels: Invalid value: "-bad": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    ],
  },
  { name: "ports are required", spec: {}, want: ["spec.ports: Required value"] },
  {
    name: "port names are required with more than one port",
    spec: { ports: [{ port: 80 }, { name: "b", port: 81 }] },
    want: ["spec.ports[0].name: Required value"],
  },
  {
    name: "port names must be unique",
    spec: {
      ports: [
        { name: "a", port: 80 },
        { name: "a", port: 81 },
      ],
    },
    want: ['spec.ports[1].name: Duplicate value: "a"'],
  },
  {
    name: "port names are DNS-1123 labels",
    spec: { ports: [{ name: "Web", port: 80 }] },
    want: [`spec.ports[0].name: Invalid value: "Web": ${DNS1123_LABEL}`],
  },
  {
    name: "port range",
    spec: { ports: [{ port: 70000 }] },
    // targetPort was defaulted to the same bad number, and Kubernetes reports it too.
    want: [
      "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
      "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ],
  },
  {
    name: "protocol values",
    spec: { ports: [{ port: 80, protocol: "HTTP" }] },
    want: ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
  },
  {
    name: "(protocol, port) pairs are unique",
    spec: {
      ports: [
        { name: "a", port: 80 },
        { name: "b", port: 80 },
      ],
    },
    want: [
      'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    ],
  },
  {
    name: "the same port on two protocols is fine",
    spec: {
      ports: [
        { name: "a", port: 53, protocol: "UDP" },
        { name: "b", port: 53, protocol: "TCP" },
      ],
    },
    want: [],
  },
  {
    name: "nodePort is forbidden on ClusterIP",
    spec: { ports: [{ port: 80, nodePort: 30080 }] },
    want: ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
  },
  {
    name: "duplicate (protocol, nodePort)",
    spec: {
      type: "NodePort",
      ports: [
        { name: "a", port: 80, nodePort: 30080 },
        { name: "b", port: 81, nodePort: 30080 },
      ],
    },
    want: ["spec.ports[1].nodePort: Duplicate value: 30080"],
  },
  {
    name: "targetPort number range",
    spec: { ports: [{ port: 80, targetPort: 0x10000 }] },
    want: ["spec.ports[0].targetPort: Invalid value: 65536: must be between 1 and 65535, inclusive"],
  },
  {
    name: "targetPort names are IANA_SVC_NAMEs",
    spec: { ports: [{ port: 80, targetPort: "http--web-port-x" }] },
    want: [
      'spec.ports[0].targetPort: Invalid value: "http--web-port-x": must be no more than 15 characters',
      'spec.ports[0].targetPort: Invalid value: "http--web-port-x": must not contain consecutive hyphens',
    ],
  },
  {
    name: "targetPort names need a letter",
    spec: { ports: [{ port: 80, targetPort: "8080-" }] },
    want: [
      'spec.ports[0].targetPort: Invalid value: "8080-": must contain at least one letter (a-z)',
      'spec.ports[0].targetPort: Invalid value: "8080-": must not begin or end with a hyphen',
    ],
  },
  {
    name: "appProtocol is a qualified name",
    spec: { ports: [{ port: 80, appProtocol: "kubernetes.io/h2c/x" }] },
    want: [
      `spec.ports[0].appProtocol: Invalid value: "kubernetes.io/h2c/x": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
  },
  { name: "a valid appProtocol", spec: { ports: [{ port: 80, appProtocol: "kubernetes.io/h2c" }] }, want: [] },
  {
    name: "clusterIP must be an IP",
    spec: { clusterIP: "10.0.0.300", ports: [HTTP_PORT] },
    want: [`spec.clusterIPs[0]: Invalid value: "10.0.0.300": ${BAD_IP}`],
  },
  {
    name: "IPs with leading zeros or IPv4-mapped IPv6 are ambiguous (strict IP validation)",
    spec: { externalIPs: ["010.0.0.1", "::ffff:198.18.0.1"], ports: [HTTP_PORT] },
    want: [
      'spec.externalIPs[0]: Invalid value: "010.0.0.1": must not have leading 0s',
      'spec.externalIPs[1]: Invalid value: "::ffff:198.18.0.1": must not be an IPv4-mapped IPv6 address',
    ],
  },
  {
    name: "source ranges must be subnets",
    spec: { type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.1/8", "10.0.0.0/08", "2001:db8::/32"], ports: [HTTP_PORT] },
    want: [
      'spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length',
      'spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.0/08": must not have leading 0s in IP or prefix length',
    ],
  },
  { name: "empty clusterIP means allocate", spec: { clusterIP: "", ports: [HTTP_PORT] }, want: [] },
  {
    name: "clusterIPs[0] must equal clusterIP",
    spec: { clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.11"], ports: [HTTP_PORT] },
    want: ['spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: first value must match `clusterIP`'],
  },
  {
    name: "clusterIPs without clusterIP",
    spec: { clusterIPs: ["10.96.0.11"], ports: [HTTP_PORT] },
    want: ['spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: must be empty when `clusterIP` is not specified'],
  },
  {
    name: "one clusterIP per family",
    spec: { clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10", "10.96.0.11"], ipFamilyPolicy: "PreferDualStack", ports: [HTTP_PORT] },
    want: ['spec.clusterIPs: Invalid value: []string{"10.96.0.10", "10.96.0.11"}: may specify no more than one IP for each IP family'],
  },
  {
    name: "ipFamilies must match the clusterIP",
    spec: { clusterIP: "10.96.0.10", ipFamilies: ["IPv6"], ports: [HTTP_PORT] },
    want: ['spec.clusterIPs[0]: Invalid value: "10.96.0.10": expected an IPv6 value as indicated by `ipFamilies[0]`'],
  },
  {
    name: "type values",
    spec: { type: "Public", ports: [HTTP_PORT] },
    want: ['spec.type: Unsupported value: "Public": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
  },
  {
    name: "sessionAffinity values",
    spec: { sessionAffinity: "Cookie", ports: [HTTP_PORT] },
    want: ['spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"'],
  },
  {
    name: "ClientIP timeout must be at most a day",
    spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } }, ports: [HTTP_PORT] },
    want: ["spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400"],
  },
  {
    name: "ClientIP timeout must be positive",
    spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: -1 } }, ports: [HTTP_PORT] },
    want: ["spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: -1: must be greater than 0 and less than 86400"],
  },
  {
    name: "ClientIP timeout of exactly a day",
    spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 86400 } }, ports: [HTTP_PORT] },
    want: [],
  },
  {
    name: "externalTrafficPolicy only for external types",
    spec: { externalTrafficPolicy: "Local", ports: [HTTP_PORT] },
    want: ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'],
  },
  {
    name: "externalTrafficPolicy values",
    spec: { type: "NodePort", externalTrafficPolicy: "Nearest", ports: [HTTP_PORT] },
    want: ['spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"'],
  },
  {
    name: "internalTrafficPolicy values",
    spec: { internalTrafficPolicy: "Node", ports: [HTTP_PORT] },
    want: ['spec.internalTrafficPolicy: Unsupported value: "Node": supported values: "Cluster", "Local"'],
  },
  {
    name: "healthCheckNodePort only with LoadBalancer + Local",
    spec: { type: "NodePort", healthCheckNodePort: 31000, ports: [HTTP_PORT] },
    want: ["spec.healthCheckNodePort: Invalid value: 31000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"],
  },
  {
    name: "healthCheckNodePort range",
    spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 70000, ports: [HTTP_PORT] },
    want: ["spec.healthCheckNodePort: Invalid value: 70000: must be between 1 and 65535, inclusive"],
  },
  {
    name: "a missing healthCheckNodePort is left to the allocator",
    spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [HTTP_PORT] },
    want: [],
  },
  {
    name: "loadBalancerSourceRanges only for LoadBalancer",
    spec: { loadBalancerSourceRanges: ["10.0.0.0/8"], ports: [HTTP_PORT] },
    want: ["spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"],
  },
  {
    name: "loadBalancerSourceRanges are CIDRs (spaces trimmed)",
    spec: { type: "LoadBalancer", loadBalancerSourceRanges: [" 10.0.0.0/8 ", "10.0.0.1"], ports: [HTTP_PORT] },
    want: ['spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.1": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
  },
  {
    name: "the source-ranges annotation is checked too",
    spec: { ports: [HTTP_PORT] },
    metadata: { annotations: { "service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8,bad" } },
    want: [
      "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Forbidden: may only be used when `type` is 'LoadBalancer'",
      'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: "bad": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ],
  },
  {
    name: "externalIPs must be valid",
    spec: { externalIPs: ["1.2.3"], ports: [HTTP_PORT] },
    want: [`spec.externalIPs[0]: Invalid value: "1.2.3": ${BAD_IP}`],
  },
  {
    name: "externalIPs may not be loopback, link-local or unspecified",
    spec: { externalIPs: ["127.0.0.1", "169.254.1.1", "0.0.0.0", "::1"], ports: [HTTP_PORT] },
    want: [
      'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
      'spec.externalIPs[1]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
      'spec.externalIPs[2]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
      'spec.externalIPs[3]: Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ],
  },
  { name: "a public externalIP", spec: { externalIPs: ["198.18.0.10"], ports: [HTTP_PORT] }, want: [] },
  {
    name: "allocateLoadBalancerNodePorts only for LoadBalancer",
    spec: { type: "NodePort", allocateLoadBalancerNodePorts: false, ports: [HTTP_PORT] },
    want: ["spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"],
  },
  {
    name: "loadBalancerClass only for LoadBalancer",
    spec: { loadBalancerClass: "svcedge.io/edge", ports: [HTTP_PORT] },
    want: ["spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"],
  },
  {
    name: "trafficDistribution values",
    spec: { trafficDistribution: "Anywhere", ports: [HTTP_PORT] },
    want: ['spec.trafficDistribution: Unsupported value: "Anywhere": supported values: "PreferClose"'],
  },
  {
    name: "selector keys are qualified names",
    spec: { selector: { "a/b/c": "x" }, ports: [HTTP_PORT] },
    want: [
      `spec.selector: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
  },
];

describe("Service validation (create)", () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(lines(validateCreate(service(c.spec, c.metadata)))).toEqual(c.want);
    });
  }

  it("sessionAffinityConfig with affinity None is cleared by defaulting, and forbidden if it reaches validation", () => {
    const svc = service({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [HTTP_PORT] });
    expect(svc.spec.sessionAffinityConfig).toBeUndefined();
    svc.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
    expect(lines(validateCreate(svc))).toEqual(["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"]);
  });

  it("reports every problem at once, in Kubernetes' order", () => {
    const svc = service({ type: "NodePort", ports: [{ port: 0, protocol: "tcp" }, { port: 80 }] }, { name: "Web" });
    expect(lines(validateCreate(svc))).toEqual([
      `metadata.name: Invalid value: "Web": ${DNS1035}`,
      "spec.ports[0].name: Required value",
      "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
      'spec.ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
      "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
      "spec.ports[1].name: Required value",
    ]);
  });
});

describe("ExternalName Services", () => {
  it("needs an externalName", () => {
    expect(lines(validateCreate(service({ type: "ExternalName" })))).toEqual(["spec.externalName: Required value"]);
  });
  it("accepts a DNS-1123 subdomain with a trailing dot and no ports", () => {
    const svc = service({ type: "ExternalName", externalName: "db.example.net." });
    expect(validateCreate(svc)).toEqual([]);
    expect(svc.spec.internalTrafficPolicy).toBeUndefined();
    expect(svc.spec.ipFamilies).toBeUndefined();
    expect(svc.spec.ipFamilyPolicy).toBeUndefined();
  });
  it("rejects a name that is not a DNS-1123 subdomain", () => {
    expect(lines(validateCreate(service({ type: "ExternalName", externalName: "DB_host.example" })))).toEqual([
      `spec.externalName: Invalid value: "DB_host.example": ${DNS1123_SUBDOMAIN}`,
    ]);
  });
  it("may not have a clusterIP, ipFamilies or ipFamilyPolicy", () => {
    const svc = service({
      type: "ExternalName",
      externalName: "db.example.net",
      clusterIP: "10.96.0.5",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
    });
    expect(lines(validateCreate(svc))).toEqual([
      "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
      "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
      "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services",
    ]);
  });
  it("may not carry nodePorts", () => {
    const svc = service({ type: "ExternalName", externalName: "db.example.net", ports: [{ port: 80, nodePort: 30001 }] });
    expect(validateCreate(svc)).toEqual([]); // Kubernetes only forbids nodePort for ClusterIP.
  });
});

describe("headless Services", () => {
  it("need no ports", () => {
    expect(validateCreate(service({ clusterIP: "None", selector: { app: "db" } }))).toEqual([]);
  });
  it("default to SingleStack with a selector and RequireDualStack without one", () => {
    expect(service({ clusterIP: "None", selector: { app: "db" } }).spec).toMatchObject({
      clusterIPs: ["None"],
      ipFamilyPolicy: "SingleStack",
      ipFamilies: ["IPv4"],
    });
    expect(service({ clusterIP: "None" }).spec).toMatchObject({ ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"] });
  });
  it("may not be NodePort or LoadBalancer", () => {
    expect(lines(validateCreate(service({ type: "NodePort", clusterIP: "None", ports: [HTTP_PORT] })))).toEqual([
      `spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`,
    ]);
    expect(lines(validateCreate(service({ type: "LoadBalancer", clusterIP: "None", ports: [HTTP_PORT] })))).toEqual([
      `spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for LoadBalancer services`,
    ]);
  });
  it("'None' must be the only clusterIP", () => {
    const svc = service({ clusterIP: "None", clusterIPs: ["None", "10.96.0.1"], ipFamilyPolicy: "PreferDualStack", ports: [HTTP_PORT] });
    expect(lines(validateCreate(svc))).toEqual(['spec.clusterIPs: Invalid value: []string{"None", "10.96.0.1"}: \'None\' must be the first and only value']);
  });
});

describe("Service defaults", () => {
  it("NodePort gets externalTrafficPolicy Cluster; LoadBalancer also allocateLoadBalancerNodePorts", () => {
    expect(service({ type: "NodePort", ports: [HTTP_PORT] }).spec).toMatchObject({ externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster" });
    const lb = service({ type: "LoadBalancer", ports: [HTTP_PORT] }).spec;
    expect(lb).toMatchObject({ externalTrafficPolicy: "Cluster", allocateLoadBalancerNodePorts: true });
    expect(service({ ports: [HTTP_PORT] }).spec.externalTrafficPolicy).toBeUndefined();
    expect(service({ ports: [HTTP_PORT] }).spec.allocateLoadBalancerNodePorts).toBeUndefined();
  });
  it("ClientIP affinity gets a 10800 s timeout; targetPort defaults to port; protocol to TCP", () => {
    const spec = service({ sessionAffinity: "ClientIP", ports: [{ port: 8080 }] }).spec;
    expect(spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
    expect(spec.ports).toEqual([{ port: 8080, protocol: "TCP", targetPort: 8080 }]);
  });
  it("a ClusterIP with externalIPs is externally reachable and gets externalTrafficPolicy", () => {
    expect(service({ externalIPs: ["198.18.0.1"], ports: [HTTP_PORT] }).spec.externalTrafficPolicy).toBe("Cluster");
  });
  it("a singular clusterIP fills clusterIPs and ipFamilies", () => {
    expect(service({ clusterIP: "10.96.0.10", ports: [HTTP_PORT] }).spec).toMatchObject({ clusterIPs: ["10.96.0.10"], ipFamilies: ["IPv4"] });
  });
});

describe("Service update", () => {
  const stored = service({ clusterIP: "10.96.0.10", type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] }, { uid: "u-1" });

  it("an update that omits allocated values keeps them", () => {
    const next = service({ type: "NodePort", ports: [{ name: "http", port: 80 }] }, { uid: "u-1" }, stored);
    expect(next.spec.clusterIP).toBe("10.96.0.10");
    expect(next.spec.clusterIPs).toEqual(["10.96.0.10"]);
    expect(next.spec.ports![0]!.nodePort).toBe(30080);
    expect(validateUpdate(next, stored)).toEqual([]);
  });
  it("clusterIP is immutable", () => {
    const next = service({ clusterIP: "10.96.0.11", type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] }, { uid: "u-1" }, stored);
    expect(lines(validateUpdate(next, stored))).toEqual(['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']);
  });
  it("name, namespace and uid are immutable", () => {
    const next = service({ type: "NodePort", ports: [HTTP_PORT] }, { name: "other", namespace: "prod", uid: "u-2" }, stored);
    expect(lines(validateUpdate(next, stored))).toEqual([
      'metadata.name: Invalid value: "other": field is immutable',
      'metadata.namespace: Invalid value: "prod": field is immutable',
      'metadata.uid: Invalid value: "u-2": field is immutable',
    ]);
  });
  it("changing to ExternalName drops the clusterIP, and back again allocates a new one", () => {
    const ext = service({ type: "ExternalName", externalName: "db.example.net", ports: [HTTP_PORT] }, { uid: "u-1" }, stored);
    expect(ext.spec.clusterIP).toBeUndefined();
    expect(ext.spec.clusterIPs).toBeUndefined();
    expect(ext.spec.ports![0]!.nodePort).toBeUndefined();
    expect(validateUpdate(ext, stored)).toEqual([]);
    const back = service({ ports: [HTTP_PORT] }, { uid: "u-1" }, ext);
    expect(validateUpdate(back, ext)).toEqual([]);
  });
  it("loadBalancerClass may not change", () => {
    const lb = service({ type: "LoadBalancer", loadBalancerClass: "svcedge.io/a", ports: [HTTP_PORT] }, { uid: "u-1" });
    const next = service({ type: "LoadBalancer", loadBalancerClass: "svcedge.io/b", ports: [HTTP_PORT] }, { uid: "u-1" }, lb);
    expect(lines(validateUpdate(next, lb))).toEqual(['spec.loadBalancerClass: Invalid value: "svcedge.io/b": may not change once set']);
  });
  it("healthCheckNodePort is immutable while it is needed", () => {
    const lb = service({ type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 32000, ports: [HTTP_PORT] }, { uid: "u-1" });
    const next = service({ type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 32001, ports: [HTTP_PORT] }, { uid: "u-1" }, lb);
    expect(lines(validateUpdate(next, lb))).toEqual(["spec.healthCheckNodePort: Forbidden: field is immutable"]);
  });
});

describe("Service status", () => {
  const lb = service({ type: "LoadBalancer", ports: [HTTP_PORT] }, { uid: "u-1" });
  it("accepts hostnames and IPs with ipMode", () => {
    const next = structuredClone(lb);
    next.status = { loadBalancer: { ingress: [{ hostname: "web.lb.example.net" }, { ip: "198.18.0.1", ipMode: "VIP" }] } };
    expect(validateStatusUpdate(next, lb)).toEqual([]);
  });
  it("rejects bad ingress points", () => {
    const next = structuredClone(lb);
    next.status = { loadBalancer: { ingress: [{ hostname: "198.18.0.1" }, { ip: "nope", ipMode: "VIP" }, { ip: "198.18.0.2" }] } };
    expect(lines(validateStatusUpdate(next, lb))).toEqual([
      'status.loadBalancer.ingress[0].hostname: Invalid value: "198.18.0.1": must be a DNS name, not an IP address',
      `status.loadBalancer.ingress[1].ip: Invalid value: "nope": ${BAD_IP}`,
      "status.loadBalancer.ingress[2].ipMode: Required value: must be specified when `ip` is set",
    ]);
  });
  it("only LoadBalancer Services have ingress points", () => {
    const cip = service({ ports: [HTTP_PORT] }, { uid: "u-1" });
    const next = structuredClone(cip);
    next.status = { loadBalancer: { ingress: [{ hostname: "x.example.net" }] } };
    expect(lines(validateStatusUpdate(next, cip))).toEqual(["status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"]);
  });
});
