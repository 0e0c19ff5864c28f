// Upstream's TestValidateServiceUpdate (kubernetes/kubernetes pkg/apis/core/validation/validation_test.go),
// from "no change" to "invalid: upgrade to dual stack and change primary", replayed over REST on the
// single-stack IPv4 cluster (`worker`) and the dual-stack one (`worker-dual-stack`): the old Service is
// created with POST, the new one PUT over what GET returned. Upstream validates two internal objects and
// counts errors; kube-apiserver's REST path first defaults, keeps the allocated values the body leaves out
// (patchAllocatedValues), settles the IP families (initIPFamilyFields, whose errors answer alone), allocates,
// drops type-dependent fields and then validates, so each case expects what kube-apiserver answers to the PUT.
// Not expressible over REST, so left out: the cases whose old Service has no ClusterIP although its type
// needs one ("... can change its empty ClusterIP ...", 8 cases), an ExternalName holding a ClusterIP, and a
// RequireDualStack Service with one family on a dual-stack cluster ("add a new ServiceIPFamily").
// Translated as in service-validation.clusters.test.ts (addresses into the clusters' ranges).
// Agreement: every case, on both clusters.
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "../admin/client";
import { CLUSTER, causeFields, makeValidService, type Spec, type Svc } from "./conformance";

/** 200, 400, or the fields of the 422's causes. */
type Outcome = 200 | 400 | string[];
interface Case {
  name: string;
  /** The old Service, as created. */
  old?: (s: Svc) => void;
  /** The new Service: a change to what GET returned. */
  update: (s: Svc) => void;
  expect: Outcome;
  /** The single-stack answer when it differs; "skip" when the old Service cannot exist there. */
  v4?: Outcome | "skip";
}

const V4 = "10.96.101.4";
const V4B = "10.96.101.5";
const V6 = "2001:db8:96::101";
const V6B = "2001:db8:96::102";
const FOUR = ["IPv4"];
const SIX_FOUR = ["IPv6", "IPv4"];
const FOUR_SIX = ["IPv4", "IPv6"];
const setIPs = (s: Svc, clusterIPs: string[]) => Object.assign(s.spec, { clusterIP: clusterIPs[0], clusterIPs });
const family = (s: Svc, policy: string, families: string[]) => Object.assign(s.spec, { ipFamilyPolicy: policy, ipFamilies: families });
const LB = (s: Svc) => Object.assign(s.spec, { type: "LoadBalancer", externalTrafficPolicy: "Cluster", allocateLoadBalancerNodePorts: true });
const NODEPORT = (s: Svc) => Object.assign(s.spec, { type: "NodePort", externalTrafficPolicy: "Cluster" });
const CLUSTERIP = (s: Svc) => Object.assign(s.spec, { type: "ClusterIP" });
const EXTERNAL = (s: Svc) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo.bar.example.com" });
const headless = (s: Svc) => setIPs(s, ["None"]);
const changedIP = ["spec.clusterIPs[0]"];

