// EndpointSlice deprecatedTopology, validated as pkg/apis/discovery/validation validateEndpoints
// does: labels (ValidateLabels), at most 16 (maxTopologyLabels), and never the zone label, which
// belongs in `zone` (field.InternalError "reserved key was not removed in conversion").
import { describe, expect, it } from "vitest";
import { call, expectRejectedWithoutWrites, freshNamespace, json } from "./client";

const slice = (name: string, deprecatedTopology: Record<string, string>) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  endpoints: [{ addresses: ["198.18.3.1"], deprecatedTopology }],
  ports: [{ name: "", port: 80, protocol: "TCP" }],
});

describe("EndpointSlice deprecatedTopology", () => {
  it("keeps valid topology labels", async () => {
    const ns = await freshNamespace();
    const res = await call(
      "POST",
      `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?fieldValidation=Strict`,
      slice("ok", { "kubernetes.io/hostname": "node-1" }),
    );
    expect(res.status).toBe(201);
    expect((await json(res)).endpoints[0].deprecatedTopology).toEqual({ "kubernetes.io/hostname": "node-1" });
  });

  it("refuses bad keys and values, more than 16 labels, and the zone label, writing nothing", async () => {
    const ns = await freshNamespace();
    const path = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
    const bad = await expectRejectedWithoutWrites(() => call("POST", path, slice("bad", { "bad key": "x", ok: "bad value!" })), 422);
    expect(bad.details.causes.map((c: { field: string; reason: string }) => [c.field, c.reason])).toEqual([
      ["endpoints[0].deprecatedTopology", "FieldValueInvalid"],
      ["endpoints[0].deprecatedTopology", "FieldValueInvalid"],
    ]);
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`t${i}`, "x"]));
    const tooMany = await expectRejectedWithoutWrites(() => call("POST", path, slice("many", many)), 422);
    expect(tooMany.details.causes[0]).toEqual({
      reason: "FieldValueTooMany",
      message: "Too many: 17: must have at most 16 items",
      field: "endpoints[0].deprecatedTopology",
    });
    const zone = await expectRejectedWithoutWrites(() => call("POST", path, slice("zone", { "topology.kubernetes.io/zone": "z1" })), 422);
    expect(zone.details.causes).toEqual([
      {
        reason: "InternalError",
        message: "Internal error: reserved key was not removed in conversion",
        field: "endpoints[0].deprecatedTopology[topology.kubernetes.io/zone]",
      },
    ]);
  });
});
