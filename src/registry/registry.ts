// The Registry Durable Object: the apiserver + etcd role. Every write in the
// cluster passes through this one object, which authorizes, admits, allocates,
// assigns resourceVersions and commits (store.ts, SQLite); the controllers that
// subscribe to commits (endpoints, routes, node lifecycle) follow; watches and the
// KV replica are fed from each commit. The data plane never calls it.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { alreadyExists, badRequest, conflict, gone, invalid, methodNotAllowed, notFound, STALE_OBJECT, status } from "../api/status";
import type { KubeObject, List, Namespace, Pod, Service, Status } from "../api/types";
import { NODE_TOKEN_KEY_PREFIX } from "../api/route";
import { strictDecodingMessage } from "../api/decode";
import { validateCreate, validateUpdate } from "../api/validate";
import { authorize, type Caller, type Verb } from "./authorize";
import type { Committer, Controller, TouchedServices, WriteEvent } from "./committer";
import { EndpointsReconciler } from "./endpoints-reconciler";
import { EndpointsQueue } from "./endpoints-queue";
import { NodeLifecycleController } from "./node-lifecycle";
import { RouteController } from "./route-controller";
import { buildStrategies, SYSTEM_NAMESPACES, type Strategy } from "./strategies";
import { KvReplica } from "./kv-replica";
import { HostFilterReplica } from "./host-filter-replica";
import { NodeLiveness } from "./node-liveness";
import { admit, type Admitted } from "./admission";
import { applyPatch, patchOptionErrors, prepareApply, type PatchType } from "./patching";
import { recordCreate, recordUpdate } from "./server-side-apply";
import { deepEqual } from "../api/patch";
import type { ClusterConfig } from "./route-compiler";
import { ServiceAllocations } from "./service-allocation";
import { MAX_OBJECT_BYTES, ObjectStore, serialize } from "./store";
import { ownValue } from "../api/plain-data";
import { ALL_RESOURCES, NAMESPACED_RESOURCES, resolveResource, resourceNamed, type ResourceDef } from "./resources";
import { buildListFilter, listPage, type ListOptions, type PageSource } from "./list-filter";
import { objectsAt } from "./snapshot";
import { WatchHub } from "./watch-hub";
import { WatchHistory } from "./watch-history";
import type { HostnamePolicy } from "./service-annotations";
import { ServicePodIndex } from "./indexes";
import { RouteHashes } from "./route-hashes";
import { randomToken, sha256Hex } from "../api/credentials";
import { kubeTime } from "../api/timestamps";
import { configOf } from "../config";
import { isDNS1123Subdomain } from "../api/apimachinery-validation";

/** Registry figures for tests, metrics and benchmarks. */
export interface RegistryStats {
  resourceVersion: number;
  kvWrites: number;
  kvPending: number;
  endpointsQueued: number;
  watchers: number;
  tokenLookups: number;
  watchWindow: { events: number; bytes: number };
  objects: Record<string, number>;
}

/** `created` is set when a write made a new object (a create, or a server-side apply that upserted). */
export type Result<T> = { ok: true; value: T; warnings?: string[]; created?: true } | { ok: false; status: Status };

