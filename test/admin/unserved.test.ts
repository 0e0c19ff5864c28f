// What svcedge does not serve is a 404 whose message says what it does serve (src/admin/unserved.ts).
import { describe, expect, it } from "vitest";
import { call, json } from "./client";

const SERVED = "svcedge serves Services, Pods, EndpointSlices, Nodes, Namespaces and Leases only";

describe("kinds svcedge does not serve", () => {
  it("a Deployment's path answers 404 naming the kinds svcedge serves", async () => {
    for (const path of [
      "/apis/apps/v1/namespaces/default/deployments",
      "/apis/apps/v1/namespaces/default/deployments/web",
      "/api/v1/namespaces/default/configmaps",
      "/api/v2/namespaces/default/services",
    ]) {
      const res = await call(
        path.endsWith("deployments") ? "POST" : "GET",
        path,
        path.endsWith("deployments") ? { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } } : undefined,
      );
      expect(res.status, path).toBe(404);
      expect(res.headers.get("warning"), path).toBe(`299 - "${SERVED}"`);
      expect(await json(res), path).toMatchObject({
        kind: "Status",
        reason: "NotFound",
        message: `the server could not find the requested resource: ${SERVED}`,
      });
    }
  });

  it("/openapi/v2, where kubectl's validation ends for an unknown group-version, says the same", async () => {
    const res = await call("GET", "/openapi/v2", undefined, { accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" });
    expect(res.status).toBe(404);
    expect(res.headers.get("warning")).toBe(`299 - "${SERVED}"`);
    expect((await json(res)).message).toContain(SERVED);
    expect((await call("GET", "/openapi/v2", undefined, { token: null })).status).toBe(401);
  });
});
