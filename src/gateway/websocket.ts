// WebSocket upgrades take their own path: the Upgrade header must reach the pod and
// the pod's 101 Response (which carries the socket) must come back untouched, which
// generic proxies such as hono/proxy do not do.

/** RFC 6455 §4.1: an opening handshake is a GET with `Upgrade: websocket`. */
export function isWebSocketUpgrade(request: Request): boolean {
  if (request.method !== "GET") return false;
  const upgrade = request.headers.get("upgrade");
  return upgrade?.split(",").some((token) => token.trim().toLowerCase() === "websocket") ?? false;
}