export interface ResourceRef {
  group: string;
  resource: string;
  /** "" for cluster-scoped resources, and for lists across all namespaces. */
  namespace: string;
  name?: string;
  subresource?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  force?: boolean;
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

/**
 * How long marked Services wait for their sync after a Pod write: the writes of a burst
 * that arrive meanwhile join it (the same Service's Pods sync once). Reads of
 * EndpointSlices never wait for it: they sync what is marked first.
 */
const ENDPOINTS_SYNC_DELAY_MS = 100;
/** The alarm that syncs marked Services if the object restarts before its timer fires. */
const ENDPOINTS_SYNC_BACKSTOP_MS = 1000;

/** Pods whose grace period ended, deleted per alarm (each marks its Services); the next alarm takes the rest. */
const PODS_DELETED_PER_ALARM = 100;

const NO_SERVICES: TouchedServices = [];

const fail = <T>(s: Status): Result<T> => ({ ok: false, status: s });
const clone = <T>(o: T): T => structuredClone(o);

/** The registry itself; only the Durable Object below, its one door, can reach it. */
class RegistryCore {
  private readonly store: ObjectStore;
  private readonly kv: KvReplica;
  private readonly hostFilter: HostFilterReplica;
  private readonly history: WatchHistory;
  private readonly watch: WatchHub;
  private readonly alloc: ServiceAllocations;
  private readonly cfg: ClusterConfig;
  private readonly hostnamePolicy: HostnamePolicy;
  private readonly liveness: NodeLiveness;
  private readonly routes: RouteHashes;
  /** Calls to authenticate since the object started (the Worker must keep made-up tokens from reaching it). */
  private tokenLookups = 0;
  private readonly podsOfService: ServicePodIndex;
  private readonly routeController: RouteController;
  private readonly endpoints: EndpointsReconciler;
  /** The pending sync of marked Services (ENDPOINTS_SYNC_DELAY_MS), when one is set. */
  private endpointsTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly nodeLifecycle: NodeLifecycleController;
  /**
   * The alarm as this object last read or set it (null: none; undefined: not known). Only this
   * object sets its alarm, and a running alarm is cleared by the runtime: alarm() forgets it.
   */
  private alarmAt: number | null | undefined;
  /** Subscribers to committed writes, in the order they run. */
  private readonly controllers: Controller[];
  private readonly strategies: Record<string, Strategy>;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {
    const config = configOf(env);
    this.cfg = { clusterDomain: config.clusterDomain, lbDomain: config.lbDomain };
    this.hostnamePolicy = { ...this.cfg, adminHosts: new Set(config.adminHosts) };
    const sql = ctx.storage.sql;
    this.store = new ObjectStore(sql, (fn) => ctx.storage.transactionSync(fn));
    this.kv = new KvReplica(sql, config.kvWriteIntervalMs);
    this.podsOfService = new ServicePodIndex(sql);
    this.routes = new RouteHashes(sql);
    this.hostFilter = new HostFilterReplica(sql, this.kv, this.routes);
    this.history = new WatchHistory(sql, this.store.resourceVersion);
    this.watch = new WatchHub(this.history, () => this.store.resourceVersion, config.watchBookmarkIntervalMs);
    this.alloc = new ServiceAllocations(sql, { ...this.cfg, serviceCIDRs: config.serviceCIDRs, nodePortRange: config.nodePortRange });
    this.liveness = new NodeLiveness(config.nodeLeaseGraceMs);
    sql.exec("CREATE TABLE IF NOT EXISTS node_tokens (hash TEXT PRIMARY KEY, node TEXT NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS node_tokens_node ON node_tokens (node)");
    const writer: Committer = { commit: (...args) => this.commit(...args), remove: (...args) => this.remove(...args) };
    this.routeController = new RouteController(this.store, this.routes, this.hostFilter, this.kv, this.alloc, this.cfg);
    this.endpoints = new EndpointsReconciler(this.store, this.podsOfService, writer, this.routeController, new EndpointsQueue(sql));
    this.nodeLifecycle = new NodeLifecycleController(this.store, this.liveness, writer, this.endpoints);
    this.controllers = [this.endpoints, this.routeController, this.nodeLifecycle];
    this.strategies = buildStrategies({
      alloc: this.alloc,
      hostnamePolicy: this.hostnamePolicy,
      podsOfService: this.podsOfService,
      liveness: this.liveness,
      removeNamespaceContents: (ns, now) => this.removeNamespaceContents(ns, now),
      dropNodeTokens: (node) => this.dropNodeTokens(node),
    });
  }

  /** Runs before the object serves anything (blockConcurrencyWhile): bounded, whatever the cluster's size. */
  async start(): Promise<void> {
    if (!this.alloc.built) this.alloc.rebuild(this.store.each<Service>("services"));
    if (!this.podsOfService.built) this.podsOfService.rebuild(this.store.each<Service>("services"), this.store.each<Pod>("pods"));
    this.nodeLifecycle.restore(Date.now());
    const now = Date.now();
    for (const ns of SYSTEM_NAMESPACES)
      if (!this.store.get("namespaces", "", ns))
        this.commit(
          def("namespaces"),
          "ADDED",
          {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: ns, uid: crypto.randomUUID(), creationTimestamp: kubeTime(now), labels: { "kubernetes.io/metadata.name": ns } },
            spec: { finalizers: ["kubernetes"] },
            status: { phase: "Active" },
          } as Namespace,
          undefined,
          now,
        );
    if (!this.routes.built) {
      for (const svc of this.store.each<Service>("services")) this.routeController.build(svc);
      this.routes.markBuilt();
    }
    this.hostFilter.queue();
    this.scheduleEndpointsSync();
    await this.scheduleAlarm();
  }

