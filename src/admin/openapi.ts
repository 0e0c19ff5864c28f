// OpenAPI v3, the part kubectl reads: an index at /openapi/v3 and one JSON
// document per group-version. Every PATCH operation carries
// x-kubernetes-group-version-kind and a `fieldValidation` query parameter, which
// is how kubectl (cli-runtime query_param_verifier_v3) learns to leave validation
// to the server instead of asking for /openapi/v2 in protobuf. The PATCH request
// bodies do not list application/strategic-merge-patch+json, so kubectl builds
// its apply patches from its built-in Go types (which carry the merge keys).
import { SCHEMAS, goTypeOf, nodeOf } from "../api/schemas";
import type { z } from "zod";
import type { ResourceDef } from "../registry/resources";
import { ownValue } from "../api/plain-data";
import { FIELD_DESCRIPTIONS, REQUIRED_FIELDS, TYPE_DESCRIPTIONS } from "./openapi-descriptions";
import { groupVersions, type ServedResource } from "./served-resources";
import { contentHash } from "../api/content-hash";

type Json = Record<string, unknown>;

/** "api/v1" or "apis/<group>/<version>": the keys of the index and the document URLs. */
export const gvPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

const PATCH_BODY_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];

const PACKAGE: Record<string, string> = {
  "": "io.k8s.api.core.v1",
  "discovery.k8s.io": "io.k8s.api.discovery.v1",
  "coordination.k8s.io": "io.k8s.api.coordination.v1",
};
const schemaName = (d: ResourceDef): string => `${PACKAGE[d.group] ?? d.group}.${d.kind}`;
const ref = (d: ResourceDef): Json => ({ $ref: `#/components/schemas/${schemaName(d)}` });

const queryParam = (name: string, description: string, type = "string"): Json => ({ name, in: "query", description, schema: { type, uniqueItems: true } });
const pathParam = (name: string, description: string): Json => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string", uniqueItems: true },
});

const FIELD_VALIDATION = queryParam(
  "fieldValidation",
  "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
);
const FIELD_MANAGER = queryParam("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes.");
const DRY_RUN = queryParam("dryRun", "When present, indicates that modifications should not be persisted. Valid values are: All.");
const FORCE = queryParam(
  "force",
  'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.',
  "boolean",
);
const LIST_PARAMS = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "timeoutSeconds", "watch", "allowWatchBookmarks"].map((n) =>
  queryParam(
    n,
    `${n} for list and watch calls.`,
    n === "limit" || n === "timeoutSeconds" ? "integer" : n === "watch" || n === "allowWatchBookmarks" ? "boolean" : "string",
  ),
);

function operation(d: ResourceDef, action: string, extra: Json, subresource?: string): Json {
  return {
    operationId: `${action}${d.kind}${subresource ? "Status" : ""}`,
    responses: { "200": { description: "OK", content: { "application/json": { schema: ref(d) } } }, "401": { description: "Unauthorized" } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: d.group, version: d.version, kind: d.kind },
    ...extra,
  };
}

function writeBody(d: ResourceDef): Json {
  return { content: { "application/json": { schema: ref(d) }, "application/yaml": { schema: ref(d) } }, required: true };
}

function itemOperations(r: ServedResource, subresource?: string): Json {
  const d = r.def;
  const ops: Json = { get: operation(d, "get", {}, subresource) };
  if (!r.verbs.includes("patch")) return ops;
  ops.put = operation(d, "put", { requestBody: writeBody(d), parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION] }, subresource);
  ops.patch = operation(
    d,
    "patch",
    {
      requestBody: {
        content: Object.fromEntries(PATCH_BODY_TYPES.map((t) => [t, { schema: { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch" } }])),
        required: true,
      },
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
    },
    subresource,
  );
  if (!subresource)
    ops.delete = operation(d, "delete", {
      parameters: [
        DRY_RUN,
        queryParam("gracePeriodSeconds", "seconds before the object is deleted", "integer"),
        queryParam("propagationPolicy", "Orphan, Background or Foreground"),
      ],
    });
  return ops;
}

function resourcePaths(r: ServedResource): Record<string, Json> {
  const d = r.def;
  const prefix = `/${gvPath(d.group, d.version)}`;
  const base = d.namespaced ? `${prefix}/namespaces/{namespace}/${d.resource}` : `${prefix}/${d.resource}`;
  const common = (params: Json[]): Json => ({ parameters: params });
  const nsParam = d.namespaced ? [pathParam("namespace", "object name and auth scope, such as for teams and projects")] : [];
  const nameParam = pathParam("name", `name of the ${d.kind}`);
  const collection: Json = { ...common(nsParam), get: operation(d, "list", { parameters: LIST_PARAMS }) };
  if (r.verbs.includes("create")) collection.post = operation(d, "post", { requestBody: writeBody(d), parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION] });
  const paths: Record<string, Json> = { [base]: collection, [`${base}/{name}`]: { ...common([...nsParam, nameParam]), ...itemOperations(r) } };
  if (d.namespaced) paths[`${prefix}/${d.resource}`] = { get: operation(d, "list", { parameters: LIST_PARAMS }) };
  for (const s of r.subresources)
    if (s.kind === d.kind) paths[`${base}/{name}/${s.name}`] = { ...common([...nsParam, nameParam]), ...itemOperations({ ...r, verbs: s.verbs }, s.name) };
  return paths;
}

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

/** As kube-apiserver publishes it: kubectl explain prints such a field as <IntOrString>. */
/**
 * As kube-apiserver publishes it in OpenAPI v3 (intstr's OpenAPIV3OneOfTypes): no `type`, so that
 * kubectl explain names a field of it <IntOrString>, as it names a field of a struct after the struct.
 */
const INT_OR_STRING_SCHEMA: Json = {
  description: TYPE_DESCRIPTIONS["intstr.IntOrString"],
  oneOf: [{ type: "integer" }, { type: "string" }],
  format: "int-or-string",
};

/** The packages of the Go types that are not their document's group's own (v1.ObjectMeta is meta/v1, not core/v1). */
const META_TYPES = new Set(["v1.ObjectMeta", "v1.OwnerReference", "v1.ManagedFieldsEntry"]);
const CORE_TYPES_ELSEWHERE = new Set(["v1.ObjectReference"]);

/** The component name of a Go type ("v1.ServicePort" → io.k8s.api.core.v1.ServicePort) in a group's document. */
function componentName(goType: string, group: string): string {
  const name = goType.slice(goType.indexOf(".") + 1);
  if (META_TYPES.has(goType)) return `io.k8s.apimachinery.pkg.apis.meta.v1.${name}`;
  return `${CORE_TYPES_ELSEWHERE.has(goType) ? PACKAGE[""] : (PACKAGE[group] ?? group)}.${name}`;
}

const described = (schema: Json, description: string | undefined): Json => (description ? { description, ...schema } : schema);
const refTo = (name: string): Json => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] });

