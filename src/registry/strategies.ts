// Per-resource strategies, as kube-apiserver's registry gives each resource one: what
// the generic create/update/delete path does differently for it. Adding a resource means
// adding a strategy here, never another `if (resource === …)` in the registry.
import { AllocationError } from "./allocators";
import { internalError, invalid, status } from "../api/status";
import type { KubeObject, Lease, Pod, Service, Status, StatusCause } from "../api/types";
import { initIPFamilyFields } from "../api/service-ip-families";
import { NODE_LEASE_NAMESPACE, REGISTERED_BY_ANNOTATION } from "../api/types";
import type { Caller } from "./authorize";
import type { TouchedServices } from "./committer";
import type { ServicePodIndex } from "./indexes";
import type { NodeLiveness } from "./node-liveness";
import { validateServiceAnnotations, type HostnamePolicy } from "./service-annotations";
import type { ServiceAllocations } from "./service-allocation";
import { kubeTime } from "../api/timestamps";

/** Namespaces that always exist, as in every Kubernetes cluster. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", NODE_LEASE_NAMESPACE];

const NO_SERVICES: TouchedServices = [];

export interface Strategy {
  /**
   * A create or update, after defaulting and before validation: what depends on the cluster's
   * configuration (kube-apiserver's BeginCreate/BeginUpdate). Causes refuse the write (422).
   */
  initialize?(obj: KubeObject, old: KubeObject | undefined): StatusCause[];
  /** A create, before it is sized and allocated: what the server fills in from the caller. */
  prepareForCreate?(obj: KubeObject, caller: Caller): void;
  /**
   * A create or update: allocate what the object needs, keeping what `old` held, then `validate` it (kube-apiserver's
   * BeginCreate/BeginUpdate before Validate). A Status refuses the write, and leaves the allocations as they were.
   */
  allocate?(obj: KubeObject, old: KubeObject | undefined, dryRun: boolean, validate: () => StatusCause[]): Status | undefined;
  /** A delete: a Status refuses it. */
  validateDelete?(current: KubeObject): Status | undefined;
  /** A delete: the object to commit instead of removing it now (a graceful deletion), if any. */
  gracefulDelete?(current: KubeObject, gracePeriodSeconds: number | undefined, now: number): KubeObject | undefined;
  /** After a commit: keep indexes and state in step. Returns the Services whose endpoints can change. */
  afterCommit?(obj: KubeObject, old: KubeObject | undefined, now: number): TouchedServices;
  /** After a removal: release what the object held. Returns the Services whose endpoints can change. */
  afterRemove?(obj: KubeObject, now: number): TouchedServices;
}

export interface StrategyDeps {
  alloc: ServiceAllocations;
  hostnamePolicy: HostnamePolicy;
  podsOfService: ServicePodIndex;
  liveness: NodeLiveness;
  /** Removes what a Namespace holds (its deletion cascades). */
  removeNamespaceContents(namespace: string, now: number): void;
  /** Revokes a deleted Node's tokens. */
  dropNodeTokens(node: string): void;
}

export function buildStrategies(d: StrategyDeps): Record<string, Strategy> {
  const services: Strategy = {
    initialize: (obj, old) => initIPFamilyFields(obj as Service, old as Service | undefined, d.alloc.families),
    // The registry is the Services' load-balancer controller: it re-derives status.loadBalancer on every write, /status included.
    allocate(obj, old, dryRun, validate) {
      const svc = obj as Service;
      const annotationCauses = validateServiceAnnotations(svc, d.hostnamePolicy);
      if (annotationCauses.length > 0) return invalid("Service", svc.metadata.name!, annotationCauses);
      try {
        const { causes, undo } = d.alloc.allocate(svc, old as Service | undefined);
        if (causes.length > 0) return invalid("Service", svc.metadata.name!, causes);
        const invalidCauses = validate();
        // What this write took goes back when it is refused or only a dry run; what it frees, only once it is kept.
        if (invalidCauses.length > 0 || dryRun) undo();
        if (invalidCauses.length > 0) return invalid("Service", svc.metadata.name!, invalidCauses);
        if (!dryRun && old) d.alloc.releaseUnused(old as Service, svc);
        return undefined;
      } catch (e) {
        if (e instanceof AllocationError) return internalError(e.message);
        throw e;
      }
    },
    afterCommit(obj) {
      d.podsOfService.serviceChanged(obj.metadata.namespace!, obj.metadata.name!, obj as Service);
      return NO_SERVICES;
    },
    afterRemove(obj) {
      d.podsOfService.serviceChanged(obj.metadata.namespace!, obj.metadata.name!, undefined);
      d.alloc.releaseUnused(obj as Service);
      return NO_SERVICES;
    },
  };

  const pods: Strategy = {
    // The node policy reads this mark: a node's Pods never reach the edge without the admin.
    prepareForCreate(obj, caller) {
      if (caller.kind === "node") (obj.metadata.annotations ??= {})[REGISTERED_BY_ANNOTATION] = caller.node;
    },
    // Graceful deletion: the Pod stays, terminating, for its grace period (its endpoint serves but is not ready).
    gracefulDelete(current, gracePeriodSeconds, now) {
      if (!gracePeriodSeconds || gracePeriodSeconds <= 0 || current.metadata.deletionTimestamp) return undefined;
      const next = structuredClone(current);
      next.metadata.deletionTimestamp = kubeTime(now + gracePeriodSeconds * 1000);
      next.metadata.deletionGracePeriodSeconds = gracePeriodSeconds;
      return next;
    },
    afterCommit: (obj, old) => d.podsOfService.podChanged(obj.metadata.namespace!, obj.metadata.name!, old?.metadata.labels, (obj as Pod).metadata.labels),
    afterRemove: (obj) => d.podsOfService.podChanged(obj.metadata.namespace!, obj.metadata.name!, obj.metadata.labels, undefined),
  };

  const namespaces: Strategy = {
    validateDelete(current) {
      const name = current.metadata.name!;
      if (!SYSTEM_NAMESPACES.includes(name)) return undefined;
      return status(403, "Forbidden", `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: "namespaces" });
    },
    afterRemove(obj, now) {
      d.removeNamespaceContents(obj.metadata.name!, now);
      return NO_SERVICES;
    },
  };

  const leases: Strategy = {
    afterCommit(obj, _old, now) {
      d.liveness.renew(obj as Lease, now);
      return NO_SERVICES;
    },
    afterRemove(obj) {
      d.liveness.forget(obj.metadata.name!);
      return NO_SERVICES;
    },
  };

  const nodes: Strategy = {
    afterRemove(obj) {
      d.dropNodeTokens(obj.metadata.name!);
      return NO_SERVICES;
    },
  };

  return { services, pods, namespaces, leases, nodes, endpointslices: {} };
}
