// core/v1 Events: svcedge records none, but `kubectl describe` lists them and
// `kubectl get events -w` watches them. The list is always empty; a watch stays
// open, silent, until its timeout, as an apiserver's would with no events.
import { MAX_WATCH_SECONDS } from "../registry/watch-hub";

export function emptyEventList() {
  return { kind: "EventList", apiVersion: "v1", metadata: { resourceVersion: "0" }, items: [] };
}

export function silentWatch(timeoutSeconds?: number): ReadableStream<Uint8Array> {
  const seconds = Math.min(timeoutSeconds && timeoutSeconds > 0 ? timeoutSeconds : MAX_WATCH_SECONDS, MAX_WATCH_SECONDS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => controller.close(), seconds * 1000);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
    },
  });
}
