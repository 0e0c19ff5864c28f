// Drives the admin API through the Worker's real fetch handler (workerd, local KV and Durable Object storage).
import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { clearRouteCache } from "../../src/gateway/route-cache";
import type { RegistryStats } from "../../src/registry/registry";

export const ADMIN_TOKEN = "test-admin-token";

export interface CallOptions {
  token?: string | null;
  contentType?: string;
  accept?: string;
  raw?: string;
}

export async function call(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers();
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  if (opts.accept) headers.set("accept", opts.accept);
  let payload: string | undefined = opts.raw;
  if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers.set("content-type", opts.contentType ?? "application/json");
  return exports.default.fetch(new Request(`http://localhost${path}`, { method, headers, body: payload }));
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("cluster"));

let counter = 0;
/** A fresh namespace per test, so tests never see each other's objects. */
export async function freshNamespace(prefix = "t"): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const res = await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  if (res.status !== 201) throw new Error(`namespace ${name}: ${res.status} ${await res.text()}`);
  return name;
}

export function service(name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
  return { apiVersion: "v1", kind: "Service", metadata: { name, ...metadata }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

export function pod(
  name: string,
  labels: Record<string, string>,
  ip: string,
  extra: { nodeName?: string; ready?: boolean; ports?: { name?: string; containerPort: number }[]; annotations?: Record<string, string> } = {},
) {
  const status: Record<string, unknown> = { phase: "Running", podIP: ip };
  if (extra.ready !== undefined) status.conditions = [{ type: "Ready", status: extra.ready ? "True" : "False" }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      containers: [{ name: "app", ports: extra.ports ?? [{ name: "http", containerPort: 8080 }] }],
    },
    status,
  };
}

/** Reads newline-delimited watch events from a streaming response until `count` arrived or the deadline passed. */
export async function readEvents(res: Response, count: number, timeoutMs = 5000): Promise<{ type: string; object: any }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: { type: string; object: any }[] = [];
  let buf = "";
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    // Each read's timer is cleared: many watchers reading many chunks would exceed workerd's 10,000 active timeouts.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([reader.read(), new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(1, deadline - Date.now()))))]);
    clearTimeout(timer);
    if (next === null || next.done) break;
    buf += decoder.decode(next.value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      // A blank line is the registry's probe of an idle watch (src/registry/watch-hub.ts), not an event.
      if (line.trim()) events.push(JSON.parse(line));
    }
  }
  await reader.cancel().catch(() => {});
  return events;
}

/** The registry's time between KV flushes in these tests (vitest.config.ts; production: a second). */
export const KV_WRITE_INTERVAL_MS = Number(env.KV_WRITE_INTERVAL_MS);

/** Runs the registry's alarm until no KV write is pending (a key is written at most once per flush interval). */
export async function flushKv(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { kvPending, endpointsQueued } = await registry().stats();
    if (kvPending === 0 && endpointsQueued === 0) return;
    await new Promise((r) => setTimeout(r, KV_WRITE_INTERVAL_MS));
    await runDurableObjectAlarm(registry());
  }
  throw new Error("KV replica did not drain");
}

/** flushKv, then the gateway of this isolate forgets what it cached: it reads KV as a fresh isolate would, with what the flush wrote. */
export async function flushKvToEdge(): Promise<void> {
  await flushKv();
  clearRouteCache();
}

/**
 * The registry's figures once the endpoints controller has synced what earlier Pod writes
 * marked (it does so ENDPOINTS_SYNC_DELAY_MS after them): a check that a request wrote
 * nothing must not count that sync as the request's write.
 */
export async function settledStats(): Promise<RegistryStats> {
  for (let i = 0; i < 500; i++) {
    const stats = await registry().stats();
    if (stats.endpointsQueued === 0) return stats;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the endpoints controller did not sync what Pod writes marked");
}

/** Runs a request that must be rejected, and checks that the registry wrote nothing at all. */
export async function expectRejectedWithoutWrites(request: () => Promise<Response>, code: number): Promise<any> {
  const before = await settledStats();
  const res = await request();
  const body = await res.json();
  if (res.status !== code) throw new Error(`expected ${code}, got ${res.status}: ${JSON.stringify(body)}`);
  const after = await registry().stats();
  if (after.resourceVersion !== before.resourceVersion || JSON.stringify(after.objects) !== JSON.stringify(before.objects))
    throw new Error(`a rejected request (${code}) wrote: resourceVersion ${before.resourceVersion} -> ${after.resourceVersion}`);
  return body;
}
