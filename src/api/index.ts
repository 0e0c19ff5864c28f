// The public API of the resource model: what the registry, admin routes,
// gateway and agent import from `src/api`.
export { RESOURCES, KINDS, type Kind, type ResourceInfo } from "./resources";
export { decode, strictDecodingMessage, type DecodeResult } from "./decode";
export { setDefaults, NAMESPACE_NAME_LABEL } from "./defaults";
export { validateCreate, validateUpdate, validateStatusUpdate } from "./validate";
export {
  parseLabelSelector,
  matchesLabels,
  selectorFromSet,
  labelSelectorString,
  type LabelSelector,
  type Requirement,
  type Operator,
} from "./labels";
export { parseFieldSelector, matchesFields, type FieldSelector, type FieldRequirement } from "./fields";
export { applyMergePatch, applyJsonPatch, deepEqual, type PatchResult } from "./patch";
export { isHeadless, externallyAccessible, needsHealthCheck, CLUSTER_IP_NONE } from "./service-rules";
export * from "./types";
export * from "./status";