const CASES: Case[] = [
  { name: "no change", update: () => {}, expect: 200 },
  { name: "change name", update: (s) => (s.metadata.name += "2"), expect: 400 },
  { name: "change namespace", update: (s) => (s.metadata.namespace += "2"), expect: 400 },
  { name: "change label valid", old: (s) => (s.metadata.labels = { key: "value" }), update: (s) => (s.metadata.labels.key = "other-value"), expect: 200 },
  { name: "add label", update: (s) => (s.metadata.labels = { key2: "value2" }), expect: 200 },
  { name: "change cluster IP", old: (s) => setIPs(s, [V4]), update: (s) => setIPs(s, [V4B]), expect: changedIP },
  // patchAllocatedValues keeps what the new object leaves out.
  { name: "remove cluster IP", old: (s) => setIPs(s, [V4]), update: (s) => Object.assign(s.spec, { clusterIP: "", clusterIPs: null }), expect: 200 },
  {
    name: "change affinity",
    update: (s) => Object.assign(s.spec, { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 90 } } }),
    expect: 200,
  },
  // The v1 defaults give an empty sessionAffinity or type their default value.
  { name: "remove affinity", update: (s) => (s.spec.sessionAffinity = ""), expect: 200 },
  { name: "change type", update: LB, expect: 200 },
  { name: "remove type", update: (s) => (s.spec.type = ""), expect: 200 },
  { name: "change type -> nodeport", update: NODEPORT, expect: 200 },
  { name: "add loadBalancerSourceRanges", old: LB, update: (s) => (s.spec.loadBalancerSourceRanges = ["10.0.0.0/8"]), expect: 200 },
  {
    name: "update loadBalancerSourceRanges",
    old: (s) => (LB(s), (s.spec.loadBalancerSourceRanges = ["10.0.0.0/8"])),
    update: (s) => (s.spec.loadBalancerSourceRanges = ["10.100.0.0/16"]),
    expect: 200,
  },
  {
    name: "LoadBalancer type cannot have None ClusterIP",
    update: (s) => (headless(s), LB(s)),
    expect: ["spec.clusterIPs[0]", "spec.clusterIPs[0]"],
  },
  { name: "`None` ClusterIP can NOT be changed", old: headless, update: (s) => setIPs(s, [V4]), expect: changedIP },
  { name: "`None` ClusterIP can NOT be removed", old: headless, update: (s) => Object.assign(s.spec, { clusterIP: "", clusterIPs: null }), expect: 200 },
  { name: "ClusterIP can NOT be changed to None", old: (s) => setIPs(s, [V4]), update: headless, expect: changedIP },
  { name: "Service with ClusterIP type cannot change its set ClusterIP", old: (s) => setIPs(s, [V4]), update: (s) => setIPs(s, [V4B]), expect: changedIP },
  {
    name: "Service with ClusterIP type cannot change its set ClusterIP when changing type to NodePort",
    old: (s) => setIPs(s, [V4]),
    update: (s) => (NODEPORT(s), setIPs(s, [V4B])),
    expect: changedIP,
  },
  {
    name: "Service with ClusterIP type cannot change its ClusterIP when changing type to LoadBalancer",
    old: (s) => setIPs(s, [V4]),
    update: (s) => (LB(s), setIPs(s, [V4B])),
    expect: changedIP,
  },
  {
    name: "Service with LoadBalancer type can change its AllocateLoadBalancerNodePorts from true to false",
    old: LB,
    update: (s) => (s.spec.allocateLoadBalancerNodePorts = false),
    expect: 200,
  },
  {
    name: "Service with LoadBalancer type can change its AllocateLoadBalancerNodePorts from false to true",
    old: (s) => (LB(s), (s.spec.allocateLoadBalancerNodePorts = false)),
    update: (s) => (s.spec.allocateLoadBalancerNodePorts = true),
    expect: 200,
  },
  {
    name: "Service with NodePort type cannot change its set ClusterIP",
    old: (s) => (NODEPORT(s), setIPs(s, [V4])),
    update: (s) => setIPs(s, [V4B]),
    expect: changedIP,
  },
  {
    name: "Service with NodePort type cannot change its set ClusterIP when changing type to ClusterIP",
    old: (s) => (NODEPORT(s), setIPs(s, [V4])),
    update: (s) => (CLUSTERIP(s), setIPs(s, [V4B])),
    expect: changedIP,
  },
  {
    name: "Service with NodePort type cannot change its set ClusterIP when changing type to LoadBalancer",
    old: (s) => (NODEPORT(s), setIPs(s, [V4])),
    update: (s) => (LB(s), setIPs(s, [V4B])),
    expect: changedIP,
  },
  {
    name: "Service with LoadBalancer type cannot change its set ClusterIP",
    old: (s) => (LB(s), setIPs(s, [V4])),
    update: (s) => setIPs(s, [V4B]),
    expect: changedIP,
  },
  {
    name: "Service with LoadBalancer type cannot change its set ClusterIP when changing type to ClusterIP",
    old: (s) => (LB(s), setIPs(s, [V4])),
    update: (s) => (CLUSTERIP(s), setIPs(s, [V4B])),
    expect: changedIP,
  },
  {
    name: "Service with LoadBalancer type cannot change its set ClusterIP when changing type to NodePort",
    old: (s) => (LB(s), setIPs(s, [V4])),
    update: (s) => (NODEPORT(s), setIPs(s, [V4B])),
    expect: changedIP,
  },
  {
    name: "Service with ExternalName type can change its empty ClusterIP when changing type to ClusterIP",
    old: EXTERNAL,
    update: (s) => (CLUSTERIP(s), setIPs(s, [V4B])),
    expect: 200,
  },
  {
    // Over REST the old NodePort Service holds a ClusterIP, so its change is refused too.
    name: "invalid node port with clusterIP None",
    old: (s) => (NODEPORT(s), s.spec.ports.push({ name: "q", port: 1, protocol: "TCP", targetPort: 1, nodePort: 30201 })),
    update: headless,
    expect: ["spec.clusterIPs[0]", "spec.clusterIPs[0]"],
  },
  // Service IP Family
  { name: "convert from ExternalName", old: EXTERNAL, update: CLUSTERIP, expect: 200 },
  // dropTypeDependentFields clears the IP fields the client left as they were.
  {
    name: "invalid: convert to ExternalName",
    old: (s) => setIPs(s, [V4]),
    update: (s) => Object.assign(s.spec, { type: "ExternalName", externalName: "foo" }),
    expect: 200,
  },
  {
    name: "valid: convert to ExternalName",
    old: (s) => setIPs(s, [V4]),
    update: (s) => {
      for (const f of ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"]) delete s.spec[f];
      Object.assign(s.spec, { type: "ExternalName", externalName: "foo" });
    },
    expect: 200,
  },
  { name: "same ServiceIPFamily", old: (s) => (s.spec.ipFamilies = FOUR), update: (s) => (s.spec.ipFamilies = FOUR), expect: 200 },
  {
    name: "same ServiceIPFamily, change IPFamilyPolicy to singleStack",
    old: (s) => (s.spec.ipFamilies = FOUR),
    update: (s) => family(s, "SingleStack", FOUR),
    expect: 200,
  },
  {
    name: "same ServiceIPFamily, change IPFamilyPolicy singleStack => requireDualStack",
    old: (s) => family(s, "SingleStack", FOUR),
    update: (s) => family(s, "RequireDualStack", FOUR),
    expect: 200,
    v4: ["spec.ipFamilyPolicy"],
  },
  { name: "ExternalName while changing Service IPFamily", old: EXTERNAL, update: () => {}, expect: 200 },
  { name: "setting ipfamily from nil to v4", update: (s) => Object.assign(s.spec, { externalName: "somename", ipFamilies: FOUR }), expect: 200 },
  // Over REST the old Service has its IPv4 ClusterIP and family: asking for IPv6 contradicts the IP.
  {
    name: "setting ipfamily from nil to v6",
    update: (s) => Object.assign(s.spec, { externalName: "somename", ipFamilies: ["IPv6"] }),
    expect: ["spec.clusterIPs[0]"],
  },
  {
    name: "change primary ServiceIPFamily",
    old: (s) => (setIPs(s, [V4]), (s.spec.ipFamilies = FOUR)),
    update: (s) => (s.spec.ipFamilies = ["IPv6"]),
    expect: ["spec.clusterIPs[0]"],
  },
  // upgrade + downgrade from/to dualstack
  {
    name: "valid: upgrade to dual stack with requiredDualStack",
    old: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR)),
    update: (s) => family(s, "RequireDualStack", FOUR),
    expect: 200,
    v4: ["spec.ipFamilyPolicy"],
  },
  {
    name: "valid: upgrade to dual stack with preferDualStack",
    old: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR)),
    update: (s) => family(s, "PreferDualStack", FOUR),
    expect: 200,
  },
  {
    name: "valid: upgrade to dual stack, no specific secondary ip",
    old: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR)),
    update: (s) => family(s, "RequireDualStack", FOUR_SIX),
    expect: 200,
    v4: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
  },
  {
    name: "valid: upgrade to dual stack, with specific secondary ip",
    old: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR)),
    update: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    expect: 200,
    v4: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
  },
  {
    name: "valid: downgrade from dual to single",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR)),
    expect: 200,
    v4: "skip",
  },
  {
    name: "valid: change families for a headless service",
    old: (s) => (headless(s), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => family(s, "RequireDualStack", SIX_FOUR),
    expect: 200,
    v4: "skip",
  },
  {
    name: "valid: upgrade a headless service",
    old: (s) => (headless(s), family(s, "SingleStack", FOUR)),
    update: (s) => family(s, "RequireDualStack", SIX_FOUR),
    expect: 200,
    v4: ["spec.ipFamilies[0]", "spec.ipFamilyPolicy"],
  },
  {
    name: "valid: downgrade a headless service",
    old: (s) => (headless(s), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => family(s, "SingleStack", ["IPv6"]),
    expect: 200,
    v4: "skip",
  },
  {
    name: "invalid flip families",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => (setIPs(s, [V6, V4B]), family(s, "RequireDualStack", SIX_FOUR)),
    expect: ["spec.clusterIPs[0]", "spec.clusterIPs[1]", "spec.ipFamilies[0]", "spec.ipFamilies[0]"],
    v4: "skip",
  },
  {
    name: "invalid change first ip, in dualstack service",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => setIPs(s, [V4B, V6]),
    expect: ["spec.clusterIPs[0]"],
    v4: "skip",
  },
  {
    name: "invalid, change second ip in dualstack service",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => setIPs(s, [V4, V6B]),
    expect: ["spec.clusterIPs[1]"],
    v4: "skip",
  },
  {
    // initIPFamilyFields trims the families when the policy becomes SingleStack.
    name: "downgrade keeping the families",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR_SIX)),
    expect: 200,
    v4: "skip",
  },
  {
    name: "invalid, downgrade without changing to singleStack",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => (setIPs(s, [V4]), family(s, "RequireDualStack", FOUR)),
    expect: ["spec.ipFamilyPolicy", "spec.ipFamilyPolicy"],
    v4: "skip",
  },
  {
    name: "invalid, downgrade and change primary ip",
    old: (s) => (setIPs(s, [V4, V6]), family(s, "RequireDualStack", FOUR_SIX)),
    update: (s) => (setIPs(s, [V4B]), family(s, "SingleStack", FOUR)),
    expect: ["spec.clusterIPs[0]"],
    v4: "skip",
  },
  {
    name: "invalid: upgrade to dual stack and change primary",
    old: (s) => (setIPs(s, [V4]), family(s, "SingleStack", FOUR)),
    update: (s) => (setIPs(s, [V4B]), family(s, "RequireDualStack", FOUR_SIX)),
    expect: ["spec.clusterIPs[0]"],
    v4: ["spec.ipFamilies[1]", "spec.ipFamilyPolicy"],
  },
];

