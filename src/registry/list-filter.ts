// List options: label and field selectors, and limit/continue pagination.
import { parseFieldSelector, matchesFields, parseLabelSelector, matchesLabels } from "../api/index";
import { status } from "../api/status";
import type { KubeObject, ListMeta, Status } from "../api/types";
import type { ResourceDef } from "./resources";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export type ListFilter = { ok: true; matches: (o: KubeObject) => boolean } | { ok: false; message: string };

export function buildListFilter(r: ResourceDef, opts: ListOptions): ListFilter {
  const label = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
  if (label && !label.ok) return { ok: false, message: label.message };
  let field: ReturnType<typeof parseFieldSelector> | undefined;
  if (opts.fieldSelector) {
    field = r.info ? parseFieldSelector(opts.fieldSelector, r.info.kind) : parseFieldSelector(opts.fieldSelector, "Namespace");
    if (!field.ok) return { ok: false, message: field.message };
  }
  const ls = label?.ok ? label.selector : undefined;
  const fs = field?.ok ? field.selector : undefined;
  return {
    ok: true,
    matches: (o) => (!ls || matchesLabels(ls, o.metadata.labels)) && (!fs || matchesFields(fs, o)),
  };
}

interface ContinueToken {
  rv: number;
  after: string;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** Pages a sorted list. The continue token names the last key served, so pages never repeat or skip a stored object. */
export function paginate(
  items: KubeObject[],
  opts: ListOptions,
  currentRv: number,
): { ok: true; items: KubeObject[]; metadata: ListMeta } | { ok: false; status: Status } {
  let start = 0;
  let rv = currentRv;
  if (opts.continue) {
    let token: ContinueToken;
    try {
      token = JSON.parse(atob(opts.continue)) as ContinueToken;
      if (typeof token.after !== "string" || typeof token.rv !== "number") throw new Error("shape");
    } catch {
      return { ok: false, status: status(400, "BadRequest", "continue key is not valid: illegal base64 data at input byte 0") };
    }
    rv = token.rv;
    start = items.findIndex((o) => keyOf(o) > token.after);
    if (start < 0) start = items.length;
  }
  const limit = opts.limit && opts.limit > 0 ? opts.limit : items.length;
  const page = items.slice(start, start + limit);
  const metadata: ListMeta = { resourceVersion: String(rv) };
  const remaining = items.length - (start + page.length);
  if (remaining > 0 && page.length > 0) {
    metadata.continue = btoa(JSON.stringify({ rv, after: keyOf(page[page.length - 1]!) } satisfies ContinueToken));
    metadata.remainingItemCount = remaining;
  }
  return { ok: true, items: page, metadata };
}
