// The admin API: Kubernetes REST over Hono. Every route is authenticated.
import { Hono } from "hono";
import { internalError, status, unauthorized } from "../api/status";
import type { Env } from "../env";
import type { Caller } from "../registry/authorize";
import { identify } from "./auth";
import { handleResource } from "./resource-handler";
import { statusResponse } from "./respond";

type AdminEnv = { Bindings: Env; Variables: { caller: Caller } };

export function createAdminApp(): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.onError((err) => {
    // Log the failure, never the request's credentials.
    console.error(JSON.stringify({ level: "error", msg: "admin request failed", error: err instanceof Error ? err.message : String(err) }));
    return statusResponse(internalError("an unexpected error occurred"));
  });
  app.notFound(() => statusResponse(status(404, "NotFound", "the server could not find the requested resource")));

  app.use("*", async (c, next) => {
    const caller = await identify(c.req.raw, c.env);
    if (!caller) return statusResponse(unauthorized());
    c.set("caller", caller);
    await next();
  });

  app.get("/version", (c) =>
    c.json({ major: "1", minor: "32", gitVersion: "v1.32.0-svcedge", gitCommit: "", gitTreeState: "clean", buildDate: "", goVersion: "", compiler: "svcedge", platform: "workers/wasm" }),
  );
  app.all("/api/*", (c) => handleResource(c.req.raw, c.env, c.get("caller")));
  app.all("/apis/*", (c) => handleResource(c.req.raw, c.env, c.get("caller")));
  return app;
}
