// Static Pods from a folder (kubelet's --pod-manifest-path, for workloads svcedge does not
// run): every Pod in the folder's YAML/JSON files is registered for this node and kept in
// step with the files: created, updated when its manifest changes, deleted when it leaves.
// A hash of the manifest in an annotation tells "changed" apart from server defaulting.
import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Pod } from "../api/types";
import { REGISTERED_BY_ANNOTATION } from "../api/types";
import { parseYamlDocuments } from "../api/yaml";
import { isAlreadyExists, isNotFound, type ApiClient } from "./api-client";
import { silentLogger, type Logger } from "./log";

export const MANIFEST_HASH_ANNOTATION = "svcedge.io/manifest-hash";
/** fs.watch misses events on some filesystems; a poll bounds how late a change is seen. */
export const MANIFEST_POLL_MS = 2000;
/** Editors write files in several steps; wait for them to settle. */
const WATCH_DEBOUNCE_MS = 100;
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface ManifestRead {
  pods: Pod[];
  /** One line per file or document that was skipped. */
  errors: string[];
}

/** Keys sorted at every level, so equal manifests hash equally. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

export const manifestHash = (doc: unknown): string =>
  createHash("sha256")
    .update(JSON.stringify(canonical(doc)))
    .digest("hex")
    .slice(0, 16);

/** The Pod to register for one manifest document, or a reason it cannot be. */
export function podFromManifest(doc: unknown, nodeName: string): Pod | string {
  const d = doc as Partial<Pod> | null;
  if (!d || typeof d !== "object") return "not an object";
  if (d.kind !== "Pod") return `kind ${JSON.stringify(d.kind)} is not Pod`;
  if (!d.metadata?.name) return "metadata.name is required";
  if (!d.spec || !Array.isArray(d.spec.containers)) return "spec.containers is required";
  if (d.spec.nodeName && d.spec.nodeName !== nodeName) return `spec.nodeName ${JSON.stringify(d.spec.nodeName)} is not this node (${nodeName})`;
  const pod = structuredClone(d) as Pod;
  pod.apiVersion = "v1";
  pod.metadata.namespace ??= "default";
  pod.metadata.annotations = { ...pod.metadata.annotations, [MANIFEST_HASH_ANNOTATION]: manifestHash(d) };
  pod.spec.nodeName = nodeName;
  return pod;
}

export async function readManifestFolder(dir: string, nodeName: string): Promise<ManifestRead> {
  const out: ManifestRead = { pods: [], errors: [] };
  const files = (await readdir(dir)).filter((f) => MANIFEST_FILE.test(f) && !f.startsWith(".")).sort();
  const seen = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(join(dir, file), "utf8");
    } catch (e) {
      // Deleted between readdir and read: it is gone, which the next pass sees.
      out.errors.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      continue;
    }
    parseYamlDocuments(text).forEach((doc, i) => {
      if (!doc.ok) return out.errors.push(`${file}#${i}: ${doc.error}`);
      const value = doc.value;
      if (value === null || value === undefined) return;
      const pod = podFromManifest(value, nodeName);
      if (typeof pod === "string") return out.errors.push(`${file}#${i}: ${pod}`);
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (seen.has(key)) return out.errors.push(`${file}#${i}: Pod ${key} is defined twice`);
      seen.add(key);
      out.pods.push(pod);
    });
  }
  return out;
}

export interface PodManifestSyncOptions {
  client: ApiClient;
  dir: string;
  nodeName: string;
  /** Pods bound to this node, as the informer sees them. */
  pods: () => Iterable<Pod>;
  log?: Logger;
  pollMs?: number;
}

export interface ManifestSyncResult {
  created: string[];
  updated: string[];
  deleted: string[];
  errors: string[];
}

const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
const podPath = (p: Pod): string => `${podsPath(p.metadata.namespace ?? "default")}/${p.metadata.name}`;
const keyOf = (p: Pod): string => `${p.metadata.namespace ?? "default"}/${p.metadata.name}`;
/** Whether the stored Pod has the address the manifest gives (the server fills podIPs from podIP). */
const hasWantedAddress = (current: Pod, wanted: Pod): boolean =>
  (current.status?.podIP ?? "") === (wanted.status?.podIP ?? "") &&
  (wanted.status?.podIPs === undefined || JSON.stringify(current.status?.podIPs ?? []) === JSON.stringify(wanted.status.podIPs));

export class PodManifestSync {
  private readonly opts: PodManifestSyncOptions;
  private readonly log: Logger;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watcher: FSWatcher | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;
  private stopped = false;