  // ---------- authentication ----------

  /**
   * Resolves a node token, by its SHA-256 hex, to its caller identity; the admin token is
   * checked by the Worker. Asked on every node-token request, so revocation is immediate.
   */
  async authenticate(tokenHash: string): Promise<Caller | null> {
    this.tokenLookups += 1;
    const node = this.ctx.storage.sql.exec<{ node: string }>("SELECT node FROM node_tokens WHERE hash = ?", tokenHash).toArray()[0]?.node;
    return node ? { kind: "node", node } : null;
  }

  /** Issues a new bearer token for one node (admin only). The plain token is returned once; only its hash is kept. */
  async issueNodeToken(caller: Caller, nodeName: string): Promise<Result<{ token: string; nodeName: string }>> {
    const denied = authorize(caller, { verb: "create", resource: "nodes", group: "", namespace: "", name: nodeName, subresource: "token" });
    if (denied) return fail(denied);
    const nameErrors = isDNS1123Subdomain(nodeName);
    if (nameErrors.length > 0)
      return fail(
        invalid(
          "Node",
          nodeName,
          nameErrors.map((e) => ({ reason: "FieldValueInvalid", field: "metadata.name", message: `Invalid value: "${nodeName}": ${e}` })),
        ),
      );
    const token = randomToken();
    const hash = await sha256Hex(token);
    this.ctx.storage.sql.exec("INSERT INTO node_tokens (hash, node) VALUES (?, ?)", hash, nodeName);
    this.kv.set(NODE_TOKEN_KEY_PREFIX + hash, nodeName);
    await this.scheduleAlarm();
    return { ok: true, value: { token, nodeName } };
  }

  // ---------- reads ----------

