// List options: label and field selectors, and limit/continue pagination.
import { parseFieldSelector, matchesFields, parseLabelSelector, matchesLabels } from "../api/index";
import { status } from "../api/status";
import type { KubeObject, ListMeta, Status } from "../api/types";
import type { ResourceDef } from "./resources";
import { SnapshotExpired } from "./snapshot";
import type { ObjectKey } from "./watch-history";

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
  /** The last key served, "namespace/name". */
  after: string;
}

/** Bytes of JSON one page may hold at most, whatever its item count: an RPC value is at most 32 MiB. */
export const LIST_PAGE_MAX_BYTES = 8 * 1024 * 1024;

/** Where a page reads from: the objects as of a resourceVersion (snapshot.ts), in key order. */
export interface PageSource {
  currentRv: number;
  /** Whether a snapshot at `rv` can still be read (the history reaches back to it). */
  canRead(rv: number): boolean;
  objectsAt(rv: number, after: ObjectKey): Iterable<KubeObject>;
  /** How many objects come after `after` now: remainingItemCount is an estimate, as the apiserver's. */
  countAfter(after: ObjectKey): number;
}

const keyText = (o: KubeObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const encodeToken = (t: ContinueToken): string => btoa(JSON.stringify(t));

/** A continue token for a whole list as of `rv` (410 once the history no longer reaches it): how the admin API reads a snapshot to resume a watch from. */
export const continueTokenAt = (rv: number): string => encodeToken({ rv, after: "" });

function parseKey(text: string): ObjectKey {
  const i = text.indexOf("/");
  return i < 0 ? { namespace: "", name: text } : { namespace: text.slice(0, i), name: text.slice(i + 1) };
}

/**
 * One page of a list: at most `limit` matching objects (and at most LIST_PAGE_MAX_BYTES),
 * all as of one resourceVersion, the first page's, which the continue token carries; so
 * pages never repeat or skip an object, whatever is written between them. A token whose
 * resourceVersion the history no longer reaches gets 410 Expired with a token that goes on
 * from the same key at the current resourceVersion, as kube-apiserver answers.
 */
export function listPage(
  src: PageSource,
  matches: (o: KubeObject) => boolean,
  opts: ListOptions,
  selective: boolean,
): { ok: true; items: KubeObject[]; metadata: ListMeta } | { ok: false; status: Status } {
  let rv = src.currentRv;
  let after: ObjectKey = { namespace: "", name: "" };
  if (opts.continue) {
    let token: ContinueToken;
    try {
      token = JSON.parse(atob(opts.continue)) as ContinueToken;
      if (typeof token.after !== "string" || typeof token.rv !== "number") throw new Error("shape");
    } catch {
      return { ok: false, status: status(400, "BadRequest", "continue key is not valid: illegal base64 data at input byte 0") };
    }
    after = parseKey(token.after);
    if (token.rv !== src.currentRv && !src.canRead(token.rv)) {
      const expired = status(410, "Expired", CONTINUE_EXPIRED);
      expired.metadata = { continue: encodeToken({ rv: src.currentRv, after: token.after }) };
      return { ok: false, status: expired };
    }
    rv = token.rv;
  }
  const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
  const items: KubeObject[] = [];
  let bytes = 0;
  let more = false;
  try {
    for (const obj of src.objectsAt(rv, after)) {
      if (!matches(obj)) continue;
      if (items.length >= limit || bytes >= LIST_PAGE_MAX_BYTES) {
        more = true;
        break;
      }
      items.push(obj);
      bytes += JSON.stringify(obj).length;
    }
  } catch (e) {
    if (!(e instanceof SnapshotExpired)) throw e;
    // The history was compacted past rv while this page was read.
    const expired = status(410, "Expired", CONTINUE_EXPIRED);
    expired.metadata = {
      continue: encodeToken({ rv: src.currentRv, after: items.length ? keyText(items[items.length - 1]!) : `${after.namespace}/${after.name}` }),
    };
    return { ok: false, status: expired };
  }
  const metadata: ListMeta = { resourceVersion: String(rv) };
  if (more && items.length > 0) {
    const last = items[items.length - 1]!;
    metadata.continue = encodeToken({ rv, after: keyText(last) });
    // With a selector the apiserver cannot know how many remain, and leaves the count out.
    if (!selective) metadata.remainingItemCount = src.countAfter(parseKey(keyText(last)));
  }
  return { ok: true, items, metadata };
}

const CONTINUE_EXPIRED =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