  constructor(opts: PodManifestSyncOptions) {
    this.opts = opts;
    this.log = (opts.log ?? silentLogger).with({ component: "pod-manifests", dir: opts.dir });
  }

  /** Syncs once (rejecting when the folder cannot be read), then follows the folder. */
  async start(): Promise<ManifestSyncResult> {
    const first = await this.syncOnce();
    try {
      this.watcher = watch(this.opts.dir, () => this.trigger(WATCH_DEBOUNCE_MS));
      this.watcher.on("error", () => {});
    } catch {
      // Polling alone still keeps the Pods in step.
    }
    this.trigger(this.opts.pollMs ?? MANIFEST_POLL_MS);
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    await this.running;
  }

  private trigger(ms: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.syncOnce()
        .catch((e) => this.log.warn("manifest sync failed", { error: e }))
        .finally(() => {
          this.running = undefined;
          const soon = this.again;
          this.again = false;
          this.trigger(soon ? WATCH_DEBOUNCE_MS : (this.opts.pollMs ?? MANIFEST_POLL_MS));
        });
    }, ms);
  }

  /** One reconciliation of the folder against the Pods this node registered. */
  async syncOnce(): Promise<ManifestSyncResult> {
    const { client, nodeName } = this.opts;
    const read = await readManifestFolder(this.opts.dir, nodeName);
    const result: ManifestSyncResult = { created: [], updated: [], deleted: [], errors: [...read.errors] };
    for (const err of read.errors) this.log.warn("manifest skipped", { error: err });
    const existing = new Map<string, Pod>();
    for (const p of this.opts.pods()) if (p.metadata.annotations?.[REGISTERED_BY_ANNOTATION] === nodeName) existing.set(keyOf(p), p);
    const wanted = new Set<string>();
    for (const pod of read.pods) {
      const key = keyOf(pod);
      wanted.add(key);
      try {
        let current = existing.get(key);
        if (!current) {
          try {
            await client.create(podsPath(pod.metadata.namespace!), pod);
            result.created.push(key);
            continue;
          } catch (e) {
            // Our own create the informer has not shown yet, or a Pod someone else owns.
            if (!isAlreadyExists(e)) throw e;
            current = await client.get<Pod>(podPath(pod));
            if (current.metadata.annotations?.[REGISTERED_BY_ANNOTATION] !== nodeName) throw new Error(`Pod ${key} exists and was not registered by this node`);
          }
        }
        if (await this.update(current, pod)) result.updated.push(key);
      } catch (e) {
        result.errors.push(`${key}: ${(e as Error).message}`);
        this.log.warn("could not register pod", { pod: key, error: e });
      }
    }
    for (const [key, pod] of existing) {
      if (wanted.has(key)) continue;
      try {
        await client.delete(podPath(pod));
        result.deleted.push(key);
      } catch (e) {
        if (isNotFound(e)) continue;
        result.errors.push(`${key}: ${(e as Error).message}`);
        this.log.warn("could not delete pod", { pod: key, error: e });
      }
    }
    if (result.created.length + result.updated.length + result.deleted.length > 0)
      this.log.info("pods in step with manifests", { created: result.created, updated: result.updated, deleted: result.deleted });
    return result;
  }

  /** Brings one registered Pod in line with its manifest; true when it wrote anything. */
  private async update(current: Pod, wanted: Pod): Promise<boolean> {
    const client = this.opts.client;
    let wrote = false;
    if (current.metadata.annotations?.[MANIFEST_HASH_ANNOTATION] !== wanted.metadata.annotations?.[MANIFEST_HASH_ANNOTATION]) {
      const next: Pod = {
        ...wanted,
        metadata: {
          ...wanted.metadata,
          resourceVersion: current.metadata.resourceVersion!,
          annotations: { ...wanted.metadata.annotations, [REGISTERED_BY_ANNOTATION]: this.opts.nodeName },
        },
      };
      delete next.status;
      current = await client.update<Pod>(podPath(wanted), next);
      wrote = true;
    }
    // A Pod's update keeps the stored status; its address goes through /status.
    if (wanted.status && !hasWantedAddress(current, wanted)) {
      const status: Record<string, unknown> = {
        podIP: wanted.status.podIP ?? null,
        podIPs: wanted.status.podIPs ?? (wanted.status.podIP ? [{ ip: wanted.status.podIP }] : null),
      };
      await client.patch<Pod>(`${podPath(wanted)}/status`, { status });
      wrote = true;
    }
    return wrote;
  }
}
