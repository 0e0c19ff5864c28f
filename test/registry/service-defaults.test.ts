// Upstream's Service defaulting tests (kubernetes/kubernetes pkg/apis/core/v1/defaults_test.go:
// TestSetDefaultService, TestSetDefaultServiceSessionAffinityConfig, TestSetDefaultServiceLoadbalancerIPMode,
// TestSetDefaultServiceTargetPort, TestSetDefaultServicePort, TestSetDefaultServiceExternalTraffic and
// TestSetDefaultServiceInternalTrafficPolicy), replayed over REST on the single-stack IPv4 cluster: upstream
// round-trips a v1 object through the defaulting functions; here each case is a POST (a PUT of the status for
// the load-balancer ingress cases, since a create drops the status) and checks what kube-apiserver stores.
// Translated: upstream's bare objects get what validation needs beyond the point of the case (makeValidService's
// selector and a port, an externalName for ExternalName, names when there are two ports); 1.2.3.4 in
// externalIPs and ingress becomes 198.18.0.1. Left out: "Set IP but not set IPMode with LoadbalancerIPMode
// disabled" (the LoadBalancerIPMode gate is on in 1.32, and svcedge has no gates).
// Agreement: TestSetDefaultService 1 of 1, TestSetDefaultServiceSessionAffinityConfig 3 of 3,
// TestSetDefaultServiceLoadbalancerIPMode 0 of 2 (on purpose: svcedge is the load balancer and writes the
// ingress itself, so a client's ingress is replaced; src/api/defaults.ts, which a status update runs
// first, is checked against upstream's expectation on the same body), TestSetDefaultServiceTargetPort 2 of 2,
// TestSetDefaultServicePort 2 of 2, TestSetDefaultServiceExternalTraffic 6 of 6,
// TestSetDefaultServiceInternalTrafficPolicy 4 of 4.
import { beforeAll, describe, expect, it } from "vitest";
import { setDefaults } from "../../src/api/defaults";
import type { Service } from "../../src/api/types";
import { call, freshNamespace, json } from "../admin/client";
import { decoded } from "../api/service-fixtures";
import { makeValidService, type Spec, type Svc } from "./conformance";

interface Case {
  test: string;
  name: string;
  /** The request's spec, over makeValidService's selector and single port. */
  spec: Spec;
  /** The load balancer ingress PUT to the status after the create. */
  ingress?: Spec[];
  /** The stored Service, checked (undefined: the field is absent). */
  check: (s: Svc) => void;
  /** Where svcedge answers otherwise on purpose: its check, and why. */
  departs?: { check: (s: Svc) => void; why: string };
}

