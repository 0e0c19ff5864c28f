// Who may do what: a pure policy, reviewed and tested alone. The admin may do
// everything. A node token follows Kubernetes' NodeRestriction admission: it may
// read what an agent needs, write its own Node and Lease, write the status of Pods
// bound to its node, and create, edit and delete the Pods it registers for its node.
import { forbidden } from "../api/status";
import type { KubeObject, Pod, Status } from "../api/types";
import { NODE_LEASE_NAMESPACE, POD_URL_ANNOTATION, REGISTERED_BY_ANNOTATION } from "../api/types";
import { ownValue, withoutPrototype } from "../api/plain-data";
import { resourceNamed } from "./resources";

export type Caller = { kind: "admin" } | { kind: "node"; node: string };

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

export interface Access {
  verb: Verb;
  resource: string;
  group: string;
  namespace: string;
  name?: string;
  subresource?: string;
  /** The stored object, for writes to an existing one. */
  current?: KubeObject;
  /** The object as it would be written (create, update, patch). */
  next?: KubeObject;
  /**
   * A first check from the request alone, before the body is decoded (as the apiserver
   * authorizes before admission): what depends on the objects is allowed here and
   * decided by the full check afterwards.
   */
  coarse?: boolean;
}

export const userName = (caller: Caller): string => (caller.kind === "admin" ? "admin" : `system:node:${caller.node}`);

/** Returns undefined when allowed, otherwise the 403 Status to send. */
export function authorize(caller: Caller, access: Access): Status | undefined {
  if (caller.kind === "admin") return undefined;
  // Policy reads only what the caller set: a field Object.prototype might carry never counts.
  const a = withoutPrototype(access);
  if (allowedForNode(caller.node, a)) return undefined;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return forbidden(userName(caller), a.verb, resource, a.group, scope, a.name);
}

function allowedForNode(node: string, a: Access): boolean {
  if (a.verb === "get" || a.verb === "list" || a.verb === "watch") return (resourceNamed(a.resource)?.nodeReadable ?? false) && !a.subresource;
  switch (a.resource) {
    case "nodes":
      // Its own Node object and status; never delete, never another node, never a restricted label.
      if (a.verb === "delete" || (a.subresource && a.subresource !== "status")) return false;
      if (a.coarse && a.name === undefined) return true;
      return a.name === node && !setsRestrictedNodeLabel(a.current, a.next);
    case "leases":
      if (a.namespace !== NODE_LEASE_NAMESPACE || a.subresource) return false;
      return a.name === node || (a.coarse === true && a.name === undefined);
    case "pods":
      return podWriteAllowed(node, a);
    default:
      return false;
  }
}

function podWriteAllowed(node: string, a: Access): boolean {
  const current = a.current as Pod | undefined;
  const next = a.next as Pod | undefined;
  const boundHere = (p?: Pod) => ownValue(ownValue(p, "spec"), "nodeName") === node;
  const registeredHere = (p?: Pod) => annotation(p, REGISTERED_BY_ANNOTATION) === node;
  if (a.subresource && a.subresource !== "status") return false;
  if (a.coarse) return true;
  if (a.subresource === "status") return boundHere(current);
  // The edge fetches a Pod's URL annotation: only the admin may point public traffic at an origin.
  if (a.verb !== "delete" && annotation(next, POD_URL_ANNOTATION) !== annotation(current, POD_URL_ANNOTATION)) return false;
  if (a.verb === "create") return boundHere(next);
  if (a.verb === "delete") return boundHere(current) && registeredHere(current);
  // update/patch: only its own registered pods, and they must stay on this node.
  // The registered-by mark decides what reaches the edge (route-compiler): a node can never drop it.
  return boundHere(current) && registeredHere(current) && (next === undefined || (boundHere(next) && registeredHere(next)));
}

/** NodeRestriction: a node may not give itself role labels or labels under node-restriction.kubernetes.io/. */
const RESTRICTED_LABEL = /^(node-role\.kubernetes\.io\/|node-restriction\.kubernetes\.io\/|[^/]*\.node-restriction\.kubernetes\.io\/)/;

function setsRestrictedNodeLabel(current: KubeObject | undefined, next: KubeObject | undefined): boolean {
  const before = current?.metadata.labels;
  for (const [k, v] of Object.entries(next?.metadata.labels ?? {})) if (RESTRICTED_LABEL.test(k) && ownValue(before, k) !== v) return true;
  return false;
}

const annotation = (o: KubeObject | undefined, key: string): unknown => ownValue(ownValue(o?.metadata, "annotations"), key);
