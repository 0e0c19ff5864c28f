// Browser module /dashboard/pager.js: one page of a list, assembled from the API's
// pages (`limit` and `continue`), so that the dashboard never loads a whole
// collection. The server may answer fewer items than asked (kube-apiserver may; this
// Worker does at LIST_RPC_PAGE_ITEMS), so a page can span several requests. With a
// filter, requests scan SCAN_LIMIT objects at a time, at most MAX_SCAN_REQUESTS per
// page; a page can end part-way through a server page, hence cursors of (token, skip).
import { getJson } from "./api.js";

/** Objects asked for per request while filtering: kubectl's default chunk size. */
export const SCAN_LIMIT = 500;
/** Requests one filtered page may make (10,000 objects) before it stops and offers Next. */
export const MAX_SCAN_REQUESTS = 20;

export const FIRST = Object.freeze({ token: null, skip: 0 });

/**
 * Returns { items, resourceVersion, next, scanned, remaining, partial }: next is the
 * cursor of the following page (null at the end); remaining is the server's estimate
 * of what follows (unfiltered lists only); partial says the scan stopped early.
 */
export async function loadPage(path, cursor, pageSize, matches, signal) {
  const filtering = typeof matches === "function";
  let token = cursor.token;
  let skip = cursor.skip;
  const items = [];
  let scanned = 0;
  let requests = 0;
  let resourceVersion = "";
  for (;;) {
    const q = new URLSearchParams();
    q.set("limit", String(filtering ? SCAN_LIMIT : pageSize - items.length + skip));
    if (token) q.set("continue", token);
    const list = await getJson(`${path}?${q.toString()}`, { signal });
    requests += 1;
    const meta = list.metadata || {};
    if (!resourceVersion) resourceVersion = meta.resourceVersion || "";
    const got = list.items || [];
    const following = meta.continue || null;
    for (let i = skip; i < got.length; i++) {
      scanned += 1;
      if (filtering && !matches(got[i])) continue;
      items.push(got[i]);
      if (items.length === pageSize) {
        const rest = got.length - (i + 1);
        const next = rest > 0 ? { token, skip: i + 1 } : following ? { token: following, skip: 0 } : null;
        const remaining = filtering || !next ? undefined : rest + (meta.remainingItemCount || 0);
        return { items, resourceVersion, next, scanned, remaining, partial: false };
      }
    }
    if (!following) return { items, resourceVersion, next: null, scanned, remaining: 0, partial: false };
    token = following;
    skip = 0;
    if (filtering && requests >= MAX_SCAN_REQUESTS) return { items, resourceVersion, next: { token, skip: 0 }, scanned, remaining: undefined, partial: true };
  }
}

/** Every page of a (small, selected) list: a Service's EndpointSlices, say. */
export async function loadAll(path, params, signal) {
  const items = [];
  let token = null;
  let resourceVersion = "";
  do {
    const q = new URLSearchParams(params || {});
    q.set("limit", String(SCAN_LIMIT));
    if (token) q.set("continue", token);
    const list = await getJson(`${path}?${q.toString()}`, { signal });
    if (!resourceVersion) resourceVersion = list.metadata?.resourceVersion || "";
    items.push(...(list.items || []));
    token = list.metadata?.continue || null;
  } while (token);
  return { items, resourceVersion };
}
