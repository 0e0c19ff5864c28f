// Field selectors as k8s.io/apimachinery/pkg/fields parses them (`a=b`, `a==b`,
// `a!=b`, comma-joined, `\` escapes), restricted to the field labels the
// apiserver supports for each kind (its AddFieldLabelConversionFunc tables).
import type { Kind } from "./resources";
import type { KubeObject, Node, Pod, Service, Namespace } from "./types";

export interface FieldRequirement {
  field: string;
  operator: "=" | "==" | "!=";
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
}

export type FieldParseResult = { ok: true; selector: FieldSelector } | { ok: false; message: string };

type Getter = (obj: never) => string;
const name: Getter = (o: KubeObject) => o.metadata.name ?? "";
const namespace: Getter = (o: KubeObject) => o.metadata.namespace ?? "";

/**
 * The selectable fields of each kind and how to read them (missing values are
 * ""). Cluster-scoped Nodes and Namespaces do not offer metadata.namespace.
 */
const FIELD_GETTERS: Record<Kind, Record<string, Getter>> = {
  Service: {
    "metadata.name": name,
    "metadata.namespace": namespace,
    "spec.clusterIP": (s: Service) => s.spec.clusterIP ?? "",
    "spec.type": (s: Service) => s.spec.type ?? "",
  },
  Pod: {
    "metadata.name": name,
    "metadata.namespace": namespace,
    "spec.nodeName": (p: Pod) => p.spec.nodeName ?? "",
    // Fields svcedge does not store hold the values Kubernetes would default them to.
    "spec.restartPolicy": () => "Always",
    "spec.schedulerName": () => "default-scheduler",
    "spec.serviceAccountName": () => "",
    "spec.hostNetwork": () => "false",
    "status.phase": (p: Pod) => p.status?.phase ?? "",
    "status.podIP": (p: Pod) => p.status?.podIP ?? "",
    "status.nominatedNodeName": () => "",
  },
  EndpointSlice: { "metadata.name": name, "metadata.namespace": namespace },
  Node: {
    "metadata.name": name,
    "spec.unschedulable": (n: Node) => String(n.spec?.unschedulable ?? false),
  },
  Namespace: {
    "metadata.name": name,
    "status.phase": (n: Namespace) => n.status?.phase ?? "",
  },
};

/** Old v1 clients send spec.host for spec.nodeName. */
const FIELD_ALIASES: Partial<Record<Kind, Record<string, string>>> = { Pod: { "spec.host": "spec.nodeName" } };

const OPERATORS = ["!=", "==", "="] as const;
const KINDS_WITH_FIELD_CONVERSIONS = new Set<Kind>(["Service", "Pod", "Node", "Namespace"]);

/** Splits on unescaped commas (fields.splitTerms). */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    if (escaped) escaped = false;
    else if (s[i] === "\\") escaped = true;
    else if (s[i] === ",") {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** Splits a term at its first operator (fields.splitTerm; escapes matter only in values). */
function splitTerm(term: string): { field: string; operator: FieldRequirement["operator"]; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), operator: op, value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  let out = "";
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== "\\" && c !== "," && c !== "=") throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (c === "," || c === "=") {
      // Go prints the rune with %v, i.e. as its code point.
      throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw new Error("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** fields.ParseSelector plus the per-kind field label check; the empty string selects everything. */
export function parseFieldSelector(s: string, kind: Kind): FieldParseResult {
  const requirements: FieldRequirement[] = [];
  try {
    // apimachinery sorts the terms before parsing them, so errors follow that order.
    for (const part of splitTerms(s).sort()) {
      if (part === "") continue;
      const t = splitTerm(part);
      if (!t) return { ok: false, message: `invalid selector: '${s}'; can't understand '${part}'` };
      const field = FIELD_ALIASES[kind]?.[t.field] ?? t.field;
      requirements.push({ field, operator: t.operator, value: unescapeValue(t.value) });
    }
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  for (const r of requirements) {
    if (r.field in FIELD_GETTERS[kind]) continue;
    // Kinds without their own conversion function get apimachinery's default one, worded differently.
    const message = KINDS_WITH_FIELD_CONVERSIONS.has(kind)
      ? `field label not supported: ${r.field}`
      : `${JSON.stringify(r.field)} is not a known field selector: only "metadata.name", "metadata.namespace"`;
    return { ok: false, message };
  }
  return { ok: true, selector: { requirements } };
}

function fieldValue(obj: KubeObject, field: string): string {
  const getter = (FIELD_GETTERS as Record<string, Record<string, (o: KubeObject) => string> | undefined>)[obj.kind]?.[field];
  return getter ? getter(obj) : "";
}

export function matchesFields(sel: FieldSelector, obj: KubeObject): boolean {
  return sel.requirements.every((r) => (r.operator === "!=" ? fieldValue(obj, r.field) !== r.value : fieldValue(obj, r.field) === r.value));
}