const EXTERNAL_NAME = { type: "ExternalName", externalName: "foo.bar.example.com" };
const etp = (want: string | undefined) => (s: Svc) => expect(s.spec.externalTrafficPolicy).toBe(want);
const itp = (want: string | undefined) => (s: Svc) => expect(s.spec.internalTrafficPolicy).toBe(want);
const timeout = (s: Svc) => expect(s.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
const ports = (want: Spec[]) => (s: Svc) => expect(s.spec.ports.map((p: Spec) => ({ protocol: p.protocol, targetPort: p.targetPort }))).toEqual(want);
const ipModes = (want: string[]) => (s: Svc) => expect(s.status?.loadBalancer?.ingress?.map((i: Spec) => i.ipMode)).toEqual(want);
/** svcedge is the load balancer: it writes a LoadBalancer's ingress, its gateway hostname, reached as a proxy. */
const EDGE_LOAD_BALANCER = {
  check: (s: Svc) => expect(s.status?.loadBalancer?.ingress?.map((i: Spec) => [i.ip, i.ipMode, typeof i.hostname])).toEqual([[undefined, "Proxy", "string"]]),
  why: "svcedge is the load-balancer controller: a LoadBalancer's status is its gateway's hostname (ipMode Proxy), whatever a client writes",
};

const CASES: Case[] = [
  {
    test: "TestSetDefaultService",
    name: "(the only case)",
    spec: {},
    check: (s) => expect([s.spec.sessionAffinity, s.spec.sessionAffinityConfig, s.spec.type]).toEqual(["None", undefined, "ClusterIP"]),
  },
  { test: "TestSetDefaultServiceSessionAffinityConfig", name: "SessionAffinityConfig is empty", spec: { sessionAffinity: "ClientIP" }, check: timeout },
  {
    test: "TestSetDefaultServiceSessionAffinityConfig",
    name: "ClientIP is empty",
    spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: {} },
    check: timeout,
  },
  {
    test: "TestSetDefaultServiceSessionAffinityConfig",
    name: "TimeoutSeconds is empty",
    spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: {} } },
    check: timeout,
  },
  {
    test: "TestSetDefaultServiceLoadbalancerIPMode",
    name: "Set IP but bot set IPMode with LoadbalancerIPMode enabled",
    spec: { type: "LoadBalancer" },
    ingress: [{ ip: "198.18.0.1" }],
    check: ipModes(["VIP"]),
    departs: EDGE_LOAD_BALANCER,
  },
  {
    test: "TestSetDefaultServiceLoadbalancerIPMode",
    name: "Both IP and IPMode are set with LoadbalancerIPMode enabled",
    spec: { type: "LoadBalancer" },
    ingress: [{ ip: "198.18.0.1", ipMode: "Proxy" }],
    check: ipModes(["Proxy"]),
    departs: EDGE_LOAD_BALANCER,
  },
  { test: "TestSetDefaultServiceTargetPort", name: "defaulted", spec: { ports: [{ port: 1234 }] }, check: ports([{ protocol: "TCP", targetPort: 1234 }]) },
  {
    test: "TestSetDefaultServiceTargetPort",
    name: "unchanged",
    spec: { ports: [{ port: 1234, targetPort: 5678 }] },
    check: ports([{ protocol: "TCP", targetPort: 5678 }]),
  },
  {
    test: "TestSetDefaultServicePort",
    name: "Unchanged if set.",
    spec: {
      ports: [
        { name: "a", protocol: "UDP", port: 9376, targetPort: "p" },
        { name: "b", protocol: "UDP", port: 8675, targetPort: 309 },
      ],
    },
    check: ports([
      { protocol: "UDP", targetPort: "p" },
      { protocol: "UDP", targetPort: 309 },
    ]),
  },
  {
    test: "TestSetDefaultServicePort",
    name: "Defaulted.",
    spec: {
      ports: [
        { name: "a", protocol: "", port: 9376, targetPort: "" },
        { name: "b", protocol: "", port: 8675, targetPort: 0 },
      ],
    },
    check: ports([
      { protocol: "TCP", targetPort: 9376 },
      { protocol: "TCP", targetPort: 8675 },
    ]),
  },
  { test: "TestSetDefaultServiceExternalTraffic", name: "unset type", spec: {}, check: etp(undefined) },
  { test: "TestSetDefaultServiceExternalTraffic", name: "NodePort", spec: { type: "NodePort" }, check: etp("Cluster") },
  { test: "TestSetDefaultServiceExternalTraffic", name: "LoadBalancer", spec: { type: "LoadBalancer" }, check: etp("Cluster") },
  {
    test: "TestSetDefaultServiceExternalTraffic",
    name: "ClusterIP with externalIPs",
    spec: { type: "ClusterIP", externalIPs: ["198.18.0.1"] },
    check: etp("Cluster"),
  },
  { test: "TestSetDefaultServiceExternalTraffic", name: "ClusterIP", spec: { type: "ClusterIP" }, check: etp(undefined) },
  { test: "TestSetDefaultServiceExternalTraffic", name: "ExternalName", spec: EXTERNAL_NAME, check: etp(undefined) },
  { test: "TestSetDefaultServiceInternalTrafficPolicy", name: "must set default internalTrafficPolicy", spec: {}, check: itp("Cluster") },
  {
    test: "TestSetDefaultServiceInternalTrafficPolicy",
    name: "must not set default internalTrafficPolicy when it's cluster",
    spec: { internalTrafficPolicy: "Cluster" },
    check: itp("Cluster"),
  },
  {
    test: "TestSetDefaultServiceInternalTrafficPolicy",
    name: "must not set default internalTrafficPolicy when type is ExternalName",
    spec: EXTERNAL_NAME,
    check: itp(undefined),
  },
  {
    test: "TestSetDefaultServiceInternalTrafficPolicy",
    name: "must not set default internalTrafficPolicy when it's local",
    spec: { internalTrafficPolicy: "Local" },
    check: itp("Local"),
  },
];

describe("v1 Service defaults over REST (defaults_test.go)", () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace("defaults");
  });
  CASES.forEach((c, i) => {
    it(`${c.test}: ${c.name}`, async () => {
      // makeValidService without what the v1 defaults fill in.
      const svc = makeValidService(`s${i}`);
      svc.spec = { selector: svc.spec.selector, ports: [{ port: svc.spec.ports[0].port }], ...c.spec };
      const path = `/api/v1/namespaces/${ns}/services/${svc.metadata.name}`;
      const created = await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", ...svc });
      let body = await json(created);
      expect(created.status, JSON.stringify(body.details?.causes ?? body.message)).toBe(201);
      if (c.ingress) {
        const res = await call("PUT", `${path}/status`, { ...body, status: { loadBalancer: { ingress: c.ingress } } });
        body = await json(res);
        expect(res.status, JSON.stringify(body.details?.causes ?? body.message)).toBe(200);
      }
      const stored = (await json(await call("GET", path))) as Svc;
      await call("DELETE", path);
      (c.departs?.check ?? c.check)(stored);
      if (c.departs) {
        // The v1 defaults alone, on the body of the status update, give upstream's answer.
        const update = decoded("Service", { ...stored, status: { loadBalancer: { ingress: c.ingress } } }) as Service;
        setDefaults(update, decoded("Service", stored) as Service);
        c.check(update as unknown as Svc);
      }
    });
  });
});
