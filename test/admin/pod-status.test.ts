// A Pod's phase and Ready condition say what svcedge decided (src/api/pod-status.ts), as
// kubelet's would: `kubectl wait --for=condition=Ready` ends on a Pod that serves.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "./client";

const MERGE = "application/merge-patch+json";
const podOf = (name: string, extra: { status?: Record<string, unknown>; probe?: boolean } = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "app", ...(extra.probe ? { readinessProbe: { httpGet: { port: 8080 } } } : {}) }] },
  ...(extra.status ? { status: extra.status } : {}),
});
const ready = (pod: any) => pod.status.conditions?.find((c: { type: string }) => c.type === "Ready");

describe("Pod status as svcedge decided it", () => {
  it("a Pod without an address (kubectl run) is Pending with no Ready condition; given an address it runs and is Ready", async () => {
    const ns = await freshNamespace();
    const created = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, podOf("bare")));
    expect(created.status.phase).toBe("Pending");
    expect(ready(created)).toBeUndefined();
    const addressed = await json(
      await call("PATCH", `/api/v1/namespaces/${ns}/pods/bare/status`, { status: { podIP: "198.18.0.10" } }, { contentType: MERGE }),
    );
    expect(addressed.status.phase).toBe("Running");
    expect(ready(addressed)).toMatchObject({ status: "True", lastProbeTime: null });
    expect(ready(addressed).lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("a Pod with an address and no readiness probe is Running and Ready from the start", async () => {
    const ns = await freshNamespace();
    const pod = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, podOf("web", { status: { podIP: "198.18.0.11" } })));
    expect(pod.status.phase).toBe("Running");
    expect(ready(pod).status).toBe("True");
  });

  it("a Pod with a readiness probe is not Ready until its prober says so; what the client wrote stands", async () => {
    const ns = await freshNamespace();
    const pod = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, podOf("probed", { probe: true, status: { podIP: "198.18.0.12" } })));
    expect(ready(pod)).toMatchObject({ status: "False", reason: "ContainersNotReady" });
    const conditions = [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }];
    const probed = await json(await call("PATCH", `/api/v1/namespaces/${ns}/pods/probed/status`, { status: { conditions } }, { contentType: MERGE }));
    expect(probed.status.conditions).toEqual(conditions);
    const failed = await json(await call("POST", `/api/v1/namespaces/${ns}/pods`, podOf("done", { status: { podIP: "198.18.0.13", phase: "Succeeded" } })));
    expect(failed.status.phase).toBe("Succeeded");
  });
});
