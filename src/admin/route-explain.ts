// `GET /debug/routes/<host>` (admin only): why a gateway host does or does not route. The
// gateway answers an unknown host with an opaque 404 to everyone; the admin asks here and
// gets the gateway's checks one by one (src/gateway/explain-route.ts), plus the registry's
// KV writes still waiting for the flush, which explain a record that has not arrived yet.
import type { Hono } from "hono";
import { forbidden } from "../api/status";
import type { Env } from "../env";
import type { Caller } from "../registry/authorize";
import { userName } from "../registry/authorize";
import { applyGatewayVars, gatewayConfig } from "../gateway/config";
import { explainRoute } from "../gateway/explain-route";
import { registryStub } from "./auth";
import { statusResponse } from "./respond";

export const ROUTE_EXPLAIN_PATH = "/debug/routes";

export function mountRouteExplain(app: Hono<{ Bindings: Env; Variables: { caller: Caller } }>): void {
  app.get(`${ROUTE_EXPLAIN_PATH}/:host`, async (c) => {
    const caller = c.get("caller");
    if (caller.kind !== "admin") return statusResponse(forbidden(userName(caller), "get", "routes", "", "at the cluster scope"));
    applyGatewayVars(c.env);
    const explanation = await explainRoute(c.env.KV, c.req.param("host"), gatewayConfig().adminHosts);
    const { kvPending, endpointsQueued } = await registryStub(c.env).stats();
    return c.json({ ...explanation, registry: { kvWritesPending: kvPending, endpointSyncsPending: endpointsQueued } });
  });
}
