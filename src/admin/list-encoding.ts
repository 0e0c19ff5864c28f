// A document whose last field is an array (a List's `items`, a Table's `rows`),
// written in pieces: the head, each element as it arrives, then the end. The
// pieces joined are byte for byte what respond.ts writes for the whole object
// (JSON.stringify, or src/api/yaml.ts's toYaml), so a
// streamed list reads exactly like an unstreamed one.
import { toYaml } from "../api/yaml";

export interface DocumentWriter {
  start(): string;
  element(value: unknown): string;
  end(): string;
}

/** `head` holds every field before `field`, in order; `field` comes last. */
export function jsonDocumentWriter(head: object, field: string): DocumentWriter {
  let count = 0;
  return {
    start() {
      const open = JSON.stringify(head).slice(0, -1);
      return `${open}${open === "{" ? "" : ","}${JSON.stringify(field)}:[`;
    },
    // An array writes an undefined element as null.
    element: (value) => (count++ === 0 ? "" : ",") + (JSON.stringify(value) ?? "null"),
    end: () => "]}",
  };
}

/**
 * Each element is stringified inside a one-element `field:` sequence and cut out
 * of it, so it sits at the depth it has in the whole document: the YAML writer
 * folds long strings at a line width that counts the indentation.
 */
export function yamlDocumentWriter(head: object, field: string): DocumentWriter {
  const key = toYaml({ [field]: [] }).replace(/ \[\]\n$/, "\n");
  let count = 0;
  return {
    start: () => (Object.keys(head).length ? toYaml(head) : ""),
    element: (value) => (count++ === 0 ? key : "") + toYaml({ [field]: [value] }).slice(key.length),
    end: () => (count === 0 ? toYaml({ [field]: [] }) : ""),
  };
}
