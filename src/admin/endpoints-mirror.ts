// core/v1 Endpoints, read-only, mirrored from EndpointSlices when they are read: many
// tools still read Endpoints (Prometheus' Kubernetes discovery, `kubectl get endpoints`).
// The Endpoints of a Service gather the IP slices labelled with its name
// (kubernetes.io/service-name), as the endpoints controller would have written them:
// ready endpoints in `addresses`, not-ready ones in `notReadyAddresses`, terminating
// ones left out, one subset per port list. FQDN slices (Pods known by URL) have no place
// in Endpoints, whose addresses are IPs. Nothing is stored: get and list read the slices,
// and a watch rewrites the slices' watch, event by event, from a snapshot of the slices
// at the resourceVersion it resumes from.
import { contentHash } from "../api/content-hash";
import { parseFieldSelector, type FieldSelector } from "../api/fields";
import { matchesLabels, parseLabelSelector, type LabelSelector } from "../api/labels";
import { badRequest, methodNotAllowed, notFound } from "../api/status";
import {
  SERVICE_NAME_LABEL,
  type EndpointAddress,
  type EndpointSlice,
  type Endpoints,
  type EndpointSubset,
  type KubeObject,
  type List,
  type Status,
  type WatchEvent,
} from "../api/types";
import type { Env } from "../env";
import type { Caller } from "../registry/authorize";
import { continueTokenAt, type ListOptions } from "../registry/list-filter";
import type { ResourceRef, Result, WatchOptions } from "../registry/registry";
import { registryStub } from "./auth";
import { objectResponse, statusResponse, watchResponse } from "./respond";
import { listToTable, toTable, type IncludeObject } from "./tables";
import { mapWatchLines, tableWatchStream } from "./watch-tables";
import { configOf } from "../config";

type Slices = Map<string, EndpointSlice>;

const serviceOf = (slice: KubeObject): string | undefined => slice.metadata.labels?.[SERVICE_NAME_LABEL];
const rvOf = (o: KubeObject): number => Number(o.metadata.resourceVersion ?? 0);

/** A stable uid per Service (the mirror is never stored, so it cannot be random). */
function mirroredUid(seed: string): string {
  const hex = [1, 2, 3].map((i) => contentHash(`${i}:endpoints/${seed}`).toString(16).padStart(14, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The Endpoints of Service `name` from its slices; undefined when it has none. */
export function endpointsOf(namespace: string, name: string, slices: Iterable<EndpointSlice>): Endpoints | undefined {
  const subsets = new Map<string, Required<Pick<EndpointSubset, "addresses" | "notReadyAddresses">> & { ports: NonNullable<EndpointSubset["ports"]> }>();
  let rv = 0;
  let created: string | undefined;
  let owner: string | undefined;
  let any = false;
  for (const slice of slices) {
    any = true;
    rv = Math.max(rv, rvOf(slice));
    const ts = slice.metadata.creationTimestamp;
    if (ts && (!created || ts < created)) created = ts;
    owner ??= slice.metadata.ownerReferences?.find((r) => r.kind === "Service")?.uid;
    if (slice.addressType === "FQDN") continue;
    const ports = (slice.ports ?? [])
      .filter((p) => typeof p.port === "number")
      .map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port!,
        protocol: p.protocol ?? "TCP",
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      }))
      .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || a.port - b.port);
    const key = JSON.stringify(ports);
    let subset = subsets.get(key);
    if (!subset) subsets.set(key, (subset = { addresses: [], notReadyAddresses: [], ports }));
    for (const ep of slice.endpoints) {
      const ready = ep.conditions?.ready !== false;
      if (!ready && ep.conditions?.terminating) continue;
      for (const ip of ep.addresses) {
        const address: EndpointAddress = { ip };
        if (ep.hostname) address.hostname = ep.hostname;
        if (ep.nodeName) address.nodeName = ep.nodeName;
        if (ep.targetRef) address.targetRef = { ...ep.targetRef };
        (ready ? subset.addresses : subset.notReadyAddresses).push(address);
      }
    }
  }
  if (!any) return undefined;
  const byIp = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip) || (a.targetRef?.uid ?? "").localeCompare(b.targetRef?.uid ?? "");
  const out: EndpointSubset[] = [];
  for (const s of subsets.values()) {
    if (s.addresses.length === 0 && s.notReadyAddresses.length === 0) continue;
    const subset: EndpointSubset = {};
    if (s.addresses.length) subset.addresses = s.addresses.sort(byIp);
    if (s.notReadyAddresses.length) subset.notReadyAddresses = s.notReadyAddresses.sort(byIp);
    if (s.ports.length) subset.ports = s.ports;
    out.push(subset);
  }
  const metadata: KubeObject["metadata"] = { name, namespace, uid: mirroredUid(owner ?? `${namespace}/${name}`), resourceVersion: String(rv) };
  if (created) metadata.creationTimestamp = created;
  return { apiVersion: "v1", kind: "Endpoints", metadata, ...(out.length ? { subsets: out } : {}) };
}

