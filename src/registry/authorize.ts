// Who may do what: a pure policy, reviewed and tested alone. The admin may do
// everything. A node token follows Kubernetes' NodeRestriction admission: it may
// read what an agent needs, write its own Node and Lease, write the status of Pods
// bound to its node, and create, edit and delete the Pods it registers for its node.
import { forbidden } from "../api/status";
import type { KubeObject, Pod, Status } from "../api/types";
import { NODE_LEASE_NAMESPACE, REGISTERED_BY_ANNOTATION } from "../api/types";

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
}

const NODE_READABLE = new Set(["services", "endpointslices", "pods", "nodes", "namespaces", "leases"]);

export const userName = (caller: Caller): string => (caller.kind === "admin" ? "admin" : `system:node:${caller.node}`);

/** Returns undefined when allowed, otherwise the 403 Status to send. */
export function authorize(caller: Caller, a: Access): Status | undefined {
  if (caller.kind === "admin") return undefined;
  if (allowedForNode(caller.node, a)) return undefined;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return forbidden(userName(caller), a.verb, resource, a.group, scope, a.name);
}

function allowedForNode(node: string, a: Access): boolean {
  if (a.verb === "get" || a.verb === "list" || a.verb === "watch") return NODE_READABLE.has(a.resource) && !a.subresource;
  switch (a.resource) {
    case "nodes":
      // Its own Node object and status; never delete, never another node.
      return a.verb !== "delete" && a.name === node && (!a.subresource || a.subresource === "status");
    case "leases":
      return a.namespace === NODE_LEASE_NAMESPACE && a.name === node && !a.subresource;
    case "pods":
      return podWriteAllowed(node, a);
    default:
      return false;
  }
}

function podWriteAllowed(node: string, a: Access): boolean {
  const current = a.current as Pod | undefined;
  const next = a.next as Pod | undefined;
  const boundHere = (p?: Pod) => p?.spec?.nodeName === node;
  const registeredHere = (p?: Pod) => p?.metadata.annotations?.[REGISTERED_BY_ANNOTATION] === node;
  if (a.subresource === "status") return boundHere(current);
  if (a.subresource) return false;
  if (a.verb === "create") return boundHere(next);
  if (a.verb === "delete") return boundHere(current) && registeredHere(current);
  // update/patch: only its own registered pods, and they must stay on this node.
  return boundHere(current) && registeredHere(current) && (next === undefined || boundHere(next));
}
