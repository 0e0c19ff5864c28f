// The manifest from reference/services-seed.md, exactly as written, must pass
// decode → defaults → IP families → validation and come out with the apiserver's defaults.
import { describe, expect, it } from "vitest";
import { decode } from "../../src/api/decode";
import { setDefaults } from "../../src/api/defaults";
import { initIPFamilyFields } from "../../src/api/service-ip-families";
import type { Service } from "../../src/api/types";
import { validateCreate } from "../../src/api/validate";
import { parseYaml } from "../../src/api/yaml";
import { SEED_MANIFEST } from "./seed-manifest";

describe("services-seed manifest", () => {
  it("decodes with no unknown fields, defaults like the apiserver and validates cleanly", () => {
    const res = decode("Service", parseYaml(SEED_MANIFEST));
    if (!res.ok) throw new Error(res.message);
    expect(res.unknownFields).toEqual([]);
    const svc = res.object;
    svc.metadata.namespace = "default";
    setDefaults(svc);
    // The registry then gives it the families of a single-stack IPv4 cluster (wrangler.toml's SERVICE_CIDR).
    expect(initIPFamilyFields(svc as Service, undefined, ["IPv4"])).toEqual([]);
    expect(validateCreate(svc)).toEqual([]);
    expect(svc).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "nginx", namespace: "default" },
      spec: {
        type: "ClusterIP",
        selector: { app: "nginx" },
        ports: [
          { name: "http", protocol: "TCP", port: 8080, targetPort: 80 },
          { name: "https", protocol: "TCP", port: 8443, targetPort: 443 },
        ],
        sessionAffinity: "None",
        internalTrafficPolicy: "Cluster",
        ipFamilyPolicy: "SingleStack",
        ipFamilies: ["IPv4"],
      },
    });
  });
});