if (CLUSTER === "4" || CLUSTER === "46")
  describe(`TestValidateServiceUpdate over REST (${CLUSTER === "4" ? "single-stack IPv4" : "dual-stack"})`, () => {
    let ns: string;
    beforeAll(async () => {
      ns = await freshNamespace("update");
    });
    CASES.forEach((c, i) => {
      const want = CLUSTER === "4" && c.v4 !== undefined ? c.v4 : c.expect;
      // A case whose old Service cannot exist on this cluster is not defined here.
      if (want === "skip") return;
      it(c.name, async () => {
        const name = `u${i}`;
        const old = makeValidService(name);
        c.old?.(old);
        const created = await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", ...old });
        expect(created.status, JSON.stringify((await json(created.clone())).details?.causes)).toBe(201);
        const next = (await json(await call("GET", `/api/v1/namespaces/${ns}/services/${name}`))) as Svc;
        c.update(next);
        const res = await call("PUT", `/api/v1/namespaces/${ns}/services/${name}`, next);
        const body = await json(res);
        await call("DELETE", `/api/v1/namespaces/${ns}/services/${name}`);
        if (want === 200 || want === 400) {
          expect(res.status, JSON.stringify(body.details?.causes ?? body.message)).toBe(want);
          return;
        }
        expect(res.status, JSON.stringify(body.spec ?? body)).toBe(422);
        expect(body.reason).toBe("Invalid");
        expect(causeFields(body)).toEqual([...(want as string[])].sort());
      });
    });
  });
