// Watch events as Tables: `kubectl get -w` watches with the Table Accept header,
// and every ADDED/MODIFIED/DELETED event then carries a one-row Table. The
// registry streams newline-delimited JSON; this rewrites it line by line.
import type { KubeObject, WatchEvent } from "../api/types";
import { toTable, type IncludeObject } from "./tables";

const NEWLINE = 10;

export function tableWatchStream(resource: string, source: ReadableStream<Uint8Array>, include: IncludeObject): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  const convert = (line: string): string => {
    const ev = JSON.parse(line) as WatchEvent;
    if (ev.type === "ERROR" || ev.type === "BOOKMARK") return line;
    const obj = ev.object as KubeObject;
    return JSON.stringify({ type: ev.type, object: toTable(resource, [obj], { resourceVersion: obj.metadata.resourceVersion ?? "" }, include) });
  };
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = pending.indexOf(String.fromCharCode(NEWLINE))) >= 0) {
          const line = pending.slice(0, i);
          pending = pending.slice(i + 1);
          if (line.trim()) controller.enqueue(encoder.encode(convert(line) + "\n"));
        }
      },
      flush(controller) {
        if (pending.trim()) controller.enqueue(encoder.encode(convert(pending) + "\n"));
      },
    }),
  );
}
