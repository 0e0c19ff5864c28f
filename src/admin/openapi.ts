// OpenAPI v3, the part kubectl reads: an index at /openapi/v3 and one JSON
// document per group-version. Every PATCH operation carries
// x-kubernetes-group-version-kind and a `fieldValidation` query parameter, which
// is how kubectl (cli-runtime query_param_verifier_v3) learns to leave validation
// to the server instead of asking for /openapi/v2 in protobuf. The PATCH request
// bodies do not list application/strategic-merge-patch+json, so kubectl builds
// its apply patches from its built-in Go types (which carry the merge keys).
import { API_TYPES, KIND_SCHEMAS, goTypeOf, nodeOf, unwrap } from "../api/schemas";
import * as z from "zod/mini";
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
const COMPONENT_REF = "#/components/schemas/";
const ref = (d: ResourceDef): Json => ({ $ref: `${COMPONENT_REF}${schemaName(d)}` });

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

const described = (schema: Json, description: string | undefined): Json => (description ? { description, ...schema } : schema);

/**
 * As kube-apiserver publishes it in OpenAPI v3 (intstr's OpenAPIV3OneOfTypes): no `type`, so that
 * kubectl explain names a field of it <IntOrString>, as it names a field of a struct after the struct.
 */
const INT_OR_STRING_SCHEMA: Json = {
  description: TYPE_DESCRIPTIONS["intstr.IntOrString"],
  oneOf: [{ type: "integer" }, { type: "string" }],
  format: "int-or-string",
};

/** Empties `target` and fills it with `source` (toJSONSchema's override edits its schemas in place). */
function replaceWith(target: Json, source: Json): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, source);
}

/** Where the override leaves a struct's Go type for `withDescriptions`, which removes it. */
const GO_TYPE = "x-svcedge-go-type";

/**
 * Rewrites toJSONSchema's rendering of one schema as kube-apiserver's OpenAPI v3 has it: Go
 * integer formats instead of bounds, IntOrString as intstr publishes it, references to structs as
 * `allOf: [{$ref}]`, maps without propertyNames, no defaults. A struct's fields are not final yet
 * when zod calls this, so a struct only gets its Go type noted here (see `withDescriptions`).
 */
function asKubernetes({ zodSchema, jsonSchema: json }: { zodSchema: unknown; jsonSchema: Json }): void {
  const s = zodSchema as z.ZodMiniType;
  delete json.default;
  delete json.goType; // API_TYPES' entry, which toJSONSchema copies in
  if (s !== unwrap(s)) return; // an optional or defaulted field: its type's rendering, less the default
  const go = goTypeOf(s);
  const node = nodeOf(s);
  if (go === "intstr.IntOrString") replaceWith(json, INT_OR_STRING_SCHEMA);
  else if (/^u?int/.test(go)) replaceWith(json, { type: "integer", format: go.replace(/^u/, "") });
  else if (node.type === "raw") replaceWith(json, { type: "object" });
  else if (node.type === "map") replaceWith(json, { type: "object", additionalProperties: json.additionalProperties });
  else if (node.type === "array") {
    const items = json.items as Json;
    replaceWith(json, { type: "array", items: items.$ref ? { allOf: [items] } : items });
  } else if (node.type === "object") replaceWith(json, { [GO_TYPE]: go, type: "object", properties: json.properties });
}

/** A struct's schema with upstream's descriptions (of the type and of each field) and required fields. */
function withDescriptions(schema: Json): Json {
  const { [GO_TYPE]: go, ...body } = schema;
  if (typeof go !== "string") return body;
  const fields = FIELD_DESCRIPTIONS[go] ?? {};
  const properties = Object.fromEntries(
    Object.entries(body.properties as Record<string, Json>).map(([k, v]) => [k, described(v, ownValue(fields, k) as string | undefined)]),
  );
  const required = REQUIRED_FIELDS[go];
  return described({ type: "object", properties, ...(required ? { required } : {}) }, TYPE_DESCRIPTIONS[go]);
}

let components: Record<string, Json> | undefined;

/**
 * Every struct the kinds' schemas hold (and IntOrString), by its OpenAPI name (its id in API_TYPES),
 * as kube-apiserver publishes it. Each kind's toJSONSchema puts the structs it holds in its
 * `definitions` (the refs to them are the only strings starting `"#/definitions/`); the documents
 * have them as components. (z.toJSONSchema of each kind's schema, not of the registry, which with
 * zod classic brought 4 KiB more of zod into the Worker.)
 */
function allComponents(): Record<string, Json> {
  if (!components) {
    const found: Record<string, Json> = {};
    for (const schema of Object.values(KIND_SCHEMAS)) {
      const json = JSON.stringify(z.toJSONSchema(schema, { metadata: API_TYPES, target: "openapi-3.0", override: asKubernetes }));
      const { definitions } = JSON.parse(json.replaceAll('"#/definitions/', `"${COMPONENT_REF}`)) as { definitions: Record<string, Json> };
      for (const [name, body] of Object.entries(definitions)) found[name] ??= withDescriptions(body);
    }
    components = found;
  }
  return components;
}

/** Adds the components `schema` refers to (and those they refer to) to a document's, in the order they are met. */
function addReferenced(schema: unknown, doc: Record<string, Json>): void {
  if (Array.isArray(schema)) for (const v of schema) addReferenced(v, doc);
  else if (schema && typeof schema === "object") {
    const { $ref } = schema as Json;
    if (typeof $ref === "string" && $ref.startsWith(COMPONENT_REF)) {
      const name = $ref.slice(COMPONENT_REF.length);
      if (!doc[name]) {
        doc[name] = {};
        addReferenced(allComponents()[name], doc);
        doc[name] = allComponents()[name]!;
      }
    }
    for (const v of Object.values(schema)) addReferenced(v, doc);
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

function kindSchema(d: ResourceDef, doc: Record<string, Json>): Json {
  const body = d.info ? allComponents()[schemaName(d)] : d.kind === "Lease" ? LEASE_SCHEMA : undefined;
  addReferenced(body, doc);
  return {
    ...(body ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true }),
    "x-kubernetes-group-version-kind": [{ group: d.group, version: d.version, kind: d.kind }],
  };
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
    schemas[schemaName(r.def)] = kindSchema(r.def, schemas);
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
