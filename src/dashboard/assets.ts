// The dashboard's static files, served from the admin host under /dashboard/ without a
// token: they hold no data. Every datum comes from the admin API, which the page calls
// with the admin token it keeps in sessionStorage (docs/dashboard.md). The files are
// Workers Static Assets (src/dashboard/public/, wrangler.toml's [assets]): uploaded beside
// the Worker, not bundled in it, and read here through the ASSETS binding, so that only
// this function decides which host and path see them.
import { dashboardHeaders } from "./security-headers";

export const DASHBOARD_PATH = "/dashboard/";

/** What the asset layer answers that the dashboard passes on: a file, or "not modified" for a matching ETag. */
const SERVED = new Set([200, 304]);

/** Media types by extension, as the Worker has always sent them (the asset layer's own differ in the charset). */
const CONTENT_TYPES = new Map([
  ["html", "text/html; charset=utf-8"],
  ["css", "text/css; charset=utf-8"],
  ["svg", "image/svg+xml"],
  ["js", "text/javascript; charset=utf-8"],
]);

/**
 * The asset at the request's path, or undefined when the path is not one (it may be the
 * dashboard's API, or a path that needs the token like the rest of the admin API).
 * GET and HEAD only; /dashboard/<file> is the asset directory's /<file>, and /dashboard/
 * its index.html.
 */
export async function dashboardAsset(request: Request, assets: Fetcher): Promise<Response | undefined> {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  const url = new URL(request.url);
  if (url.pathname === "/dashboard") return new Response(null, { status: 301, headers: { location: DASHBOARD_PATH } });
  if (!url.pathname.startsWith(DASHBOARD_PATH)) return undefined;
  const name = url.pathname.slice(DASHBOARD_PATH.length);
  const type = CONTENT_TYPES.get(name === "" ? "html" : (name.match(/\.([a-z]+)$/)?.[1] ?? ""));
  if (!type) return undefined;
  // Only what selects the answer goes to the asset layer: not the query, nor the caller's other headers.
  const headers = new Headers();
  const etag = request.headers.get("if-none-match");
  if (etag !== null) headers.set("if-none-match", etag);
  const res = await assets.fetch(new URL(`/${name}`, url.origin), { method: request.method, headers, redirect: "manual" });
  if (!SERVED.has(res.status)) {
    await res.body?.cancel();
    return undefined;
  }
  const out = dashboardHeaders(type);
  const tag = res.headers.get("etag");
  if (tag !== null) out.set("etag", tag);
  return new Response(request.method === "HEAD" ? null : res.body, { status: res.status, headers: out });
}