/** The schema of a Go struct, with upstream's descriptions; the structs it holds become components, referenced. */
function structSchema(s: z.ZodType, shape: Record<string, z.ZodType>, doc: DocumentSchemas): Json {
  const go = goTypeOf(s);
  const fields = FIELD_DESCRIPTIONS[go] ?? {};
  const properties = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, described(jsonSchema(v, doc), ownValue(fields, k) as string | undefined)]));
  const required = REQUIRED_FIELDS[go];
  return described({ type: "object", properties, ...(required ? { required } : {}) }, TYPE_DESCRIPTIONS[go]);
}

interface DocumentSchemas {
  group: string;
  schemas: Record<string, Json>;
}

/** JSON Schema of a zod schema from src/api/schemas, as a reference to a component for structs and IntOrString. */
function jsonSchema(s: z.ZodType, doc: DocumentSchemas): Json {
  const node = nodeOf(s);
  switch (node.type) {
    case "object": {
      const name = componentName(goTypeOf(s), doc.group);
      if (!doc.schemas[name]) {
        doc.schemas[name] = {};
        doc.schemas[name] = structSchema(s, node.shape, doc);
      }
      return refTo(name);
    }
    case "array":
      return { type: "array", items: jsonSchema(node.element, doc) };
    case "map":
      return { type: "object", additionalProperties: jsonSchema(node.value, doc) };
    case "raw":
      return { type: "object" };
    default: {
      const go = goTypeOf(s);
      if (go === "intstr.IntOrString") {
        doc.schemas[INT_OR_STRING] = INT_OR_STRING_SCHEMA;
        return refTo(INT_OR_STRING);
      }
      if (/^u?int/.test(go)) return { type: "integer", format: go.replace(/^u/, "") };
      if (go === "bool") return { type: "boolean" };
      return { type: "string" };
    }
  }
}

const LEASE_SCHEMA: Json = {
  type: "object",
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: {
      type: "object",
      properties: {
        holderIdentity: { type: "string" },
        leaseDurationSeconds: { type: "integer", format: "int32" },
        acquireTime: { type: "string" },
        renewTime: { type: "string" },
        leaseTransitions: { type: "integer", format: "int32" },
      },
    },
  },
};

function kindSchema(d: ResourceDef, doc: DocumentSchemas): Json {
  const schema = d.info ? SCHEMAS[d.info.kind] : undefined;
  const node = schema && nodeOf(schema);
  const body =
    node?.type === "object"
      ? structSchema(schema!, node.shape, doc)
      : d.kind === "Lease"
        ? LEASE_SCHEMA
        : { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  return { ...body, "x-kubernetes-group-version-kind": [{ group: d.group, version: d.version, kind: d.kind }] };
}

export function openApiDocument(group: string, version: string): Json | undefined {
  const gv = groupVersions().find((g) => g.group === group && g.version === version);
  if (!gv) return undefined;
  const paths: Record<string, Json> = {};
  const schemas: Record<string, Json> = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
      type: "object",
      description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    },
  };
  for (const r of gv.resources) {
    Object.assign(paths, resourcePaths(r));
    schemas[schemaName(r.def)] = kindSchema(r.def, { group, schemas });
  }
  return { openapi: "3.0.0", info: { title: "svcedge", version: "v1.32.0" }, paths, components: { schemas } };
}

const documents = new Map<string, { json: string; hash: string }>();

/** The serialized document and its content hash, built once per isolate (pure data). */
export function openApiJson(group: string, version: string): { json: string; hash: string } | undefined {
  const key = gvPath(group, version);
  let doc = documents.get(key);
  if (!doc) {
    const value = openApiDocument(group, version);
    if (!value) return undefined;
    const json = JSON.stringify(value);
    // A cache-busting hash for serverRelativeURL (kube-apiserver uses SHA-512; any content hash will do), not a security boundary.
    doc = { json, hash: contentHash(json).toString(16).toUpperCase().padStart(16, "0") };
    documents.set(key, doc);
  }
  return doc;
}

export function openApiIndex(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions()) {
    const key = gvPath(gv.group, gv.version);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${openApiJson(gv.group, gv.version)!.hash}` };
  }
  return { paths };
}
