// Watch events as Tables: `kubectl get -w` watches with the Table Accept header,
// and every ADDED/MODIFIED/DELETED event then carries a one-row Table. The
// registry streams newline-delimited JSON; this rewrites it line by line.
import type { KubeObject, WatchEvent } from "../api/types";
import { toTable, type IncludeObject } from "./tables";

const NEWLINE = "\n";

/**
 * Rewrites a newline-delimited watch stream: each event line becomes the lines `convert` returns (none to drop it).
 * Blank lines pass through: they are the registry's probes for a client that went away (watch-hub.ts).
 */
export function mapWatchLines(source: ReadableStream<Uint8Array>, convert: (line: string) => string[]): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  const emit = (line: string, controller: TransformStreamDefaultController<Uint8Array>) => {
    if (!line.trim()) return controller.enqueue(encoder.encode(NEWLINE));
    const out = convert(line);
    if (out.length) controller.enqueue(encoder.encode(out.join(NEWLINE) + NEWLINE));
  };
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = pending.indexOf(NEWLINE)) >= 0) {
          const line = pending.slice(0, i);
          pending = pending.slice(i + 1);
          emit(line, controller);
        }
      },
      flush(controller) {
        emit(pending, controller);
      },
    }),
  );
}

export function tableWatchStream(resource: string, source: ReadableStream<Uint8Array>, include: IncludeObject): ReadableStream<Uint8Array> {
  return mapWatchLines(source, (line) => {
    const ev = JSON.parse(line) as WatchEvent;
    if (ev.type === "ERROR" || ev.type === "BOOKMARK") return [line];
    const obj = ev.object as KubeObject;
    return [JSON.stringify({ type: ev.type, object: toTable(resource, [obj], { resourceVersion: obj.metadata.resourceVersion ?? "" }, include) })];
  });
}
