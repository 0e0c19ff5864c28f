// The real kubectl (v1.32) against the Worker under `wrangler dev`, with default
// flags (validation on). Under REQUIRE_KUBECTL=1 (CI) a missing kubectl fails the
// suite instead of skipping it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseYaml } from "../../src/api/yaml";
import { SEED_MANIFEST } from "../api/seed-manifest";
import { startLocalWorker, type LocalWorker } from "./local-worker";
import { eventually, findKubectl, makeKubectl } from "./kubectl/run-kubectl";
import { startTlsFront, type TlsFront } from "./kubectl/tls-front";

const KUBECTL = findKubectl();
const REQUIRED = process.env.REQUIRE_KUBECTL === "1";
const ROOT = resolve(import.meta.dirname, "../..");

if (!KUBECTL && REQUIRED) {
  it("finds kubectl (REQUIRE_KUBECTL=1)", () => {
    expect.fail("kubectl is not installed, and REQUIRE_KUBECTL=1 requires it (apt-get install kubectl)");
  });
}

describe.skipIf(!KUBECTL)("kubectl against the admin API", () => {
  let worker: LocalWorker;
  let front: TlsFront;
  let dir: string;
  let kubectl: ReturnType<typeof makeKubectl>;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    // Two objects per registry RPC: every list kubectl makes here crosses pages (src/admin/list-response.ts).
    worker = await startLocalWorker({ vars: { LIST_RPC_PAGE_ITEMS: "2" } });
    front = await startTlsFront(worker.url);
    dir = mkdtempSync(join(tmpdir(), "svcedge-kubectl-"));
    // The kubeconfig comes from `npm run kubeconfig`, which pins the server's certificate (async: the TLS front runs in this process).
    const { stdout: config } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, "scripts/kubeconfig.mjs"), "--server", front.url, "--token", worker.adminToken],
      { cwd: ROOT, encoding: "utf8", timeout: 15_000 },
    );
    expect(config).toContain(`certificate-authority-data: ${Buffer.from(front.certificatePem).toString("base64")}`);
    kubectl = makeKubectl(KUBECTL!, file("kubeconfig", config));
  });
  afterAll(async () => {
    await front?.close();
    await worker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ok = async (...args: string[]) => {
    const res = await kubectl.run(args);
    expect(res.stderr, `kubectl ${args.join(" ")}`).not.toMatch(/error|Unhandled/i);
    expect(res.code, `kubectl ${args.join(" ")}: ${res.stderr}`).toBe(0);
    return res.stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await ok(...args, "-o", "json"));

  it("applies the seed manifest: created, then unchanged", async () => {
    const seed = file("seed.yaml", SEED_MANIFEST);
    expect(await ok("apply", "-f", seed)).toBe("service/nginx created\n");
    expect(await ok("apply", "-f", seed)).toBe("service/nginx unchanged\n");
    const svc = await json("get", "svc", "nginx");
    expect(svc.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toContain('"name":"nginx"');
    expect(svc.spec.ports).toEqual([
      { name: "http", protocol: "TCP", port: 8080, targetPort: 80 },
      { name: "https", protocol: "TCP", port: 8443, targetPort: 443 },
    ]);
  });

  it("gets Services as the apiserver prints them: default, -o wide, -o yaml, -A", async () => {
    const svc = await json("get", "svc", "nginx");
    const table = await ok("get", "svc");
    expect(table.split("\n")[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    expect(table).toMatch(new RegExp(`^nginx\\s+ClusterIP\\s+${svc.spec.clusterIP.replace(/\./g, "\\.")}\\s+<none>\\s+8080/TCP,8443/TCP\\s+\\d+s$`, "m"));
    const wide = await ok("get", "svc", "-o", "wide");
    expect(wide.split("\n")[0]).toMatch(/AGE\s+SELECTOR$/);
    expect(wide).toMatch(/^nginx\s.*\s+app=nginx$/m);
    const yaml = await ok("get", "svc", "nginx", "-o", "yaml");
    expect(yaml).toContain(`clusterIP: ${svc.spec.clusterIP}`);
    expect(yaml).toMatch(/- name: https\n\s+port: 8443\n\s+protocol: TCP\n\s+targetPort: 443/);
    const all = await ok("get", "svc", "-A");
    expect(all.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME\s+TYPE/);
    expect(all).toMatch(/^default\s+nginx\s+ClusterIP/m);
  });

  it("lists past several registry pages: chunked (limit=500, served 2 at a time), unchunked (streamed), JSON, YAML", async () => {
    await ok("create", "namespace", "paged");
    const names = ["svc-1", "svc-2", "svc-3", "svc-4", "svc-5"];
    const manifests = names.map((n) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${n}\nspec:\n  ports: [{port: 80}]\n`);
    await ok("apply", "-n", "paged", "-f", file("paged.yaml", manifests.join("---\n")));
    const rowNames = (table: string) =>
      table
        .trim()
        .split("\n")
        .slice(1)
        .map((line) => line.split(/\s+/)[0]);
    expect(rowNames(await ok("get", "svc", "-n", "paged"))).toEqual(names);
    expect(rowNames(await ok("get", "svc", "-n", "paged", "--chunk-size=0"))).toEqual(names);
    expect((await json("get", "svc", "-n", "paged", "--chunk-size=0")).items.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(names);
    const raw = JSON.parse(await ok("get", "--raw", "/api/v1/namespaces/paged/services"));
    expect(raw.items.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(names);
    expect(Object.keys(raw.metadata)).toEqual(["resourceVersion"]);
    const first = JSON.parse(await ok("get", "--raw", "/api/v1/namespaces/paged/services?limit=500"));
    expect(first.items).toHaveLength(2);
    expect(first.metadata.remainingItemCount).toBe(3);
    const res = await fetch(`${worker.url}/api/v1/namespaces/paged/services`, {
      headers: { authorization: `Bearer ${worker.adminToken}`, accept: "application/yaml" },
    });
    expect(res.headers.get("content-type")).toBe("application/yaml");
    const list = parseYaml(await res.text()) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((s) => s.metadata.name)).toEqual(names);
  });

  it("describes a Service", async () => {
    const out = await ok("describe", "svc", "nginx");
    expect(out).toMatch(/^Name:\s+nginx$/m);
    expect(out).toMatch(/^Namespace:\s+default$/m);
    expect(out).toMatch(/^Selector:\s+app=nginx$/m);
    expect(out).toMatch(/^Port:\s+http\s+8080\/TCP$/m);
    expect(out).toMatch(/^TargetPort:\s+443\/TCP$/m);
    expect(out).toMatch(/^Events:\s+<none>$/m);
  });

  it("explains fields from /openapi/v3: structs by their Go type, IntOrString, upstream's descriptions, metadata.deletionGracePeriodSeconds", async () => {
    const ports = await ok("explain", "service.spec.ports");
    expect(ports).toMatch(/^FIELD: ports <\[\]ServicePort>$/m);
    expect(ports).toMatch(/^\s+The list of ports that are exposed by this service/m);
    expect(ports).toMatch(/^\s+port\s+<integer> -required-$/m);
    expect(ports).toMatch(/^\s+targetPort\s+<IntOrString>$/m);
    const meta = await ok("explain", "pod.metadata.deletionGracePeriodSeconds");
    expect(meta).toMatch(/^FIELD: deletionGracePeriodSeconds <integer>$/m);
  });

  it("patches with all three patch types; strategic merges ports on their key", async () => {
    expect(await ok("patch", "svc", "nginx", "-p", '{"spec":{"ports":[{"port":8443,"targetPort":9443}]}}')).toBe("service/nginx patched\n");
    let svc = await json("get", "svc", "nginx");
    expect(svc.spec.ports).toEqual([
      { name: "http", protocol: "TCP", port: 8080, targetPort: 80 },
      { name: "https", protocol: "TCP", port: 8443, targetPort: 9443 },
    ]);
    await ok("patch", "svc", "nginx", "--type", "merge", "-p", '{"metadata":{"labels":{"tier":"web"}}}');
    await ok("patch", "svc", "nginx", "--type", "json", "-p", '[{"op":"replace","path":"/spec/ports/1/targetPort","value":443}]');
    svc = await json("get", "svc", "nginx");
    expect(svc.metadata.labels).toEqual({ tier: "web" });
    expect(svc.spec.ports[1].targetPort).toBe(443);
    const del = await ok("patch", "svc", "nginx", "-p", '{"spec":{"ports":[{"$patch":"delete","port":8443}]}}');
    expect(del).toBe("service/nginx patched\n");
    expect((await json("get", "svc", "nginx")).spec.ports.map((p: { port: number }) => p.port)).toEqual([8080]);
  });

  it("edits through KUBE_EDITOR", async () => {
    const editor = file("editor.sh", "#!/bin/sh\nsed -i 's/sessionAffinity: None/sessionAffinity: ClientIP/' \"$1\"\n");
    chmodSync(editor, 0o755);
    const res = await kubectl.run(["edit", "svc", "nginx"], { env: { KUBE_EDITOR: editor } });
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe("service/nginx edited\n");
    const svc = await json("get", "svc", "nginx");
    expect(svc.spec.sessionAffinity).toBe("ClientIP");
    expect(svc.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBe(10800);
  });

  it("deletes what a file names, and waits for it to be gone", async () => {
    const seed = file("seed.yaml", SEED_MANIFEST);
    expect(await ok("delete", "-f", seed)).toBe('service "nginx" deleted\n');
    const res = await kubectl.run(["get", "svc", "nginx"]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('Error from server (NotFound): services "nginx" not found');
  });

  it("applies server-side: upsert, conflict with another manager, force", async () => {
    const manifest = file("api.yaml", SEED_MANIFEST.replace("name: nginx", "name: api"));
    expect(await ok("apply", "--server-side", "-f", manifest)).toBe("service/api serverside-applied\n");
    expect(await ok("apply", "--server-side", "-f", manifest)).toBe("service/api serverside-applied\n");
    const changed = file("api-other.yaml", SEED_MANIFEST.replace("name: nginx", "name: api").replace("targetPort: 443", "targetPort: 4443"));
    const conflict = await kubectl.run(["apply", "--server-side", "--field-manager=other", "-f", changed]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl" using v1: .spec.ports[port=8443,protocol="TCP"].targetPort');
    expect(await ok("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", changed)).toBe("service/api serverside-applied\n");
    const svc = await json("get", "svc", "api", "--show-managed-fields");
    expect(svc.spec.ports[1].targetPort).toBe(4443);
    expect(svc.metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`).sort()).toEqual([
      "kubectl/Apply",
      "other/Apply",
    ]);
  });

  it("lists EndpointSlices and streams the change when a pod becomes ready", async () => {
    await ok("create", "service", "clusterip", "shop", "--tcp=80:8080");
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "shop-1", labels: { app: "shop" } },
      spec: { nodeName: "node-1", containers: [{ name: "shop", ports: [{ containerPort: 8080 }] }] },
      status: { phase: "Running", podIP: "198.18.0.10", conditions: [{ type: "Ready", status: "False" }] },
    };
    await ok("create", "-f", file("pod.json", JSON.stringify(pod)));
    const selector = "-l=kubernetes.io/service-name=shop";
    const table = await ok("get", "endpointslices", selector);
    expect(table.split("\n")[0]).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
    expect(table).toMatch(/^shop-\S+\s+IPv4\s+8080\s+198\.18\.0\.10\s+\d+s$/m);
    const ready = async () => (await json("get", "endpointslices", selector)).items[0]?.endpoints?.[0]?.conditions?.ready;
    expect(await ready()).toBe(false);
    expect(await ok("get", "pods")).toMatch(/^shop-1\s+0\/1\s+Running\s+0\s+\d+s$/m);

    const watch = kubectl.start(["get", "endpointslices", selector, "-w", "--output-watch-events"]);
    try {
      expect(await eventually(async () => /ADDED\s+shop-/.test(watch.output()))).toBe(true);
      await ok("patch", "pod", "shop-1", "--subresource=status", "--type=merge", "-p", '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}');
      expect(await eventually(async () => /MODIFIED\s+shop-\S+\s+IPv4\s+8080\s+198\.18\.0\.10/.test(watch.output()))).toBe(true);
    } finally {
      watch.stop();
    }
    expect(await ready()).toBe(true);
    expect(await ok("get", "pods", "-o", "wide")).toMatch(/^shop-1\s+1\/1\s+Running\s+0\s+\d+s\s+198\.18\.0\.10\s+node-1\s/m);
  });

  it("creates and deletes a namespace", async () => {
    expect(await ok("create", "ns", "team-a")).toBe("namespace/team-a created\n");
    expect(await ok("get", "ns", "team-a")).toMatch(/^team-a\s+Active\s+\d+s$/m);
    await ok("create", "service", "nodeport", "np", "--tcp=81:8081", "-n", "team-a");
    expect(await ok("get", "svc", "-n", "team-a")).toMatch(/^np\s+NodePort\s+\S+\s+<none>\s+81:3\d{4}\/TCP/m);
    expect(await ok("delete", "ns", "team-a")).toBe('namespace "team-a" deleted\n');
    const gone = await kubectl.run(["get", "ns", "team-a"]);
    expect(gone.stderr).toContain('namespaces "team-a" not found');
  });

  it("rejects a bad manifest with kubectl's Invalid message, and unknown fields with validation on", async () => {
    const bad = file("bad.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 80\n    nodePort: 30080\n");
    const res = await kubectl.run(["apply", "-f", bad]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("The Service \"x\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
    const unknown = file("unknown.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  bogus: 1\n  ports:\n  - port: 80\n");
    const strict = await kubectl.run(["apply", "-f", unknown]);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('unknown field "spec.bogus"');
    const warned = await kubectl.run(["apply", "--validate=warn", "-f", unknown]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('Warning: unknown field "spec.bogus"');
    expect(warned.stdout).toBe("service/extra created\n");
  });

  it("answers a wrong token with kubectl's Unauthorized message", async () => {
    const res = await kubectl.run(["get", "svc", "--token", "not-the-token"]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("error: You must be logged in to the server (Unauthorized)");
  });
});
