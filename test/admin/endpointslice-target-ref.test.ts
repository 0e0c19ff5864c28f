// An endpoint's targetRef is a core/v1 ObjectReference, all seven fields of it: a slice that
// names its target's apiVersion, resourceVersion or fieldPath (as other controllers write them)
// is stored whole, without a warning that the fields are unknown.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "./client";

describe("EndpointSlice endpoints[].targetRef", () => {
  it("keeps every ObjectReference field, without an unknown-field warning", async () => {
    const ns = await freshNamespace();
    const targetRef = { kind: "Pod", namespace: ns, name: "web-0", uid: "u-1", apiVersion: "v1", resourceVersion: "42", fieldPath: "spec.containers{app}" };
    const slice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "ref-1", labels: { "kubernetes.io/service-name": "ref" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.6.0.1"], targetRef }],
      ports: [{ name: "", port: 8080, protocol: "TCP" }],
    };
    const created = await call("POST", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, slice);
    expect(created.status).toBe(201);
    expect(created.headers.get("warning")).toBeNull();
    expect((await json(created)).endpoints[0].targetRef).toEqual(targetRef);
  });
});
