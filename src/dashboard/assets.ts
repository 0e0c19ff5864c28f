// The dashboard's static files, served from the admin host under /dashboard/ without a
// token: they hold no data. Every datum comes from the admin API, which the page calls
// with the admin token it keeps in sessionStorage (docs/dashboard.md). No build step:
// each browser module is a string constant in src/dashboard/client/.
import { APP_JS } from "./client/app";
import { API_JS } from "./client/api";
import { DOM_JS } from "./client/dom";
import { ENDPOINTS_JS } from "./client/endpoints";
import { FIGURES_JS } from "./client/figures";
import { NODES_JS } from "./client/nodes";
import { PAGED_LIST_JS } from "./client/paged-list";
import { PAGER_JS } from "./client/pager";
import { SERVICE_JS } from "./client/service";
import { SERVICES_JS } from "./client/services";
import { SIGN_IN_JS } from "./client/sign-in";
import { WATCH_JS } from "./client/watch";
import { ICON_SVG, INDEX_HTML, STYLE_CSS } from "./client/page";
import { dashboardHeaders } from "./security-headers";

/** The page's ES modules, by file name (all text/javascript). */
const MODULES: Record<string, string> = {
  "app.js": APP_JS,
  "api.js": API_JS,
  "dom.js": DOM_JS,
  "endpoints.js": ENDPOINTS_JS,
  "figures.js": FIGURES_JS,
  "nodes.js": NODES_JS,
  "paged-list.js": PAGED_LIST_JS,
  "pager.js": PAGER_JS,
  "service.js": SERVICE_JS,
  "services.js": SERVICES_JS,
  "sign-in.js": SIGN_IN_JS,
  "watch.js": WATCH_JS,
};

/** File name under /dashboard/ → body and media type. */
const ASSETS = new Map<string, { body: string; type: string }>([
  ["", { body: INDEX_HTML, type: "text/html; charset=utf-8" }],
  ["style.css", { body: STYLE_CSS, type: "text/css; charset=utf-8" }],
  ["icon.svg", { body: ICON_SVG, type: "image/svg+xml" }],
  ...Object.entries(MODULES).map(([name, body]) => [name, { body, type: "text/javascript; charset=utf-8" }] as const),
]);

export const DASHBOARD_PATH = "/dashboard/";

/** The asset at `pathname`, or undefined when the path is not one (it may be the dashboard's API). */
export function dashboardAsset(pathname: string, method: string): Response | undefined {
  if (pathname === "/dashboard") return new Response(null, { status: 301, headers: { location: DASHBOARD_PATH } });
  if (!pathname.startsWith(DASHBOARD_PATH)) return undefined;
  const asset = ASSETS.get(pathname.slice(DASHBOARD_PATH.length));
  if (!asset) return undefined;
  return new Response(method === "HEAD" ? null : asset.body, { headers: dashboardHeaders(asset.type) });
}
