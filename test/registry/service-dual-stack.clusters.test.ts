// Dual-stack Services over REST, on each cluster configuration of vitest.config.ts: what a
// single-stack cluster refuses (with kube-apiserver's field paths: alloc.go initIPFamilyFields),
// and on a dual-stack cluster the upgrade and downgrade of a Service's families on update
// (updateClusterIPs), the release of both ClusterIPs, and EndpointSlices per address family
// from the Pods' status.podIPs (the EndpointSlice controller's getEndpointAddresses).
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json, pod, service } from "../admin/client";
import { CLUSTER } from "./conformance";

const V6 = (host: string) => `2001:db8:96::${host}`;

let ns: string;
beforeAll(async () => {
  ns = await freshNamespace("dual");
});

const create = (name: string, spec: Record<string, unknown>) => call("POST", `/api/v1/namespaces/${ns}/services`, service(name, spec));
const mergePatch = (name: string, patch: unknown) =>
  call("PATCH", `/api/v1/namespaces/${ns}/services/${name}`, patch, { contentType: "application/merge-patch+json" });
const causes = (body: any) => (body.details?.causes ?? []).map((c: any) => `${c.field}: ${c.message}`);

if (CLUSTER === "4")
  describe("allocation comes before validation, as in kube-apiserver's BeginCreate/BeginUpdate", () => {
    it("a request for a taken ClusterIP is refused by the allocator alone, whatever else is wrong with it", async () => {
      expect((await create("holder", { clusterIP: "10.96.3.3" })).status).toBe(201);
      const res = await create("taker", { clusterIP: "10.96.3.3", ports: [{ port: 80 }, { port: 81 }] });
      expect(res.status).toBe(422);
      expect(causes(await json(res))).toEqual([
        'spec.clusterIPs: Invalid value: []string{"10.96.3.3"}: failed to allocate IP 10.96.3.3: provided IP is already allocated',
      ]);
    });

    it("what an invalid request took is given back, and what a refused update would have freed stays held", async () => {
      // Invalid (two unnamed ports) after taking 10.96.3.4: the address is free again.
      expect((await create("invalid", { clusterIP: "10.96.3.4", ports: [{ port: 80 }, { port: 81 }] })).status).toBe(422);
      expect((await create("valid", { clusterIP: "10.96.3.4" })).status).toBe(201);
      // A NodePort Service whose change to ClusterIP is refused (a nodePort it names anew) keeps its nodePort.
      const np = await json(await create("np", { type: "NodePort", ports: [{ port: 80, nodePort: 30301 }] }));
      expect(np.spec.ports[0].nodePort).toBe(30301);
      const refused = await mergePatch("np", { spec: { type: "ClusterIP", ports: [{ port: 80, nodePort: 30302 }] } });
      expect(refused.status).toBe(422);
      expect(causes(await json(refused))).toEqual(["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
      const other = await create("wants-30301", { type: "NodePort", ports: [{ port: 80, nodePort: 30301 }] });
      expect(causes(await json(other))).toEqual(["spec.ports[0].nodePort: Invalid value: 30301: provided port is already allocated"]);
      // ...and the refused update took nothing: 30302 is free.
      expect((await create("wants-30302", { type: "NodePort", ports: [{ port: 80, nodePort: 30302 }] })).status).toBe(201);
    });
  });

if (CLUSTER === "4")
  describe("a single-stack IPv4 cluster refuses what a single-stack kube-apiserver refuses", () => {
    it.each([
      [
        { ipFamilyPolicy: "RequireDualStack" },
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
      ],
      [{ ipFamilies: ["IPv6"] }, 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'],
      [{ ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv4", "IPv6"] }, 'spec.ipFamilies[1]: Invalid value: "IPv6": not configured on this cluster'],
      [{ clusterIP: "2001:db8::1" }, 'spec.clusterIPs[0]: Invalid value: []string{"2001:db8::1"}: IPv6 is not configured on this cluster'],
      [
        { ipFamilyPolicy: "PreferDualStack", clusterIP: "10.96.7.7", clusterIPs: ["10.96.7.7", "2001:db8::1"] },
        'spec.clusterIPs[1]: Invalid value: []string{"10.96.7.7", "2001:db8::1"}: IPv6 is not configured on this cluster',
      ],
    ])("%j: 422 naming the field", async (spec, cause) => {
      const res = await create("refused", spec);
      const body = await json(res);
      expect(res.status).toBe(422);
      expect(causes(body)).toEqual([cause]);
    });

    it("two clusterIPs under SingleStack: the policy and the unconfigured family, not a trimmed list", async () => {
      const res = await create("trimmed", { clusterIP: "10.96.7.8", clusterIPs: ["10.96.7.8", "2001:db8::2"], ipFamilies: ["IPv4", "IPv6"] });
      expect(res.status).toBe(422);
      expect(causes(await json(res))).toEqual([
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
      ]);
    });

    it("PreferDualStack is accepted and stays single-stack", async () => {
      const body = await json(await create("prefer", { ipFamilyPolicy: "PreferDualStack" }));
      expect(body.spec).toMatchObject({ ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv4"] });
      expect(body.spec.clusterIPs).toHaveLength(1);
    });

    it("an IPv6-only Pod is no endpoint of an IPv4 Service; a dual-stack Pod is, by its IPv4 address", async () => {
      await create("v4only", { selector: { app: "v4only" } });
      const v6pod = pod("v6-only", { app: "v4only" }, "2001:db8:1::10");
      const dual = pod("dual", { app: "v4only" }, "198.18.5.10");
      (dual.status as Record<string, unknown>).podIPs = [{ ip: "198.18.5.10" }, { ip: "2001:db8:1::11" }];
      for (const p of [v6pod, dual]) expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, p)).status).toBe(201);
      const slices = await slicesOf("v4only");
      expect(slices.map((s: any) => [s.addressType, s.endpoints.map((e: any) => e.addresses[0])])).toEqual([["IPv4", ["198.18.5.10"]]]);
    });
  });

async function slicesOf(svc: string): Promise<any[]> {
  const list = await json(await call("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${svc}`));
  return list.items.sort((a: any, b: any) => (a.addressType < b.addressType ? -1 : 1));
}

if (CLUSTER === "46")
  describe("a dual-stack cluster (IPv4 primary)", () => {
    it("RequireDualStack gets one ClusterIP per family, primary first; a named secondary is taken as given", async () => {
      const body = await json(await create("both", { ipFamilyPolicy: "RequireDualStack", clusterIP: "10.96.8.1", clusterIPs: ["10.96.8.1", V6("8:1")] }));
      expect(body.spec).toMatchObject({
        ipFamilyPolicy: "RequireDualStack",
        ipFamilies: ["IPv4", "IPv6"],
        clusterIP: "10.96.8.1",
        clusterIPs: ["10.96.8.1", V6("8:1")],
      });
      // Taken: another Service may not have it.
      const again = await create("again", { ipFamilyPolicy: "RequireDualStack", clusterIP: "10.96.8.2", clusterIPs: ["10.96.8.2", V6("8:1")] });
      expect(again.status).toBe(422);
      expect(causes(await json(again))).toEqual([
        `spec.clusterIPs: Invalid value: []string{"10.96.8.2", "${V6("8:1")}"}: failed to allocate IP ${V6("8:1")}: provided IP is already allocated`,
      ]);
      // ...and the refused request took nothing: its primary IP is free.
      expect((await create("primary-free", { clusterIP: "10.96.8.2" })).status).toBe(201);
    });

    it("upgrades SingleStack to dual-stack on update, and downgrades back, releasing the secondary IP", async () => {
      const created = await json(await create("grow", {}));
      expect(created.spec).toMatchObject({ ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv4"] });
      const primary = created.spec.clusterIP;
      const up = await json(await mergePatch("grow", { spec: { ipFamilyPolicy: "PreferDualStack" } }));
      expect(up.spec.ipFamilies).toEqual(["IPv4", "IPv6"]);
      expect(up.spec.clusterIPs[0]).toBe(primary);
      const secondary = up.spec.clusterIPs[1];
      expect(secondary).toContain(":");
      // Releasing the secondary family needs SingleStack (the apiserver's message, before validation's).
      const refused = await call("PUT", `/api/v1/namespaces/${ns}/services/grow`, { ...up, spec: { ...up.spec, clusterIPs: [primary], ipFamilies: ["IPv4"] } });
      expect(refused.status).toBe(422);
      expect(causes(await json(refused))).toEqual([
        "spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be 'SingleStack' to release the secondary cluster IP",
        "spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be 'SingleStack' to release the secondary IP family",
      ]);
      // SingleStack with the IP fields as they were: the intent to drop the secondary family.
      const down = await json(await mergePatch("grow", { spec: { ipFamilyPolicy: "SingleStack" } }));
      expect(down.spec).toMatchObject({ ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv4"], clusterIPs: [primary] });
      expect((await create("takes-secondary", { ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv6"], clusterIP: secondary })).status).toBe(201);
    });

    it("keeps the primary family and IP fixed: changing either is refused", async () => {
      const created = await json(await create("fixed", { ipFamilyPolicy: "PreferDualStack" }));
      const res = await mergePatch("fixed", { spec: { ipFamilies: ["IPv6", "IPv4"] } });
      expect(res.status).toBe(422);
      expect(causes(await json(res))).toContain(
        `spec.clusterIPs[0]: Invalid value: "${created.spec.clusterIPs[0]}": expected an IPv6 value as indicated by \`ipFamilies[0]\``,
      );
    });

    it("releases both ClusterIPs on delete and on a change to ExternalName; back from ExternalName allocates both again", async () => {
      const spec = { ipFamilyPolicy: "RequireDualStack", clusterIP: "10.96.9.1", clusterIPs: ["10.96.9.1", V6("9:1")] };
      expect((await create("gone", spec)).status).toBe(201);
      expect((await call("DELETE", `/api/v1/namespaces/${ns}/services/gone`)).status).toBe(200);
      expect((await create("reuses", spec)).status).toBe(201);
      const ext = await json(
        await mergePatch("reuses", { spec: { type: "ExternalName", externalName: "example.com", ipFamilyPolicy: null, ipFamilies: null } }),
      );
      expect(ext.spec.clusterIPs).toBeUndefined();
      expect(ext.spec.ipFamilies).toBeUndefined();
      expect((await create("reuses-again", spec)).status).toBe(201);
      const back = await json(await mergePatch("reuses", { spec: { type: "ClusterIP", externalName: null, ipFamilyPolicy: "RequireDualStack" } }));
      expect(back.spec.ipFamilies).toEqual(["IPv4", "IPv6"]);
      expect(back.spec.clusterIPs.map((ip: string) => ip.includes(":"))).toEqual([false, true]);
    });

    it("publishes an IPv4 and an IPv6 EndpointSlice for a dual-stack Service, from the Pods' podIPs", async () => {
      await create("web", { ipFamilyPolicy: "RequireDualStack", selector: { app: "web" } });
      await create("web4", { selector: { app: "web" } });
      const dual = pod("dual", { app: "web" }, "198.18.6.10");
      (dual.status as Record<string, unknown>).podIPs = [{ ip: "198.18.6.10" }, { ip: "2001:db8:6::10" }];
      const v4 = pod("v4", { app: "web" }, "198.18.6.11");
      const v6 = pod("v6", { app: "web" }, "2001:db8:6::12");
      for (const p of [dual, v4, v6]) expect((await call("POST", `/api/v1/namespaces/${ns}/pods`, p)).status).toBe(201);
      const addresses = (slices: any[]) => slices.map((s) => [s.addressType, s.endpoints.map((e: any) => e.addresses[0]).sort()]);
      expect(addresses(await slicesOf("web"))).toEqual([
        ["IPv4", ["198.18.6.10", "198.18.6.11"]],
        ["IPv6", ["2001:db8:6::10", "2001:db8:6::12"]],
      ]);
      // A single-stack Service of the same Pods has its family's slice only.
      expect(addresses(await slicesOf("web4"))).toEqual([["IPv4", ["198.18.6.10", "198.18.6.11"]]]);
      // Downgrading the Service drops its IPv6 slice.
      await mergePatch("web", { spec: { ipFamilyPolicy: "SingleStack" } });
      expect(addresses(await slicesOf("web"))).toEqual([["IPv4", ["198.18.6.10", "198.18.6.11"]]]);
    });
  });

if (CLUSTER === "6")
  describe("a single-stack IPv6 cluster", () => {
    it("allocates IPv6 ClusterIPs, written as RFC 5952, and refuses IPv4", async () => {
      const body = await json(await create("six", {}));
      expect(body.spec.ipFamilies).toEqual(["IPv6"]);
      expect(body.spec.clusterIP).toMatch(/^2001:db8:96::[0-9a-f:]+$/);
      const res = await create("four", { ipFamilies: ["IPv4"] });
      expect(causes(await json(res))).toEqual(['spec.ipFamilies[0]: Invalid value: "IPv4": not configured on this cluster']);
    });
  });
