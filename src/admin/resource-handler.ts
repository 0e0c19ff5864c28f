// One handler for every resource path: parse the path and the verb, call the
// registry, and render its answer. HTTP concerns stay here; storage semantics
// stay in the registry.
import { parseLabelSelector } from "../api/labels";
import { badRequest, methodNotAllowed, status } from "../api/status";
import type { Env } from "../env";
import type { KubeObject, List } from "../api/types";
import type { Caller } from "../registry/authorize";
import type { ListOptions } from "../registry/list-filter";
import { MAX_FIELD_MANAGER_LENGTH } from "../registry/patching";
import type { DeleteOptions, ResourceRef, Result, WatchOptions, WriteOptions } from "../registry/registry";
import { resolveResource } from "../registry/resources";
import { registryStub } from "./auth";
import { parseBody, readText } from "./body";
import { handleEndpoints } from "./endpoints-mirror";
import { emptyEventList, silentWatch } from "./events";
import { listResponse } from "./list-response";
import { negotiate } from "./negotiate";
import { parseResourcePath, type ResourcePath } from "./paths";
import { queryBool } from "./query-bool";
import { objectResponse, statusResponse, watchResponse } from "./respond";
import { hasPrinter, toTable, type IncludeObject } from "./tables";
import { subresourceAllows } from "./served-resources";
import { resourceNotServed } from "./unserved";
import { tableWatchStream } from "./watch-tables";
import { configOf } from "../config";

const notFoundPath = () => statusResponse(status(404, "NotFound", "the server could not find the requested resource"));

export async function handleResource(req: Request, env: Env, caller: Caller): Promise<Response> {
  const url = new URL(req.url);
  const path = parseResourcePath(url.pathname);
  if (!path) return notFoundPath();
  if (path.group === "" && path.resource === "events" && path.version === "v1") return handleEvents(req, url.searchParams, path.name);
  if (path.group === "" && path.resource === "endpoints" && path.version === "v1") return endpoints(req, env, caller, path, url.searchParams);
  const r = resolveResource(path.group, path.resource);
  if (!r || r.version !== path.version) return resourceNotServed();
  // A cluster-scoped resource has no namespaced path; a namespaced one has no cluster-scoped name.
  if (!r.namespaced && path.namespace) return notFoundPath();
  if (r.namespaced && !path.namespace && path.name) return notFoundPath();
  const ref: ResourceRef = { group: r.group, resource: r.resource, namespace: path.namespace };
  if (path.name) ref.name = path.name;
  if (path.subresource) ref.subresource = path.subresource;
  const q = url.searchParams;
  const registry = registryStub(env);
  const method = req.method.toUpperCase();

  if (ref.subresource) {
    const allowed = subresourceAllows(r.resource, ref.subresource, method);
    if (allowed === 404) return notFoundPath();
    if (allowed === 405) return statusResponse(methodNotAllowed());
  }

  // kubectl get asks for Tables; the apiserver prints them for reads only.
  const table = method === "GET" && !ref.subresource && negotiate(req.headers.get("accept")) === "table" && hasPrinter(r.resource);
  const include = includeObject(q);
  if (!include.ok) return statusResponse(include.status);

  if (!ref.name) {
    // A namespaced resource's cluster-wide path (/api/v1/services) is for reading across namespaces only.
    if (r.namespaced && !ref.namespace && method !== "GET") return statusResponse(methodNotAllowed());
    if (method === "GET") {
      const opts = listOptions(q);
      if (!opts.ok) return statusResponse(opts.status);
      if (queryBool(q, "watch")) {
        const res = await registry.watchStream(caller, ref, opts.value);
        if (!res.ok) return statusResponse(res.status);
        const stream = table ? tableWatchStream(r.resource, res.value, include.value) : res.value;
        return watchResponse(stream);
      }
      // The RPC stub's inferred type loses the success branch of Result<List>; the registry's own signature is the truth.
      const page = (o: ListOptions) => registry.list(caller, ref, o) as Promise<Result<List>>;
      return listResponse(req, page, opts.value, configOf(env).listRpcPageItems, table ? { resource: r.resource, include: include.value } : undefined);
    }
    if (method === "POST") {
      const body = await parseBody(req, false);
      if (!body.ok) return statusResponse(body.status);
      const opts = writeOptions(req, q);
      return render(req, await registry.create(caller, ref, body.value, opts), 201, opts);
    }
    return statusResponse(methodNotAllowed());
  }

  switch (method) {
    case "GET": {
      if (ref.subresource === "token") return statusResponse(methodNotAllowed());
      const got = (await registry.get(caller, ref)) as Result<KubeObject>;
      if (!got.ok) return render(req, got);
      if (!table) return render(req, got);
      return objectResponse(req, toTable(r.resource, [got.value], { resourceVersion: got.value.metadata.resourceVersion ?? "" }, include.value));
    }
    case "POST": {
      if (ref.subresource !== "token") return statusResponse(methodNotAllowed());
      const issued = await registry.issueNodeToken(caller, ref.name);
      if (!issued.ok) return statusResponse(issued.status);
      const tokenRequest = {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: { name: issued.value.nodeName },
        spec: { audiences: ["svcedge"] },
        status: { token: issued.value.token },
      };
      return objectResponse(req, tokenRequest, 201);
    }
    case "PUT": {
      const body = await parseBody(req, false);
      if (!body.ok) return statusResponse(body.status);
      const opts = writeOptions(req, q);
      return render(req, await registry.update(caller, ref, body.value, opts), 200, opts);
    }
    case "PATCH": {
      const body = await parseBody(req, true);
      if (!body.ok) return statusResponse(body.status);
      // Left undefined when absent: a force on a non-apply patch is refused even when false (registry/patching.ts).
      const force = queryBool(q, "force");
      const opts: WriteOptions = { ...writeOptions(req, q, body.patchType !== "apply"), ...(force === undefined ? {} : { force }) };
      const patched = (await registry.patch(caller, ref, body.patchType!, body.value, opts)) as Result<unknown>;
      // A server-side apply that created the object answers 201, as the apiserver does.
      return render(req, patched, patched.ok && patched.created ? 201 : 200, opts);
    }
    case "DELETE": {
      const opts = await deleteOptions(req, q);
      if (!opts.ok) return statusResponse(opts.status);
      const graceTooLong = gracePeriodTooLong(opts.value.gracePeriodSeconds);
      if (graceTooLong) return statusResponse(graceTooLong);
      return render(req, await registry.delete(caller, ref, opts.value));
    }
    default:
      return statusResponse(methodNotAllowed());
  }
}

