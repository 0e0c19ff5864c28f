// --pod-manifests against the real Worker: the folder's Pods are registered for this
// node and follow the folder (edits update, removals delete); Pods someone else
// registered are left alone.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pod } from "../../src/api/types";
import { REGISTERED_BY_ANNOTATION } from "../../src/api/types";
import { ApiClient } from "../../src/agent/api-client";
import { MANIFEST_HASH_ANNOTATION, PodManifestSync, podFromManifest, readManifestFolder } from "../../src/agent/pod-manifests";
import { startLocalWorker, type LocalWorker } from "../e2e/local-worker";

const NODE = "node-m";
let worker: LocalWorker;
let client: ApiClient;
let dir: string;

beforeAll(async () => {
  worker = await startLocalWorker({ readyTimeoutMs: 90_000 });
  const res = await fetch(`${worker.url}/api/v1/nodes/${NODE}/token`, { method: "POST", headers: { authorization: `Bearer ${worker.adminToken}` } });
  client = new ApiClient({ baseUrl: worker.url, token: ((await res.json()) as { status: { token: string } }).status.token });
  dir = mkdtempSync(join(tmpdir(), "svcedge-manifests-"));
}, 120_000);
afterAll(async () => {
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pod = (name: string, ip: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: web${extra}}
spec:
  containers: [{name: c, ports: [{containerPort: 8080}]}]
status: {podIP: ${ip}}
`;

async function nodePods(): Promise<Pod[]> {
  return (await client.list<Pod>(`/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`)).items;
}

describe("reading a manifest folder", () => {
  it("reads multi-document YAML and JSON, and reports what it skips", async () => {
    const d = mkdtempSync(join(tmpdir(), "svcedge-read-"));
    try {
      writeFileSync(join(d, "two.yaml"), `${pod("a", "198.18.0.1")}---\n${pod("b", "198.18.0.2")}---\nkind: Service\nmetadata: {name: s}\n`);
      writeFileSync(
        join(d, "one.json"),
        JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "c", namespace: "other" }, spec: { containers: [] } }),
      );
      writeFileSync(join(d, "dup.yml"), pod("a", "198.18.0.9"));
      writeFileSync(join(d, "elsewhere.yaml"), pod("e", "198.18.0.3").replace("spec:\n", "spec:\n  nodeName: other-node\n"));
      writeFileSync(join(d, "notes.txt"), "ignored");
      const read = await readManifestFolder(d, NODE);
      expect(read.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.spec.nodeName}`).sort()).toEqual([
        `default/a@${NODE}`,
        `default/b@${NODE}`,
        `other/c@${NODE}`,
      ]);
      // Files are read in name order: dup.yml claims default/a first.
      expect(read.errors).toEqual([
        'elsewhere.yaml#0: spec.nodeName "other-node" is not this node (node-m)',
        "two.yaml#0: Pod default/a is defined twice",
        'two.yaml#2: kind "Service" is not Pod',
      ]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("hashes the manifest, not the defaults the server adds", () => {
    const a = podFromManifest({ kind: "Pod", metadata: { name: "x", labels: { a: "1", b: "2" } }, spec: { containers: [] } }, NODE) as Pod;
    const b = podFromManifest({ spec: { containers: [] }, metadata: { labels: { b: "2", a: "1" }, name: "x" }, kind: "Pod" }, NODE) as Pod;
    const c = podFromManifest({ kind: "Pod", metadata: { name: "x", labels: { a: "1" } }, spec: { containers: [] } }, NODE) as Pod;
    expect(a.metadata.annotations![MANIFEST_HASH_ANNOTATION]).toBe(b.metadata.annotations![MANIFEST_HASH_ANNOTATION]);
    expect(a.metadata.annotations![MANIFEST_HASH_ANNOTATION]).not.toBe(c.metadata.annotations![MANIFEST_HASH_ANNOTATION]);
  });
});

describe("keeping Pods in step with the folder", () => {
  it("creates, leaves alone, updates, re-addresses and deletes", async () => {
    // A Pod the admin registered on this node: not ours to delete.
    await fetch(`${worker.url}/api/v1/namespaces/default/pods`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "admins" }, spec: { nodeName: NODE, containers: [{ name: "c" }] } }),
    });
    // The sync reads existing Pods from this list (the agent passes its informer's store).
    let current: Pod[] = await nodePods();
    const sync = new PodManifestSync({ client, dir, nodeName: NODE, pods: () => current });
    writeFileSync(join(dir, "web.yaml"), `${pod("web-1", "198.18.0.1")}---\n${pod("web-2", "198.18.0.2")}`);

    expect(await sync.syncOnce()).toEqual({ created: ["default/web-1", "default/web-2"], updated: [], deleted: [], errors: [] });
    current = await nodePods();
    const web1 = current.find((p) => p.metadata.name === "web-1")!;
    expect(web1.metadata.annotations?.[REGISTERED_BY_ANNOTATION]).toBe(NODE);
    expect(web1.status?.podIP).toBe("198.18.0.1");

    // Nothing changed: nothing written, even though the server added defaults.
    expect(await sync.syncOnce()).toEqual({ created: [], updated: [], deleted: [], errors: [] });

    // A label edit updates the Pod; an address edit goes through /status.
    writeFileSync(join(dir, "web.yaml"), `${pod("web-1", "198.18.0.1", ", tier: front")}---\n${pod("web-2", "198.18.0.22")}`);
    expect((await sync.syncOnce()).updated.sort()).toEqual(["default/web-1", "default/web-2"]);
    current = await nodePods();
    expect(current.find((p) => p.metadata.name === "web-1")!.metadata.labels).toEqual({ app: "web", tier: "front" });
    expect(current.find((p) => p.metadata.name === "web-2")!.status?.podIP).toBe("198.18.0.22");

    // Removing the file deletes our Pods, and only ours.
    unlinkSync(join(dir, "web.yaml"));
    expect(await sync.syncOnce()).toEqual({ created: [], updated: [], deleted: ["default/web-1", "default/web-2"], errors: [] });
    current = await nodePods();
    expect(current.map((p) => p.metadata.name)).toEqual(["admins"]);
  });

  it("follows the folder on its own once started", async () => {
    let current: Pod[] = await nodePods();
    const sync = new PodManifestSync({ client, dir, nodeName: NODE, pods: () => current, pollMs: 200 });
    await sync.start();
    try {
      writeFileSync(join(dir, "late.yaml"), pod("late", "198.18.0.5"));
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !current.some((p) => p.metadata.name === "late")) {
        await new Promise((r) => setTimeout(r, 200));
        current = await nodePods();
      }
      expect(current.map((p) => p.metadata.name)).toContain("late");
    } finally {
      await sync.stop();
    }
  });
});