/** The Endpoints of every Service the slices name, in namespace/name order. */
export function endpointsList(slices: EndpointSlice[]): Endpoints[] {
  const groups = new Map<string, { namespace: string; name: string; slices: EndpointSlice[] }>();
  for (const slice of slices) {
    const name = serviceOf(slice);
    if (!name) continue;
    const namespace = slice.metadata.namespace ?? "";
    const key = `${namespace}/${name}`;
    if (!groups.has(key)) groups.set(key, { namespace, name, slices: [] });
    groups.get(key)!.slices.push(slice);
  }
  return [...groups.keys()].sort().map((k) => {
    const g = groups.get(k)!;
    return endpointsOf(g.namespace, g.name, g.slices)!;
  });
}

interface Selection {
  labels?: LabelSelector;
  fields?: FieldSelector;
}

/** Endpoints carry no labels; their selectable fields are metadata.name and metadata.namespace. */
function selects(sel: Selection, e: Endpoints): boolean {
  if (sel.labels && !matchesLabels(sel.labels, e.metadata.labels)) return false;
  return (sel.fields?.requirements ?? []).every((r) => {
    const value = r.field === "metadata.name" ? e.metadata.name : e.metadata.namespace;
    return r.operator === "!=" ? value !== r.value : value === r.value;
  });
}

function selection(opts: ListOptions): { ok: true; value: Selection } | { ok: false; status: Status } {
  const value: Selection = {};
  if (opts.labelSelector) {
    const parsed = parseLabelSelector(opts.labelSelector);
    if (!parsed.ok) return { ok: false, status: badRequest(parsed.message) };
    value.labels = parsed.selector;
  }
  if (opts.fieldSelector) {
    // Endpoints have apimachinery's default field labels, as EndpointSlices do.
    const parsed = parseFieldSelector(opts.fieldSelector, "EndpointSlice");
    if (!parsed.ok) return { ok: false, status: badRequest(parsed.message) };
    value.fields = parsed.selector;
  }
  return { ok: true, value };
}

export interface EndpointsRequest {
  namespace: string;
  name?: string;
  /** Set when the client asked for a Table. */
  table?: IncludeObject;
}

/** GET of one Endpoints, a list or a watch; every write is 405 (the mirror is read-only). */
export async function handleEndpoints(req: Request, env: Env, caller: Caller, at: EndpointsRequest, opts: WatchOptions, watch: boolean): Promise<Response> {
  if (req.method !== "GET") return statusResponse(methodNotAllowed());
  const sel = selection(opts);
  if (!sel.ok) return statusResponse(sel.status);
  const slices = sliceReader(env, caller, at.namespace);
  if (at.name) {
    const listed = await slices.all({ fieldSelector: undefined, labelSelector: `${SERVICE_NAME_LABEL}=${at.name}` });
    // A name no label value can hold names no Service with slices.
    if (!listed.ok && listed.status.code !== 400) return statusResponse(listed.status);
    const found = listed.ok ? endpointsOf(at.namespace, at.name, listed.value.items) : undefined;
    if (!found) return statusResponse(notFound("endpoints", at.name));
    return objectResponse(req, at.table ? toTable("endpoints", [found], { resourceVersion: found.metadata.resourceVersion! }, at.table) : found);
  }
  if (watch) return watchEndpoints(env, caller, at, opts, sel.value, slices);
  const listed = await slices.all({});
  if (!listed.ok) return statusResponse(listed.status);
  const list: List<Endpoints> = {
    apiVersion: "v1",
    kind: "EndpointsList",
    metadata: { resourceVersion: listed.value.resourceVersion },
    items: endpointsList(listed.value.items).filter((e) => selects(sel.value, e)),
  };
  return objectResponse(req, at.table ? listToTable("endpoints", list, at.table) : list);
}

