import { describe, expect, it } from "vitest";
import { decode, strictDecodingMessage } from "../../src/api/decode";

describe("decode", () => {
  it("fills in a missing apiVersion and kind", () => {
    const res = decode("Service", { metadata: { name: "a" }, spec: { ports: [{ port: 80 }] } });
    expect(res.ok && res.object).toMatchObject({ apiVersion: "v1", kind: "Service" });
  });

  it("rejects a mismatching apiVersion", () => {
    const res = decode("EndpointSlice", { apiVersion: "v1", kind: "EndpointSlice" });
    expect(res).toMatchObject({
      ok: false,
      message: "the API version in the data (v1) does not match the expected API version (discovery.k8s.io/v1)",
      causes: [{ field: "apiVersion" }],
    });
  });

  it("rejects a mismatching kind", () => {
    const res = decode("Service", { apiVersion: "v1", kind: "Pod" });
    expect(res.ok).toBe(false);
    expect(!res.ok && res.causes[0]!.field).toBe("kind");
    expect(!res.ok && res.message).toMatch(/^Service in version "v1" cannot be handled as a Service: /);
  });

  it("reports wrong JSON types with Go's wording and a Kubernetes field path", () => {
    const res = decode("Service", { apiVersion: "v1", kind: "Service", metadata: { name: "a" }, spec: { ports: [{ port: "80" }] } });
    expect(res).toEqual({
      ok: false,
      causes: [
        {
          reason: "FieldValueInvalid",
          field: "spec.ports[0].port",
          message: "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32",
        },
      ],
      message:
        'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32',
    });
  });

  it("words non-integers, objects, booleans and maps the way Go does", () => {
    const res = decode("Pod", {
      metadata: { name: "p", labels: { app: 1 } },
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80.5 }], readinessProbe: { httpGet: { port: true } } }], nodeName: {} },
    });
    expect(!res.ok && res.causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      "metadata.labels[app]: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
      "spec.nodeName: json: cannot unmarshal object into Go struct field PodSpec.spec.nodeName of type string",
      "spec.containers[0].ports[0].containerPort: json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
      "spec.containers[0].readinessProbe.httpGet.port: json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.readinessProbe.httpGet.port of type intstr.IntOrString",
    ]);
  });

  it("rejects a body that is not an object", () => {
    const res = decode("Namespace", ["x"]);
    expect(!res.ok && res.causes[0]!.message).toBe("json: cannot unmarshal array into Go value of type v1.Namespace");
  });

  it("drops unknown fields and lists them as strict decoding does", () => {
    const res = decode("Service", {
      metadata: { name: "a", selfLinkz: "x" },
      spec: { foo: 1, ports: [{ port: 80, bar: true }], selector: { app: "a" } },
      extra: {},
    });
    if (!res.ok) throw new Error(res.message);
    expect(res.unknownFields).toEqual(["metadata.selfLinkz", "spec.foo", "spec.ports[0].bar", "extra"]);
    expect(res.object).toEqual({ apiVersion: "v1", kind: "Service", metadata: { name: "a" }, spec: { ports: [{ port: 80 }], selector: { app: "a" } } });
    expect(strictDecodingMessage("Service", res.unknownFields.slice(1, 3))).toBe(
      'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo", unknown field "spec.ports[0].bar"',
    );
  });

  it("treats null as unset and keeps free-form managedFields", () => {
    const res = decode("Service", {
      metadata: { name: "a", labels: null, managedFields: [{ manager: "kubectl", fieldsV1: { "f:spec": { "f:ports": {} } } }] },
      spec: { type: null, ports: [{ port: 80 }] },
    });
    if (!res.ok) throw new Error(res.message);
    expect(res.unknownFields).toEqual([]);
    expect(res.object.metadata).toEqual({ name: "a", managedFields: [{ manager: "kubectl", fieldsV1: { "f:spec": { "f:ports": {} } } }] });
    expect((res.object as unknown as { spec: object }).spec).toEqual({ ports: [{ port: 80 }] });
  });

  it("does not mutate its input", () => {
    const raw = { metadata: { name: "a", junk: 1 }, spec: { ports: [{ port: 80 }] } };
    const copy = structuredClone(raw);
    decode("Service", raw);
    expect(raw).toEqual(copy);
  });
});
