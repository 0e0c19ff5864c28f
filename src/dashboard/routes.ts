// Mounts the dashboard on the admin app: its static files ahead of authentication (a
// browser cannot send a bearer token when it navigates), its one JSON route behind it.
import type { Hono, MiddlewareHandler } from "hono";
import { forbidden, status } from "../api/status";
import type { Env } from "../env";
import { userName, type Caller } from "../registry/authorize";
import { statusResponse } from "../admin/respond";
import { applyGatewayVars } from "../gateway/config";
import { dashboardAsset } from "./assets";
import { edgeView } from "./edge-view";

type AdminEnv = { Bindings: Env; Variables: { caller: Caller } };

/** GET and HEAD of /dashboard and /dashboard/<file>; anything else goes on to the authenticated app. */
export const dashboardAssets: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const asset = await dashboardAsset(c.req.raw, c.env.ASSETS);
  if (asset) return asset;
  await next();
};

/** Registers the authenticated routes; call after the authentication middleware. */
export function mountDashboardApi(app: Hono<AdminEnv>): void {
  app.get("/dashboard/api/edge/namespaces/:namespace/services/:name", async (c) => {
    const caller = c.get("caller");
    if (caller.kind !== "admin") return statusResponse(forbidden(userName(caller), "get", "dashboard", "", "at the cluster scope"));
    // The origin guard that parsing applies follows the Worker's variables, as on the gateway's path.
    applyGatewayVars(c.env);
    const view = await edgeView(c.env, c.req.param("namespace"), c.req.param("name"));
    if (!view) return statusResponse(status(404, "NotFound", "the server could not find the requested resource"));
    return c.json(view);
  });
}