function render(req: Request, res: Result<unknown>, code = 200, opts: WriteOptions = {}): Response {
  if (!res.ok) return statusResponse(res.status);
  // fieldValidation=Ignore drops unknown fields silently; Warn (the default) reports them in Warning headers.
  return objectResponse(req, res.value, code, opts.fieldValidation === "Ignore" ? [] : (res.warnings ?? []));
}

function handleEvents(req: Request, q: URLSearchParams, name: string | undefined): Response {
  if (req.method !== "GET") return statusResponse(methodNotAllowed());
  if (name) return statusResponse(status(404, "NotFound", `events "${name}" not found`, { name, kind: "events" }));
  // There is nothing to select or resume from, but malformed options get the 400 every other resource gives.
  const opts = listOptions(q);
  if (!opts.ok) return statusResponse(opts.status);
  const selector = opts.value.labelSelector ? parseLabelSelector(opts.value.labelSelector) : undefined;
  if (selector && !selector.ok) return statusResponse(badRequest(selector.message));
  if (queryBool(q, "watch")) {
    const rv = opts.value.resourceVersion;
    if (rv && !(Number.isInteger(Number(rv)) && Number(rv) >= 0)) return statusResponse(badRequest(`invalid resource version: ${JSON.stringify(rv)}`));
    return watchResponse(silentWatch(opts.value.timeoutSeconds));
  }
  if (negotiate(req.headers.get("accept")) === "table") return objectResponse(req, toTable("events", [], { resourceVersion: "0" }));
  return objectResponse(req, emptyEventList());
}

function endpoints(req: Request, env: Env, caller: Caller, path: ResourcePath, q: URLSearchParams): Promise<Response> | Response {
  if (path.subresource || (!path.namespace && path.name)) return notFoundPath();
  const include = includeObject(q);
  if (!include.ok) return statusResponse(include.status);
  const opts = listOptions(q);
  if (!opts.ok) return statusResponse(opts.status);
  const table = negotiate(req.headers.get("accept")) === "table" ? include.value : undefined;
  return handleEndpoints(
    req,
    env,
    caller,
    { namespace: path.namespace, ...(path.name ? { name: path.name } : {}), ...(table ? { table } : {}) },
    opts.value,
    Boolean(queryBool(q, "watch")),
  );
}

const INCLUDE_OBJECT: IncludeObject[] = ["None", "Metadata", "Object"];

function includeObject(q: URLSearchParams): { ok: true; value: IncludeObject } | { ok: false; status: ReturnType<typeof badRequest> } {
  const raw = q.get("includeObject");
  if (!raw) return { ok: true, value: "Metadata" };
  if ((INCLUDE_OBJECT as string[]).includes(raw)) return { ok: true, value: raw as IncludeObject };
  return { ok: false, status: badRequest(`includeObject: Unsupported value: "${raw}": supported values: "Metadata", "None", "Object"`) };
}

function intParam(q: URLSearchParams, name: string): { ok: true; value?: number } | { ok: false; status: ReturnType<typeof badRequest> } {
  const raw = q.get(name);
  if (raw === null || raw === "") return { ok: true };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) return { ok: false, status: badRequest(`invalid value for ${name}: ${JSON.stringify(raw)}`) };
  return { ok: true, value: n };
}