  async get(caller: Caller, ref: ResourceRef): Promise<Result<KubeObject>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, ref.name ?? "", ref.group));
    const denied = authorize(caller, { verb: "get", resource: r.resource, group: r.group, namespace: ref.namespace, name: ref.name });
    if (denied) return fail(denied);
    this.syncEndpointsBeforeRead(r);
    const obj = this.store.get(r.resource, r.namespaced ? ref.namespace : "", ref.name!);
    return obj ? { ok: true, value: obj } : fail(notFound(r.resource, ref.name!, r.group));
  }

  async list(caller: Caller, ref: ResourceRef, opts: ListOptions = {}): Promise<Result<List>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, "", ref.group));
    const denied = authorize(caller, { verb: "list", resource: r.resource, group: r.group, namespace: ref.namespace });
    if (denied) return fail(denied);
    this.syncEndpointsBeforeRead(r);
    const filter = buildListFilter(r, opts);
    if (!filter.ok) return fail(badRequest(filter.message));
    const namespace = r.namespaced && ref.namespace ? ref.namespace : undefined;
    const source: PageSource = {
      currentRv: this.store.resourceVersion,
      canRead: (rv) => this.history.canResume(rv),
      objectsAt: (rv, after) => objectsAt(this.store, this.history, r.resource, namespace, rv, after),
      countAfter: (after) => this.store.countAfter(r.resource, namespace, after),
    };
    const page = listPage(source, filter.matches, opts, Boolean(opts.labelSelector || opts.fieldSelector));
    if (!page.ok) return fail(page.status);
    return { ok: true, value: { apiVersion: r.apiVersion, kind: `${r.kind}List`, metadata: page.metadata, items: page.items } };
  }

  async watchStream(caller: Caller, ref: ResourceRef, opts: WatchOptions = {}): Promise<Result<ReadableStream<Uint8Array>>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, "", ref.group));
    const denied = authorize(caller, { verb: "watch", resource: r.resource, group: r.group, namespace: ref.namespace });
    if (denied) return fail(denied);
    this.syncEndpointsBeforeRead(r);
    const filter = buildListFilter(r, opts);
    if (!filter.ok) return fail(badRequest(filter.message));
    const namespace = r.namespaced && ref.namespace ? ref.namespace : undefined;
    const rvText = opts.resourceVersion;
    const base = { timeoutSeconds: opts.timeoutSeconds, ...(opts.allowWatchBookmarks ? { bookmarks: { apiVersion: r.apiVersion, kind: r.kind } } : {}) };
    const wf = { resource: r.resource, namespace, matches: filter.matches };
    if (!rvText || rvText === "0") {
      // The objects as of now, read as the client takes them; what changes meanwhile follows as events.
      const initial = matching(objectsAt(this.store, this.history, r.resource, namespace, this.store.resourceVersion), filter.matches);
      return { ok: true, value: this.watch.open(wf, { ...base, initial }) };
    }
    const rv = Number(rvText);
    if (!Number.isInteger(rv) || rv < 0) return fail(badRequest(`invalid resource version: ${JSON.stringify(rvText)}`));
    if (!this.watch.canResume(rv)) return fail(gone(`too old resource version: ${rv} (${this.watch.oldestResumableRv + 1})`));
    // The apiserver's cacher answers a resourceVersion it has not reached with 504 (clients retry).
    if (rv > this.store.resourceVersion)
      return fail(
        status(504, "Timeout", `Too large resource version: ${rv}, current: ${this.store.resourceVersion}`, {
          causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
          retryAfterSeconds: 1,
        }),
      );
    return { ok: true, value: this.watch.open(wf, { ...base, fromRv: rv }) };
  }

  // ---------- writes ----------

  async create(caller: Caller, ref: ResourceRef, body: unknown, opts: WriteOptions = {}): Promise<Result<KubeObject>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, "", ref.group));
    if (ref.subresource) return fail(status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    const early = authorize(caller, { verb: "create", resource: r.resource, group: r.group, namespace: ref.namespace, name: nameInBody(body), coarse: true });
    if (early) return fail(early);
    const strategy = this.strategyOf(r);
    const { initialize } = strategy;
    // A resource that allocates is validated after its allocation, as kube-apiserver's Services are.
    const admitted = admit(r, body, { namespace: ref.namespace, deferValidation: !!strategy.allocate, ...(initialize ? { initialize } : {}) });
    if (!admitted.ok) return fail(admitted.status);
    const obj = admitted.object;
    const name = obj.metadata.name!;
    const denied = authorize(caller, { verb: "create", resource: r.resource, group: r.group, namespace: ref.namespace, name, next: obj });
    if (denied) return fail(denied);
    const strict = strictFailure(r, name, admitted, opts);
    if (strict) return fail(strict);
    const nsMissing = this.checkNamespace(r, obj);
    if (nsMissing) return fail(nsMissing);
    const ns = obj.metadata.namespace ?? "";
    if (this.store.get(r.resource, ns, name)) {
      // As kube-apiserver, whose storage answers AlreadyExists only for an object that validated.
      const causes = strategy.allocate ? validateCreate(obj) : [];
      return fail(causes.length > 0 ? invalid(r.kind, name, causes, r.group) : alreadyExists(r.resource, name, r.group));
    }
    strategy.prepareForCreate?.(obj, caller);
    const oversized = tooLargeToStore(r, obj);
    if (oversized) return fail(oversized);
    const allocated = strategy.allocate?.(obj, undefined, opts.dryRun ?? false, () => validateCreate(obj));
    if (allocated) return fail(allocated);
    const now = Date.now();
    obj.metadata.uid = crypto.randomUUID();
    obj.metadata.creationTimestamp = kubeTime(now);
    obj.metadata.generation = 1;
    if (opts.fieldManager) recordCreate(obj, opts.fieldManager, now);
    if (opts.dryRun) return { ok: true, value: obj, warnings: admitted.warnings };
    const touched = this.commit(r, "ADDED", obj, undefined, now);
    await this.afterWrite(r, obj, undefined, touched);
    return { ok: true, value: obj, warnings: admitted.warnings, created: true };
  }

  async update(caller: Caller, ref: ResourceRef, body: unknown, opts: WriteOptions = {}): Promise<Result<KubeObject>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, ref.name ?? "", ref.group));
    if (ref.subresource && ref.subresource !== "status") return fail(methodNotAllowed());
    const current = this.store.get(r.resource, r.namespaced ? ref.namespace : "", ref.name!);
    if (!current) return fail(notFound(r.resource, ref.name!, r.group));
    return this.replace(caller, r, ref, current, body, opts, "update");
  }

  async patch(caller: Caller, ref: ResourceRef, type: PatchType, patch: unknown, opts: WriteOptions = {}): Promise<Result<KubeObject>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, ref.name ?? "", ref.group));
    if (ref.subresource && ref.subresource !== "status") return fail(methodNotAllowed());
    const current = this.store.get(r.resource, r.namespaced ? ref.namespace : "", ref.name!);
    const access = {
      verb: "patch" as const,
      resource: r.resource,
      group: r.group,
      namespace: r.namespaced ? ref.namespace : "",
      name: ref.name,
      subresource: ref.subresource,
    };
    const early = authorize(caller, { ...access, coarse: true });
    if (early) return fail(early);
    const badOptions = patchOptionErrors(type, opts);
    // The apiserver authorizes before it reads the options: whoever may not write the object as it stands hears 403 first.
    if (badOptions) return fail((current && authorize(caller, { ...access, current, next: current })) || badOptions);
    if (type === "apply") {
      // Server-side apply upserts: a missing object is created with the applier's managedFields.
      if (!current && ref.subresource) return fail(notFound(r.resource, ref.name!, r.group));
      const applied = prepareApply(r, current, patch, { name: ref.name!, manager: opts.fieldManager!, force: opts.force ?? false, now: Date.now() });
      if (!applied.ok) return fail(applied.status);
      if (!current) return this.create(caller, { group: ref.group, resource: ref.resource, namespace: ref.namespace }, applied.value, opts);
      return this.replace(caller, r, ref, current, applied.value, opts, "patch");
    }
    if (!current) return fail(notFound(r.resource, ref.name!, r.group));
    const patched = applyPatch(r, type, current, patch);
    if (!patched.ok) return fail(patched.status);
    if (opts.fieldManager && patched.value && typeof patched.value === "object")
      recordUpdate(current, patched.value as KubeObject, opts.fieldManager, Date.now());
    return this.replace(caller, r, ref, current, patched.value, opts, "patch");
  }

  async delete(caller: Caller, ref: ResourceRef, opts: DeleteOptions = {}): Promise<Result<KubeObject>> {
    const r = resolveResource(ref.group, ref.resource);
    if (!r) return fail(notFound(ref.resource, ref.name ?? "", ref.group));
    if (ref.subresource) return fail(methodNotAllowed());
    const ns = r.namespaced ? ref.namespace : "";
    const current = this.store.get(r.resource, ns, ref.name!);
    if (!current) return fail(notFound(r.resource, ref.name!, r.group));
    const denied = authorize(caller, { verb: "delete", resource: r.resource, group: r.group, namespace: ns, name: ref.name, current });
    if (denied) return fail(denied);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid)
      return fail(
        conflict(r.resource, ref.name!, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`, r.group),
      );
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
      return fail(
        conflict(
          r.resource,
          ref.name!,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
          r.group,
        ),
      );
    const strategy = this.strategyOf(r);
    const refused = strategy.validateDelete?.(current);
    if (refused) return fail(refused);
    if (opts.dryRun) return { ok: true, value: current };
    const now = Date.now();
    const next = strategy.gracefulDelete?.(current, opts.gracePeriodSeconds, now);
    if (next) {
      const touched = this.commit(r, "MODIFIED", next, current, now);
      await this.afterWrite(r, next, current, touched);
      return { ok: true, value: next };
    }
    const deleted = this.removeStored(r, current);
    const touched = this.strategyOf(r).afterRemove?.(current, now) ?? NO_SERVICES;
    await this.afterWrite(r, undefined, current, touched);
    // The answer carries the deletion's resourceVersion, as the DELETED event does.
    return { ok: true, value: deleted };
  }

  /** Registry figures for tests, metrics and benchmarks. */
  async stats(): Promise<RegistryStats> {
    const objects: Record<string, number> = {};
    for (const r of ALL_RESOURCES) objects[r.resource] = this.store.count(r.resource);
    return {
      resourceVersion: this.store.resourceVersion,
      kvWrites: this.kv.writes,
      kvPending: this.kv.pending,
      endpointsQueued: this.endpoints.queued,
      watchers: this.watch.watcherCount,
      tokenLookups: this.tokenLookups,
      watchWindow: this.watch.window,
      objects,
    };
  }

  async alarm(): Promise<void> {
    // The runtime deletes the alarm that is running unless a new one is set meanwhile.
    this.alarmAt = undefined;
    const now = Date.now();
    this.nodeLifecycle.expireLeases(now);
    this.finishGracefulDeletions(now);
    this.syncQueuedEndpoints(now);
    this.hostFilter.queue();
    await this.kv.flush(this.env.KV, now);
    await this.scheduleAlarm();
  }

  // ---------- internals ----------

  private async replace(
    caller: Caller,
    r: ResourceDef,
    ref: ResourceRef,
    current: KubeObject,
    body: unknown,
    opts: WriteOptions,
    verb: Verb,
  ): Promise<Result<KubeObject>> {
    const name = ref.name!;
    const access = { verb, resource: r.resource, group: r.group, namespace: r.namespaced ? ref.namespace : "", name, subresource: ref.subresource, current };
    const early = authorize(caller, { ...access, coarse: true });
    if (early) return fail(early);
    // An update names the object it replaces by uid too (the apiserver's precondition); a patch that changes it is refused by validation.
    const bodyUid = verb === "update" ? ownValue(ownValue(body, "metadata"), "uid") : undefined;
    if (typeof bodyUid === "string" && bodyUid !== "" && bodyUid !== current.metadata.uid)
      return fail(conflict(r.resource, name, `Precondition failed: UID in precondition: ${bodyUid}, UID in object meta: ${current.metadata.uid}`, r.group));
    const strategy = this.strategyOf(r);
    const { initialize } = strategy;
    const admitted = admit(r, body, {
      namespace: ref.namespace,
      name,
      current,
      subresource: ref.subresource,
      deferValidation: !!strategy.allocate,
      ...(initialize ? { initialize } : {}),
    });
    if (!admitted.ok) return fail(admitted.status);
    const next = admitted.object;
    const denied = authorize(caller, { ...access, next });
    if (denied) return fail(denied);
    const strict = strictFailure(r, name, admitted, opts);
    if (strict) return fail(strict);
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) return fail(conflict(r.resource, name, STALE_OBJECT, r.group));
    const oversized = tooLargeToStore(r, next);
    if (oversized) return fail(oversized);
    // /status was validated at admission.
    const validate = () => (ref.subresource === "status" ? [] : validateUpdate(next, current));
    const allocated = strategy.allocate?.(next, current, opts.dryRun ?? false, validate);
    if (allocated) return fail(allocated);
    if (verb === "update" && opts.fieldManager) recordUpdate(current, next, opts.fieldManager, Date.now());
    if (unchanged(current, next)) return { ok: true, value: current, warnings: admitted.warnings };
    if (opts.dryRun) return { ok: true, value: next, warnings: admitted.warnings };
    const now = Date.now();
    const touched = this.commit(r, "MODIFIED", next, current, now);
    await this.afterWrite(r, next, current, touched);
    return { ok: true, value: next, warnings: admitted.warnings };
  }

  private checkNamespace(r: ResourceDef, obj: KubeObject): Status | undefined {
    if (!r.namespaced) return undefined;
    const ns = this.store.get<Namespace>("namespaces", "", obj.metadata.namespace!);
    if (!ns) return notFound("namespaces", obj.metadata.namespace!);
    if (ns.status?.phase === "Terminating")
      return status(
        403,
        "Forbidden",
        `${r.resource} "${obj.metadata.name}" is forbidden: unable to create new content in namespace ${ns.metadata.name} because it is being terminated`,
      );
    return undefined;
  }

  /**
   * Stamps a resourceVersion, persists, publishes the watch event, queues the KV replica and
   * updates the indexes. Returns the Services whose endpoints the write can change (Pods only).
   */
  private commit(r: ResourceDef, type: "ADDED" | "MODIFIED", obj: KubeObject, old: KubeObject | undefined, now: number): TouchedServices {
    if (old && !deepEqual(specOf(old), specOf(obj))) obj.metadata.generation = (old.metadata.generation ?? 1) + 1;
    const json = this.store.put(r.resource, obj, old === undefined);
    this.watch.publish(r.resource, type, obj, old, json);
    return this.strategyOf(r).afterCommit?.(obj, old, now) ?? NO_SERVICES;
  }

  private remove(r: ResourceDef, obj: KubeObject, now: number): TouchedServices {
    this.removeStored(r, obj);
    return this.strategyOf(r).afterRemove?.(obj, now) ?? NO_SERVICES;
  }

  /** Deletes the stored object and publishes its DELETED event; returns the object as deleted (the deletion's resourceVersion). */
  private removeStored(r: ResourceDef, obj: KubeObject): KubeObject {
    const deleted = clone(obj);
    deleted.metadata.resourceVersion = this.store.delete(r.resource, obj.metadata.namespace ?? "", obj.metadata.name!);
    this.watch.publish(r.resource, "DELETED", deleted);
    return deleted;
  }

  private strategyOf(r: ResourceDef): Strategy {
    return this.strategies[r.resource] ?? {};
  }

  private removeNamespaceContents(ns: string, now: number): void {
    for (const rd of NAMESPACED_RESOURCES)
      for (const o of this.store.each(rd.resource, ns)) {
        this.remove(rd, o, now);
        if (rd.resource === "services") this.routeController.deleted(o as Service);
      }
  }

  private dropNodeTokens(node: string): void {
    const sql = this.ctx.storage.sql;
    for (const { hash } of sql.exec<{ hash: string }>("SELECT hash FROM node_tokens WHERE node = ?", node).toArray()) {
      sql.exec("DELETE FROM node_tokens WHERE hash = ?", hash);
      this.kv.set(NODE_TOKEN_KEY_PREFIX + hash, null);
    }
  }

  /** The controllers that follow a committed write, in order (endpoints before routes), then the alarm. */
  private async afterWrite(r: ResourceDef, obj: KubeObject | undefined, old: KubeObject | undefined, touched: TouchedServices): Promise<void> {
    const ev: WriteEvent = { resource: r.resource, touched, now: Date.now() };
    if (obj) ev.obj = obj;
    if (old) ev.old = old;
    for (const c of this.controllers) c.afterWrite(ev);
    this.scheduleEndpointsSync();
    await this.scheduleAlarm();
  }

  /** Marked Services sync after ENDPOINTS_SYNC_DELAY_MS, a bounded slice at a time (the alarm is the backstop when the object restarts). */
  private scheduleEndpointsSync(delayMs = ENDPOINTS_SYNC_DELAY_MS): void {
    if (this.endpointsTimer !== undefined || this.endpoints.queued === 0) return;
    this.endpointsTimer = setTimeout(() => {
      this.endpointsTimer = undefined;
      if (this.endpoints.syncQueued(Date.now()) > 0) this.scheduleEndpointsSync(0);
    }, delayMs);
  }

  /** Everything marked is synced (the alarm; an object restarted with marks). */
  private syncQueuedEndpoints(now: number): void {
    while (this.endpoints.syncQueued(now) > 0);
  }

  /** A read of EndpointSlices sees every Pod write acknowledged before it. */
  private syncEndpointsBeforeRead(r: ResourceDef): void {
    if (r.resource === "endpointslices" && this.endpoints.queued > 0) this.syncQueuedEndpoints(Date.now());
  }

  /** Pods whose grace period ended are deleted (a bounded batch per alarm; the next alarm takes the rest). */
  private finishGracefulDeletions(now: number): void {
    for (const [ns, name] of this.store.podsDeletingBy(now, PODS_DELETED_PER_ALARM).due) {
      const pod = this.store.get<Pod>("pods", ns, name);
      if (pod) this.endpoints.markTouched(ns, this.remove(def("pods"), pod, now));
    }
  }

  private nextGracefulDeletion(now: number): number | undefined {
    const { due, next } = this.store.podsDeletingBy(now, 1);
    return due.length > 0 ? now : next;
  }

  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    const candidates = [
      this.kv.nextFlushAt(now),
      this.liveness.nextExpiry(),
      this.nextGracefulDeletion(now),
      this.endpoints.queued > 0 ? now + ENDPOINTS_SYNC_BACKSTOP_MS : undefined,
    ].filter((t): t is number => t !== undefined);
    if (candidates.length === 0) return;
    const at = Math.max(now, Math.min(...candidates));
    // Most writes find an alarm already due no later than they need: known, it costs no storage call.
    if (this.alarmAt !== undefined && this.alarmAt !== null && this.alarmAt <= at) return;
    const current = this.alarmAt === undefined ? await this.ctx.storage.getAlarm() : this.alarmAt;
    if (current === null || current > at) {
      await this.ctx.storage.setAlarm(at);
      this.alarmAt = at;
    } else this.alarmAt = current;
  }
}

/** Checked before anything is allocated, so that a refused write leaves nothing behind. */
function tooLargeToStore(r: ResourceDef, obj: KubeObject): Status | undefined {
  const { bytes } = serialize(obj);
  if (bytes <= MAX_OBJECT_BYTES) return undefined;
  return status(
    413,
    "RequestEntityTooLarge",
    `${r.resource} "${obj.metadata.name}" is too large to store: ${bytes} bytes of JSON, and the limit is ${MAX_OBJECT_BYTES}`,
    {
      name: obj.metadata.name!,
      kind: r.resource,
    },
  );
}

function* matching<T>(items: Iterable<T>, matches: (item: T) => boolean): IterableIterator<T> {
  for (const item of items) if (matches(item)) yield item;
}

function nameInBody(body: unknown): string | undefined {
  const name = (body as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === "string" ? name : undefined;
}

/** A stored resource by plural name (the registry's own calls name only resources it stores). */
const def = (resource: string): ResourceDef => resourceNamed(resource)!;

/** Everything but metadata and status: what `generation` counts changes of. */
function specOf(o: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o as KubeObject & { status?: unknown };
  return rest;
}

/** A write that changes nothing (key order and managedFields timestamps aside) is not stored, as in the apiserver. */
function unchanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined, managedFields: o.metadata.managedFields?.map(({ time: _t, ...e }) => e) },
  });
  return deepEqual(JSON.parse(JSON.stringify(strip(a))), JSON.parse(JSON.stringify(strip(b))));
}

function strictFailure(r: ResourceDef, name: string, admitted: Admitted, opts: WriteOptions): Status | undefined {
  if (opts.fieldValidation !== "Strict" || admitted.unknownFields.length === 0) return undefined;
  // The apiserver answers 400 here; svcedge answers 422 Invalid, so that clients see the field paths as causes.
  const causes = admitted.unknownFields.map((f) => ({
    reason: "FieldValueInvalid",
    field: f.replace(/^\./, ""),
    message: `unknown field "${f.replace(/^\./, "")}"`,
  }));
  return status(422, "Invalid", r.info ? strictDecodingMessage(r.info.kind, admitted.unknownFields) : causes.map((c) => c.message).join(", "), {
    name,
    kind: r.kind,
    causes,
  });
}

/**
 * The Registry Durable Object: one narrow door. Only these methods are callable over
 * RPC (TypeScript's `private` hides nothing from an RPC stub); everything else sits
 * behind a private field, as workers-oauth-provider keeps its implementation.
 */
export class Registry extends DurableObject<Env> {
  readonly #core: RegistryCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new RegistryCore(ctx, env);
    ctx.blockConcurrencyWhile(() => this.#core.start());
  }

  /** Resolves a node token (its SHA-256 hex) to the caller it stands for; the Worker checks the admin token itself. */
  authenticate(tokenHash: string): Promise<Caller | null> {
    return this.#core.authenticate(tokenHash);
  }
  issueNodeToken(caller: Caller, nodeName: string): Promise<Result<{ token: string; nodeName: string }>> {
    return this.#core.issueNodeToken(caller, nodeName);
  }
  get(caller: Caller, ref: ResourceRef): Promise<Result<KubeObject>> {
    return this.#core.get(caller, ref);
  }
  list(caller: Caller, ref: ResourceRef, opts?: ListOptions): Promise<Result<List>> {
    return this.#core.list(caller, ref, opts);
  }
  watchStream(caller: Caller, ref: ResourceRef, opts?: WatchOptions): Promise<Result<ReadableStream<Uint8Array>>> {
    return this.#core.watchStream(caller, ref, opts);
  }
  create(caller: Caller, ref: ResourceRef, body: unknown, opts?: WriteOptions): Promise<Result<KubeObject>> {
    return this.#core.create(caller, ref, body, opts);
  }
  update(caller: Caller, ref: ResourceRef, body: unknown, opts?: WriteOptions): Promise<Result<KubeObject>> {
    return this.#core.update(caller, ref, body, opts);
  }
  patch(caller: Caller, ref: ResourceRef, type: PatchType, patch: unknown, opts?: WriteOptions): Promise<Result<KubeObject>> {
    return this.#core.patch(caller, ref, type, patch, opts);
  }
  delete(caller: Caller, ref: ResourceRef, opts?: DeleteOptions): Promise<Result<KubeObject>> {
    return this.#core.delete(caller, ref, opts);
  }
  /** Registry figures for /metrics (and so for tests and benchmarks). */
  stats(): ReturnType<RegistryCore["stats"]> {
    return this.#core.stats();
  }
  override alarm(): Promise<void> {
    return this.#core.alarm();
  }
}
