// The 404 for what svcedge does not serve (a Deployment, an apps/v1 path, OpenAPI v2) says
// what it does serve, in its Status and in a Warning header. client-go replaces a 404's
// message with its own ("the server could not find the requested resource") wherever it
// reads a body raw, as kubectl's validation does with /openapi/v2, but prints every Warning.
// So `kubectl apply -f deployment.yaml` shows "Warning: svcedge serves … only" above its
// error: kubectl finds no apps/v1 in /openapi/v3, falls back to /openapi/v2, and fails there.
import { status } from "../api/status";
import { statusResponse } from "./respond";
import { SERVED } from "./served-resources";
import { warningHeaderValues } from "./warnings";

const WRITABLE_KINDS = SERVED.filter((r) => r.verbs.includes("create")).map((r) => `${r.def.kind}s`);

export const SERVED_KINDS_NOTE = `svcedge serves ${WRITABLE_KINDS.slice(0, -1).join(", ")} and ${WRITABLE_KINDS.at(-1)} only`;

function notServed(message: string): Response {
  const res = statusResponse(status(404, "NotFound", message));
  for (const value of warningHeaderValues([SERVED_KINDS_NOTE])) res.headers.append("Warning", value);
  return res;
}

/** A resource path of a kind or group-version svcedge does not serve. */
export const resourceNotServed = (): Response => notServed(`the server could not find the requested resource: ${SERVED_KINDS_NOTE}`);

/** kubectl asks for OpenAPI v2 only for a group-version that /openapi/v3 does not list: a kind svcedge does not serve. */
export const openApiV2NotServed = (): Response =>
  notServed(`the server could not find the requested resource: ${SERVED_KINDS_NOTE} (their OpenAPI is v3, at /openapi/v3)`);
