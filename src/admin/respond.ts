// Responses of the admin API: JSON by default, YAML when asked, Status for errors.
import type { Status } from "../api/types";
import { toYaml } from "../api/yaml";
import { acceptRanges } from "./media-type";
import { warningHeaderValues } from "./warnings";

export function wantsYaml(req: Request): boolean {
  return acceptRanges(req.headers.get("accept"))[0]?.type === "application/yaml";
}

export function objectResponse(req: Request, body: unknown, code = 200, warnings: string[] = []): Response {
  const headers = new Headers();
  for (const value of warningHeaderValues(warnings)) headers.append("Warning", value);
  if (wantsYaml(req)) {
    headers.set("content-type", "application/yaml");
    return new Response(toYaml(body), { status: code, headers });
  }
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status: code, headers });
}

/** A document written as it is produced (a list, page by page), in the media type objectResponse would give it. */
export function streamedResponse(req: Request, body: ReadableStream<Uint8Array>): Response {
  return new Response(body, { headers: { "content-type": wantsYaml(req) ? "application/yaml" : "application/json" } });
}

export function statusResponse(s: Status): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (s.code === 401) headers["www-authenticate"] = 'Bearer realm="svcedge"';
  return new Response(JSON.stringify(s), { status: s.code, headers });
}

/**
 * A watch stream. Compression would hold events back (a gzip stream flushes in
 * blocks; Go clients always send Accept-Encoding: gzip), so the response says it
 * is not encoded: Cloudflare (and miniflare's emulation of it) leaves a response
 * alone when it already carries a Content-Encoding other than gzip/br, and
 * `no-transform` asks every intermediary to do the same.
 */
export function watchResponse(stream: ReadableStream<Uint8Array>): Response {
  return new Response(stream, { headers: { "content-type": "application/json", "cache-control": "no-cache, no-transform", "content-encoding": "identity" } });
}