interface SliceReader {
  /** Every slice (all pages) matching `opts`, and the list's resourceVersion. */
  all(opts: ListOptions): Promise<Result<{ items: EndpointSlice[]; resourceVersion: string }>>;
  ref: ResourceRef;
}

function sliceReader(env: Env, caller: Caller, namespace: string): SliceReader {
  const registry = registryStub(env);
  const ref: ResourceRef = { group: "discovery.k8s.io", resource: "endpointslices", namespace };
  const pageItems = configOf(env).listRpcPageItems;
  return {
    ref,
    async all(opts) {
      const items: EndpointSlice[] = [];
      let page = (await registry.list(caller, ref, { ...opts, limit: pageItems })) as Result<List>;
      if (!page.ok) return page;
      const resourceVersion = page.value.metadata.resourceVersion ?? "";
      for (;;) {
        items.push(...(page.value.items as EndpointSlice[]));
        const token = page.value.metadata.continue;
        if (!token) return { ok: true, value: { items, resourceVersion } };
        const { continue: _c, ...selection } = opts;
        page = (await registry.list(caller, ref, { ...selection, limit: pageItems, continue: token })) as Result<List>;
        if (!page.ok) return page;
      }
    },
  };
}

/**
 * The slices' watch, rewritten: each slice event updates what this watch knows of its
 * Service's slices and becomes that Service's Endpoints event (ADDED for its first slice,
 * DELETED with its last). Resuming from a resourceVersion first reads the slices as of it.
 */
async function watchEndpoints(env: Env, caller: Caller, at: EndpointsRequest, opts: WatchOptions, sel: Selection, slices: SliceReader): Promise<Response> {
  const { labelSelector: _l, fieldSelector: _f, limit: _limit, continue: _c, ...watchOpts } = opts;
  const opened = await registryStub(env).watchStream(caller, slices.ref, watchOpts);
  if (!opened.ok) return statusResponse(opened.status);
  const known = new Map<string, Slices>();
  const rv = opts.resourceVersion;
  if (rv && rv !== "0") {
    const snapshot = await slices.all({ continue: continueTokenAt(Number(rv)) });
    if (!snapshot.ok) {
      await opened.value.cancel();
      return statusResponse(snapshot.status);
    }
    for (const s of snapshot.value.items) remember(known, s);
  }
  const stream = mapWatchLines(opened.value, (line) => {
    const ev = JSON.parse(line) as WatchEvent;
    if (ev.type === "ERROR") return [line];
    if (ev.type === "BOOKMARK") return [JSON.stringify({ type: "BOOKMARK", object: { ...ev.object, kind: "Endpoints", apiVersion: "v1" } })];
    const slice = ev.object as EndpointSlice;
    const name = serviceOf(slice);
    if (!name) return [];
    const namespace = slice.metadata.namespace ?? "";
    const before = endpointsOf(namespace, name, known.get(`${namespace}/${name}`)?.values() ?? []);
    if (ev.type === "DELETED") forget(known, slice);
    else remember(known, slice);
    const after = endpointsOf(namespace, name, known.get(`${namespace}/${name}`)?.values() ?? []);
    const eventRv = slice.metadata.resourceVersion!;
    const was = before !== undefined && selects(sel, before);
    const is = after !== undefined && selects(sel, after);
    if (is) after!.metadata.resourceVersion = eventRv;
    if (!was && is) return [JSON.stringify({ type: "ADDED", object: after })];
    if (was && is) return [JSON.stringify({ type: "MODIFIED", object: after })];
    if (was && !is) return [JSON.stringify({ type: "DELETED", object: { ...before, metadata: { ...before!.metadata, resourceVersion: eventRv } } })];
    return [];
  });
  return watchResponse(at.table ? tableWatchStream("endpoints", stream, at.table) : stream);
}

function remember(known: Map<string, Slices>, slice: EndpointSlice): void {
  const name = serviceOf(slice);
  if (!name) return;
  const key = `${slice.metadata.namespace ?? ""}/${name}`;
  if (!known.has(key)) known.set(key, new Map());
  known.get(key)!.set(slice.metadata.name!, slice);
}

function forget(known: Map<string, Slices>, slice: EndpointSlice): void {
  const key = `${slice.metadata.namespace ?? ""}/${serviceOf(slice)}`;
  const slices = known.get(key);
  slices?.delete(slice.metadata.name!);
  if (slices?.size === 0) known.delete(key);
}
