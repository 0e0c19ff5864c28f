// The admin API: Kubernetes REST over Hono. Every route is authenticated.
import { Hono } from "hono";
import { badRequest, forbidden, internalError, status, unauthorized } from "../api/status";
import type { Env } from "../env";
import type { Caller } from "../registry/authorize";
import { identify, registryStub } from "./auth";
import { HEALTH_ENDPOINTS, healthResponse } from "./health";
import { renderMetrics } from "./metrics";
import { userName } from "../registry/authorize";
import { AGGREGATED_DISCOVERY_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from "./discovery";
import { openApiIndex, openApiJson } from "./openapi";
import { malformedEscape } from "./paths";
import { requestDeadline, requestTimedOut, withinDeadline } from "./request-deadline";
import { handleResource } from "./resource-handler";
import { objectResponse, statusResponse } from "./respond";
import { openApiV2NotServed } from "./unserved";
import { mountRouteExplain } from "./route-explain";
import { dashboardAssets, mountDashboardApi } from "../dashboard/routes";

type AdminEnv = { Bindings: Env; Variables: { caller: Caller } };

export function createAdminApp(): Hono<AdminEnv> {
  // Not strict: kube-apiserver answers /api/, /apis/, /api/v1/ and /version/ as it answers them without the slash.
  const app = new Hono<AdminEnv>({ strict: false });

  app.onError((err) => {
    // Log the failure, never the request's credentials.
    console.error(JSON.stringify({ level: "error", msg: "admin request failed", error: err instanceof Error ? err.message : String(err) }));
    return statusResponse(internalError("an unexpected error occurred"));
  });
  app.notFound(() => statusResponse(status(404, "NotFound", "the server could not find the requested resource")));

  // Every request but a watch has a deadline: the `timeout` parameter's, within the apiserver's maximum.
  app.use("*", async (c, next) => {
    const deadline = requestDeadline(new URL(c.req.url));
    if (!deadline) return next();
    if ("status" in deadline) return statusResponse(deadline.status);
    c.res = await withinDeadline(
      next().then(() => c.res),
      deadline.ms,
      () => statusResponse(requestTimedOut()),
    );
  });

  // Health is public, as kube-apiserver's system:public-info-viewer role makes it; admin hosts only.
  for (const endpoint of Object.keys(HEALTH_ENDPOINTS)) {
    app.get(`/${endpoint}`, (c) => healthResponse(endpoint, undefined, new URL(c.req.url), c.env) ?? notFound());
    app.get(`/${endpoint}/:check`, (c) => healthResponse(endpoint, c.req.param("check"), new URL(c.req.url), c.env) ?? notFound());
  }

  // The dashboard's static files carry no data and are served without a token (docs/dashboard.md).
  app.use("/dashboard/*", dashboardAssets);
  app.use("/dashboard", dashboardAssets);
  app.use("*", async (c, next) => {
    const caller = await identify(c.req.raw, c.env);
    if (!caller) return statusResponse(unauthorized());
    c.set("caller", caller);
    await next();
  });
  app.use("*", async (c, next) => {
    const badEscape = malformedEscape(new URL(c.req.url).pathname);
    if (badEscape !== undefined) return statusResponse(badRequest(`invalid URL escape ${JSON.stringify(badEscape)}`));
    await next();
  });

  app.get("/version", (c) =>
    c.json({
      major: "1",
      minor: "32",
      gitVersion: "v1.32.0-svcedge",
      gitCommit: "",
      gitTreeState: "clean",
      buildDate: "",
      goVersion: "",
      compiler: "svcedge",
      platform: "workers/wasm",
    }),
  );
  // Discovery: aggregated when the client asks for it (one request per root), legacy otherwise.
  const discovery = (req: Request, core: boolean, legacy: () => unknown): Response => {
    if (!wantsAggregated(req.headers.get("accept"))) return withVary(objectResponse(req, legacy()));
    return withVary(new Response(JSON.stringify(aggregatedDiscovery(core)), { headers: { "content-type": AGGREGATED_DISCOVERY_TYPE } }));
  };
  app.get("/api", (c) => discovery(c.req.raw, true, () => apiVersions(new URL(c.req.url).host)));
  app.get("/apis", (c) => discovery(c.req.raw, false, apiGroupList));
  app.get("/api/:version{v[0-9a-z]+}", (c) => resourceList(c.req.raw, "", c.req.param("version")));
  app.get("/apis/:group", (c) => objectOrNotFound(c.req.raw, apiGroup(c.req.param("group"))));
  app.get("/apis/:group/:version{v[0-9a-z]+}", (c) => resourceList(c.req.raw, c.req.param("group"), c.req.param("version")));

  app.get("/metrics", async (c) => {
    if (c.get("caller").kind !== "admin") return statusResponse(forbidden(userName(c.get("caller")), "get", "metrics", "", "at the cluster scope"));
    const text = renderMetrics(await registryStub(c.env).stats());
    return new Response(text, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
  });
  mountRouteExplain(app);
  mountDashboardApi(app);

  app.get("/openapi/v2", () => openApiV2NotServed());
  app.get("/openapi/v3", (c) => objectResponse(c.req.raw, openApiIndex()));
  app.get("/openapi/v3/api/:version", (c) => openApiResponse("", c.req.param("version")));
  app.get("/openapi/v3/apis/:group/:version", (c) => openApiResponse(c.req.param("group"), c.req.param("version")));

  app.all("/api/*", (c) => handleResource(c.req.raw, c.env, c.get("caller")));
  app.all("/apis/*", (c) => handleResource(c.req.raw, c.env, c.get("caller")));
  return app;
}

const notFound = () => statusResponse(status(404, "NotFound", "the server could not find the requested resource"));

function resourceList(req: Request, group: string, version: string): Response {
  return objectOrNotFound(req, apiResourceList(group, version));
}

const objectOrNotFound = (req: Request, doc: unknown): Response => (doc ? objectResponse(req, doc) : notFound());

function openApiResponse(group: string, version: string): Response {
  const doc = openApiJson(group, version);
  if (!doc) return notFound();
  return new Response(doc.json, { headers: { "content-type": "application/json", etag: `"${doc.hash}"` } });
}

/** Discovery answers differ by Accept; caches between kubectl and the Worker must keep them apart. */
function withVary(res: Response): Response {
  res.headers.set("vary", "Accept");
  return res;
}
