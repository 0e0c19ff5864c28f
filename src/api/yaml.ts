// YAML, one implementation (js-yaml) for the whole product: request bodies and
// `Accept: application/yaml` answers on the Worker, static Pod manifests on the node.
// Reading uses YAML 1.2's core schema (no merge keys, timestamps or other YAML 1.1
// types; an unknown tag is an error) and refuses duplicate keys; writing quotes every
// string a YAML 1.1 reader (go-yaml in kubectl, PyYAML) would take for another type.
import { CORE_SCHEMA, constructFromEvents, dump, EVENT_ID, type Event, parseEvents, YAMLException } from "js-yaml";
import { MAX_NESTING_DEPTH } from "./plain-data";

/**
 * go-yaml's defence against alias bombs, as the apiserver reads YAML (sigs.k8s.io/yaml):
 * once a document has decoded more than 1,000 nodes and more than 100 of them through
 * aliases, the aliased share may be 99 % up to 400,000 nodes, falling to 10 % at 4,000,000.
 */
const ALIAS_CHECK_MIN_NODES = 1000;
const ALIAS_CHECK_MIN_ALIASED = 100;
const ALIAS_RATIO_LOW_NODES = 400_000;
const ALIAS_RATIO_HIGH_NODES = 4_000_000;

function allowedAliasRatio(nodes: number): number {
  if (nodes <= ALIAS_RATIO_LOW_NODES) return 0.99;
  if (nodes >= ALIAS_RATIO_HIGH_NODES) return 0.1;
  return 0.99 - (0.89 * (nodes - ALIAS_RATIO_LOW_NODES)) / (ALIAS_RATIO_HIGH_NODES - ALIAS_RATIO_LOW_NODES);
}

/**
 * Counts, in document order, the nodes each document expands to and how many of them
 * come through aliases, as go-yaml's decoder does, and refuses a document that aliases
 * too much: the parsed value shares an aliased node, but everything after (the checks
 * of a body, JSON.stringify, storage) walks it once per alias.
 */
function checkAliasing(source: string, events: readonly Event[]): void {
  const anchorNodes = new Map<string, number>();
  const open: { nodes: number; anchor: string | undefined }[] = [];
  let nodes = 0;
  let aliased = 0;
  const anchorOf = (e: { anchorStart: number; anchorEnd: number }) => (e.anchorStart < 0 ? undefined : source.slice(e.anchorStart, e.anchorEnd));
  const count = (n: number) => {
    nodes += n;
    const parent = open[open.length - 1];
    if (parent) parent.nodes += n;
  };
  for (const e of events) {
    if (e.type === EVENT_ID.DOCUMENT) {
      anchorNodes.clear();
      nodes = aliased = 0;
      open.push({ nodes: 0, anchor: undefined });
    } else if (e.type === EVENT_ID.SCALAR) {
      count(1);
      const anchor = anchorOf(e);
      if (anchor !== undefined) anchorNodes.set(anchor, 1);
    } else if (e.type === EVENT_ID.SEQUENCE || e.type === EVENT_ID.MAPPING) {
      nodes += 1;
      open.push({ nodes: 1, anchor: anchorOf(e) });
    } else if (e.type === EVENT_ID.POP) {
      const closed = open.pop()!;
      if (closed.anchor !== undefined) anchorNodes.set(closed.anchor, closed.nodes);
      const parent = open[open.length - 1];
      if (parent) parent.nodes += closed.nodes;
    } else if (e.type === EVENT_ID.ALIAS) {
      const target = anchorNodes.get(source.slice(e.anchorStart, e.anchorEnd)) ?? 0;
      aliased += target;
      count(1 + target);
      if (aliased > ALIAS_CHECK_MIN_ALIASED && nodes > ALIAS_CHECK_MIN_NODES && aliased / nodes > allowedAliasRatio(nodes))
        throw new Error("document contains excessive aliasing");
    }
  }
}

/** A YAML error as go-yaml words its place ("line 2: …"), without js-yaml's source snippet. */
function plainError(e: unknown, lineOffset: number): Error {
  if (!(e instanceof YAMLException)) return e instanceof Error ? e : new Error(String(e));
  return new Error(e.mark ? `line ${e.mark.line + 1 + lineOffset}: ${e.reason}` : e.reason);
}

function loadDocuments(text: string): unknown[] {
  const events = parseEvents(text, { maxDepth: MAX_NESTING_DEPTH });
  checkAliasing(text, events);
  return constructFromEvents(events, { source: text, schema: CORE_SCHEMA });
}

/** One YAML document (a request body) as data; an empty or comment-only one is null. Throws on bad YAML and on more than one document. */
export function parseYaml(text: string): unknown {
  let docs: unknown[];
  try {
    docs = loadDocuments(text);
  } catch (e) {
    throw plainError(e, 0);
  }
  if (docs.length > 1) throw new Error("expected a single document in the stream, but found more");
  return docs.length ? docs[0] : null;
}

export type YamlDocument = { ok: true; value: unknown } | { ok: false; error: string };

/** A line that starts a document: `---` alone or before a space (YAML forbids it inside a scalar). */
const DOCUMENT_START = /^---(?=[ \t\r\n]|$)/gm;
/** Directives, comments and blank lines before a `---` belong to the document it starts. */
const isPreamble = (text: string): boolean => text.split("\n").every((line) => /^(?:%|[ \t\r]*(?:#|$))/.test(line));

/**
 * Every document of a multi-document stream (a manifest file), as kubectl reads one:
 * split at its `---` lines and parsed one by one, so that a bad document is reported
 * and the others are still read. Empty documents are null.
 */
export function parseYamlDocuments(text: string): YamlDocument[] {
  const ends = [...[...text.matchAll(DOCUMENT_START)].map((m) => m.index).filter((i) => i > 0), text.length];
  const out: YamlDocument[] = [];
  let from = 0;
  for (const end of ends) {
    const chunk = text.slice(from, end);
    if (end < text.length && isPreamble(chunk)) continue;
    try {
      for (const value of loadDocuments(chunk)) out.push({ ok: true, value });
    } catch (e) {
      out.push({ ok: false, error: plainError(e, lineCount(text, from)).message });
    }
    from = end;
  }
  return out;
}

/** How many lines of `text` end before `offset`. */
function lineCount(text: string, offset: number): number {
  let lines = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) lines++;
  return lines;
}

/**
 * A value as YAML, block style, folded at 80 columns. Undefined fields are left out and
 * undefined array elements written as null, as JSON.stringify does; a value that
 * appears twice is written twice (no anchors: the clients' objects are trees).
 */
export const toYaml = (value: unknown): string => dump(value, { noRefs: true, skipInvalid: true });
