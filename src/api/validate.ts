// Entry points for validation, dispatching on kind. Callers run setDefaults
// first, as the apiserver does (decode → default → validate → allocate).
import type { Kind } from "./resources";
import type { EndpointSlice, KubeObject, Namespace, Node, Pod, Service, StatusCause } from "./types";
import { validateEndpointSlice, validateEndpointSliceUpdate } from "./validate-endpointslice";
import { validateObjectMetaUpdate } from "./validate-meta";
import { validateNamespace, validateNamespaceUpdate, validateNode, validateNodeUpdate } from "./validate-node-namespace";
import { validatePod, validatePodStatusUpdate, validatePodUpdate } from "./validate-pod";
import { validateService, validateServiceStatusUpdate, validateServiceUpdate } from "./validate-service";

interface Validators<T extends KubeObject> {
  create(obj: T): StatusCause[];
  update(obj: T, old: T): StatusCause[];
  /** Writes to the `/status` subresource; only metadata immutability when absent. */
  status?(obj: T, old: T): StatusCause[];
}

const VALIDATORS: { [K in Kind]: Validators<never> } = {
  Service: { create: validateService, update: validateServiceUpdate, status: validateServiceStatusUpdate } satisfies Validators<Service>,
  Pod: { create: validatePod, update: validatePodUpdate, status: validatePodStatusUpdate } satisfies Validators<Pod>,
  EndpointSlice: { create: validateEndpointSlice, update: validateEndpointSliceUpdate } satisfies Validators<EndpointSlice>,
  Node: { create: validateNode, update: validateNodeUpdate, status: validateNodeUpdate } satisfies Validators<Node>,
  Namespace: { create: validateNamespace, update: validateNamespaceUpdate } satisfies Validators<Namespace>,
};

const validatorsFor = (obj: KubeObject): Validators<KubeObject> | undefined => (VALIDATORS as Record<string, Validators<KubeObject> | undefined>)[obj.kind];

export function validateCreate(obj: KubeObject): StatusCause[] {
  return validatorsFor(obj)?.create(obj) ?? [];
}

export function validateUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  return validatorsFor(obj)?.update(obj, old) ?? validateObjectMetaUpdate(obj.metadata, old.metadata);
}

export function validateStatusUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  return validatorsFor(obj)?.status?.(obj, old) ?? validateObjectMetaUpdate(obj.metadata, old.metadata);
}
