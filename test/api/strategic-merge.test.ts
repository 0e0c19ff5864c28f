import { describe, expect, it } from "vitest";
import { applyStrategicMergePatch } from "../../src/api/strategic-merge";

const svc = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", labels: { app: "web", tier: "front" }, finalizers: ["a.example/x", "b.example/y"] },
  spec: {
    selector: { app: "web" },
    externalIPs: ["198.18.0.1", "198.18.0.2"],
    ports: [
      { name: "http", port: 80, targetPort: 8080, protocol: "TCP" },
      { name: "https", port: 443, targetPort: 8443, protocol: "TCP" },
    ],
  },
};

function apply(kind: "Service" | "Pod", target: unknown, patch: unknown): unknown {
  const res = applyStrategicMergePatch(kind, target, patch);
  if (!res.ok) throw new Error(res.message);
  return res.value;
}

describe("strategic merge patch", () => {
  it("merges Service ports on their port number and keeps the others", () => {
    const out = apply("Service", svc, { spec: { ports: [{ port: 443, targetPort: 9443 }, { name: "metrics", port: 9090 }] } }) as typeof svc;
    expect(out.spec.ports).toEqual([
      { name: "http", port: 80, targetPort: 8080, protocol: "TCP" },
      { name: "https", port: 443, targetPort: 9443, protocol: "TCP" },
      { name: "metrics", port: 9090 },
    ]);
    expect(svc.spec.ports[1]!.targetPort).toBe(8443); // input untouched
  });

  it("deletes a list element with $patch: delete", () => {
    const out = apply("Service", svc, { spec: { ports: [{ port: 80, $patch: "delete" }] } }) as typeof svc;
    expect(out.spec.ports.map((p) => p.port)).toEqual([443]);
  });

  it("replaces a list with a $patch: replace element", () => {
    const out = apply("Service", svc, { spec: { ports: [{ $patch: "replace" }, { port: 53, protocol: "UDP" }] } }) as typeof svc;
    expect(out.spec.ports).toEqual([{ port: 53, protocol: "UDP" }]);
  });

  it("replaces a map with $patch: replace", () => {
    const out = apply("Service", svc, { spec: { selector: { $patch: "replace", app: "api" } } }) as typeof svc;
    expect(out.spec.selector).toEqual({ app: "api" });
  });

  it("orders the merged list by $setElementOrder", () => {
    const out = apply("Service", svc, {
      spec: { "$setElementOrder/ports": [{ port: 443 }, { port: 8080 }, { port: 80 }], ports: [{ name: "alt", port: 8080 }] },
    }) as typeof svc;
    expect(out.spec.ports.map((p) => p.port)).toEqual([443, 8080, 80]);
  });

  it("replaces lists without a patch strategy and merges maps, null deleting a key", () => {
    const out = apply("Service", svc, { metadata: { labels: { tier: null, env: "prod" } }, spec: { externalIPs: ["198.18.0.9"] } }) as typeof svc;
    expect(out.metadata.labels).toEqual({ app: "web", env: "prod" });
    expect(out.spec.externalIPs).toEqual(["198.18.0.9"]);
  });

  it("merges primitive lists with a merge strategy and removes with $deleteFromPrimitiveList", () => {
    const out = apply("Service", svc, { metadata: { finalizers: ["c.example/z", "a.example/x"], "$deleteFromPrimitiveList/finalizers": ["b.example/y"] } }) as typeof svc;
    expect(out.metadata.finalizers).toEqual(["a.example/x", "c.example/z"]);
  });

  it("drops the keys $retainKeys does not list", () => {
    const out = apply("Service", svc, { spec: { $retainKeys: ["ports", "type"], type: "NodePort" } }) as { spec: Record<string, unknown> };
    expect(Object.keys(out.spec).sort()).toEqual(["ports", "type"]);
  });

  it("merges Pod containers on name and their ports on containerPort", () => {
    const pod = {
      kind: "Pod",
      spec: { containers: [{ name: "web", image: "web:1", ports: [{ containerPort: 80, name: "http" }] }, { name: "sidecar", image: "s:1" }] },
    };
    const out = apply("Pod", pod, { spec: { containers: [{ name: "web", image: "web:2", ports: [{ containerPort: 9090, name: "metrics" }] }] } });
    expect(out).toEqual({
      kind: "Pod",
      spec: {
        containers: [
          { name: "web", image: "web:2", ports: [{ containerPort: 80, name: "http" }, { containerPort: 9090, name: "metrics" }] },
          { name: "sidecar", image: "s:1" },
        ],
      },
    });
  });

  it("reports unknown patch types and elements without a merge key", () => {
    expect(applyStrategicMergePatch("Service", svc, { spec: { $patch: "explode" } })).toEqual({
      ok: false,
      message: 'unknown patch type: explode in map: {"$patch":"explode"}',
    });
    expect(applyStrategicMergePatch("Service", svc, { spec: { ports: [{ name: "x" }] } })).toEqual({
      ok: false,
      message: 'map: {"name":"x"} does not contain declared merge key: port',
    });
  });
});
