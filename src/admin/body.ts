// Request bodies: size cap, then JSON or YAML by Content-Type.
import { badRequest, status, tooLarge, unsupportedMediaType } from "../api/status";
import type { Status } from "../api/types";
import { PATCH_CONTENT_TYPES, type PatchType } from "../registry/patching";
import { ownValue, unsafeDataReason } from "../api/plain-data";
import { parseYaml } from "../api/yaml";
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE, ProtobufError } from "./protobuf";
import { parseMediaType } from "./media-type";

/** kube-apiserver's default --max-request-body-bytes is 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export type ParsedBody = { ok: true; value: unknown; patchType?: PatchType } | { ok: false; status: Status };

const mediaType = (contentType: string | null): string => parseMediaType(contentType ?? "").type;

export async function readText(req: Request): Promise<{ ok: true; text: string } | { ok: false; status: Status }> {
  const bytes = await readBytes(req);
  return bytes.ok ? { ok: true, text: new TextDecoder().decode(bytes.bytes) } : bytes;
}

async function readBytes(req: Request): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; status: Status }> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return { ok: false, status: tooLarge(MAX_BODY_BYTES) };
  if (!req.body) return { ok: true, bytes: new Uint8Array() };
  // A declared length frames the body (HTTP ends it there): one read of it all, not a chunk at a time.
  if (req.headers.has("content-length")) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    return bytes.byteLength > MAX_BODY_BYTES ? { ok: false, status: tooLarge(MAX_BODY_BYTES) } : { ok: true, bytes };
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return { ok: false, status: tooLarge(MAX_BODY_BYTES) };
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return { ok: true, bytes: all };
}

/** Parses a create/update body (`patch` false) or a patch body (`patch` true). */
export async function parseBody(req: Request, patch: boolean): Promise<ParsedBody> {
  const type = mediaType(req.headers.get("content-type"));
  let patchType: PatchType | undefined;
  if (patch) {
    patchType = ownValue(PATCH_CONTENT_TYPES, type) as PatchType | undefined;
    if (!patchType)
      return {
        ok: false,
        status: status(
          415,
          "UnsupportedMediaType",
          `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(", ")}`,
        ),
      };
  } else if (type === PROTOBUF_MEDIA_TYPE) {
    const bytes = await readBytes(req);
    if (!bytes.ok) return bytes;
    try {
      return checkedBody(decodeKubernetesProtobuf(bytes.bytes));
    } catch (e) {
      if (e instanceof ProtobufError) return { ok: false, status: status(415, "UnsupportedMediaType", e.message) };
      throw e;
    }
  } else if (!["application/json", "application/yaml", "application/x-yaml", "text/yaml"].includes(type)) {
    return { ok: false, status: unsupportedMediaType(type || "(none)") };
  }
  const text = await readText(req);
  if (!text.ok) return text;
  if (text.text.trim() === "") return { ok: false, status: badRequest("the request body is empty") };
  const yaml = type.includes("yaml");
  try {
    const value = yaml ? parseYaml(text.text) : JSON.parse(text.text);
    return checkedBody(value, patchType);
  } catch (e) {
    const detail = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return {
      ok: false,
      status: badRequest(yaml ? `error converting YAML to JSON: yaml: ${detail}` : `couldn't get version/kind; json parse error: ${detail}`),
    };
  }
}

/** A parsed body is data: one that could reach a prototype or exhaust the stack is refused whole. */
function checkedBody(value: unknown, patchType?: PatchType): ParsedBody {
  const unsafe = unsafeDataReason(value);
  if (unsafe) return { ok: false, status: badRequest(`the request body is invalid: ${unsafe}`) };
  return patchType ? { ok: true, value, patchType } : { ok: true, value };
}