function listOptions(q: URLSearchParams): { ok: true; value: WatchOptions } | { ok: false; status: ReturnType<typeof badRequest> } {
  const limit = intParam(q, "limit");
  if (!limit.ok) return limit;
  const timeout = intParam(q, "timeoutSeconds");
  if (!timeout.ok) return timeout;
  const value: WatchOptions = {};
  for (const k of ["labelSelector", "fieldSelector", "continue", "resourceVersion"] as const) {
    const v = q.get(k);
    if (v) value[k] = v;
  }
  if (limit.value) value.limit = limit.value;
  if (timeout.value) value.timeoutSeconds = timeout.value;
  if (queryBool(q, "allowWatchBookmarks")) value.allowWatchBookmarks = true;
  return { ok: true, value };
}

/**
 * `fromUserAgent`: the apiserver names a non-apply write's field manager after the client
 * when it gives none (the User-Agent up to its first "/"); an apply must name its own.
 */
function writeOptions(req: Request, q: URLSearchParams, fromUserAgent = true): WriteOptions {
  const opts: WriteOptions = {};
  if (q.get("dryRun") === "All") opts.dryRun = true;
  const agent = fromUserAgent ? (req.headers.get("user-agent") ?? "").split("/")[0]!.slice(0, MAX_FIELD_MANAGER_LENGTH) : "";
  const manager = q.get("fieldManager") || agent;
  if (manager) opts.fieldManager = manager;
  const fv = q.get("fieldValidation");
  if (fv === "Strict" || fv === "Warn" || fv === "Ignore") opts.fieldValidation = fv;
  return opts;
}

const PROPAGATION_POLICIES = ["Foreground", "Background", "Orphan"];

/** Go's time.Duration holds at most 2^63-1 ns (about 292 years): the longest grace period the apiserver can add to a time. */
const MAX_GRACE_PERIOD_SECONDS = 9_223_372_036;

/** A grace period (from the query or the body, 1e400 included) that no deletion timestamp could hold. */
function gracePeriodTooLong(seconds: number | undefined): ReturnType<typeof badRequest> | undefined {
  if (seconds === undefined || Math.abs(seconds) <= MAX_GRACE_PERIOD_SECONDS) return undefined;
  return badRequest(`gracePeriodSeconds: Invalid value: ${seconds}: must be at most ${MAX_GRACE_PERIOD_SECONDS} seconds`);
}

async function deleteOptions(
  req: Request,
  q: URLSearchParams,
): Promise<{ ok: true; value: DeleteOptions } | { ok: false; status: ReturnType<typeof badRequest> }> {
  const value: DeleteOptions = {};
  const grace = intParam(q, "gracePeriodSeconds");
  if (!grace.ok) return grace;
  const queryPolicy = q.get("propagationPolicy");
  if (queryPolicy && !PROPAGATION_POLICIES.includes(queryPolicy))
    return {
      ok: false,
      status: badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(queryPolicy)}: supported values: "Foreground", "Background", "Orphan"`),
    };
  if (grace.value !== undefined) value.gracePeriodSeconds = grace.value;
  if (q.get("dryRun") === "All") value.dryRun = true;
  const text = await readText(req);
  if (!text.ok) return text;
  if (text.text.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.text);
    } catch (e) {
      return { ok: false, status: badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`) };
    }
    // kube-apiserver decodes `null` into empty DeleteOptions; other non-objects fail its decoding (there a 500).
    if (parsed === null) return { ok: true, value };
    if (typeof parsed !== "object" || Array.isArray(parsed))
      return {
        ok: false,
        status: badRequest(`the body of a delete request must be a DeleteOptions object, not ${Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`}`),
      };
    const body = parsed as {
      gracePeriodSeconds?: unknown;
      propagationPolicy?: unknown;
      preconditions?: { uid?: unknown; resourceVersion?: unknown } | null;
      dryRun?: unknown;
    };
    if (typeof body.gracePeriodSeconds === "number") value.gracePeriodSeconds = body.gracePeriodSeconds;
    // svcedge has no owner references to garbage-collect: every policy deletes just the object, but only valid ones are accepted.
    const policy = body.propagationPolicy;
    if (policy !== undefined && !(typeof policy === "string" && PROPAGATION_POLICIES.includes(policy)))
      return {
        ok: false,
        status: badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`),
      };
    if (Array.isArray(body.dryRun) && body.dryRun.includes("All")) value.dryRun = true;
    const pre = body.preconditions;
    if (pre && (typeof pre.uid === "string" || typeof pre.resourceVersion === "string")) {
      value.preconditions = {};
      if (typeof pre.uid === "string") value.preconditions.uid = pre.uid;
      if (typeof pre.resourceVersion === "string") value.preconditions.resourceVersion = pre.resourceVersion;
    }
  }
  return { ok: true, value };
}
