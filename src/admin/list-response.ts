// Lists over bounded RPC pages. A Durable Object RPC carries at most 32 MiB
// ("Serialized RPC arguments or return values are limited to 32MiB"), so the
// Worker asks the Registry for at most LIST_RPC_PAGE_ITEMS objects at a time.
// A list without `limit` is one List (or Table), JSON or YAML, written to the
// client as the pages arrive: the Worker holds one page, never the whole list.
import type { KubeObject, List } from "../api/types";
import type { ListOptions } from "../registry/list-filter";
import type { Result } from "../registry/registry";
import { jsonDocumentWriter, yamlDocumentWriter, type DocumentWriter } from "./list-encoding";
import { objectResponse, statusResponse, streamedResponse, wantsYaml } from "./respond";
import { listToTable, tableHead, tableRow, type IncludeObject } from "./tables";

/** One Registry RPC: a page of at most `opts.limit` objects (src/registry/registry.ts `list`). */
export type ListPageSource = (opts: ListOptions) => Promise<Result<List>>;

/** Set when the client asked for a Table (kubectl get). */
export interface TableRendering {
  resource: string;
  include: IncludeObject;
}

/** Text enqueued per chunk: 30,000 Pods are not 30,000 writes, and the heap stays flat. */
const LIST_CHUNK_CHARS = 64 * 1024;

/**
 * With `limit`, one page of at most min(limit, pageItems) objects and the
 * registry's continue token: kube-apiserver may also serve fewer than `limit`.
 * Without it, every page, streamed. Errors before the first byte are a Status.
 */
export async function listResponse(req: Request, source: ListPageSource, opts: ListOptions, pageItems: number, table?: TableRendering): Promise<Response> {
  if (opts.limit) {
    const page = await source({ ...opts, limit: Math.min(opts.limit, pageItems) });
    if (!page.ok) return statusResponse(page.status);
    return objectResponse(req, table ? listToTable(table.resource, page.value, table.include) : page.value);
  }
  const first = await source({ ...opts, limit: pageItems });
  if (!first.ok) return statusResponse(first.status);
  // Later pages name their place by the continue token alone: kube-apiserver refuses a resourceVersion beside one.
  const { resourceVersion: _rv, continue: _token, ...selection } = opts;
  const nextPage = (token: string) => source({ ...selection, limit: pageItems, continue: token });
  const { items, ...head } = first.value;
  const { continue: token, remainingItemCount: _remaining, ...metadata } = head.metadata;
  head.metadata = metadata;
  const write = wantsYaml(req) ? yamlDocumentWriter : jsonDocumentWriter;
  const now = Date.now();
  const body = table
    ? pagedBody(items, token, nextPage, write(tableHead(table.resource, metadata), "rows"), (o) => tableRow(table.resource, o, table.include, now))
    : pagedBody(items, token, nextPage, write(head, "items"), (o) => o);
  return streamedResponse(req, body);
}

/**
 * The pages as one document, pulled as the client reads. A page that fails after
 * the first has been sent (410 Expired when the snapshot is gone, a broken RPC)
 * ends the body with a line no JSON or YAML parser accepts, then errors the
 * stream: the client gets a broken list, never a valid short one, and relists.
 * (A YAML list cut between items would parse; and a Worker's errored body may
 * still end like a complete one, as it does under wrangler dev.) kube-apiserver
 * serves unpaged lists from its watch cache and never fails halfway.
 */
function pagedBody(
  firstItems: KubeObject[],
  firstToken: string | undefined,
  nextPage: (token: string) => Promise<Result<List>>,
  writer: DocumentWriter,
  element: (o: KubeObject) => unknown,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let items = firstItems;
  let at = 0;
  let token = firstToken;
  let text = writer.start();
  let failed: Error | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // The client has read the broken line (a pull comes only when the queue has room).
      if (failed) throw failed;
      while (at === items.length && token !== undefined && text === "") {
        items = [];
        const page = await fetchPage(nextPage, token);
        if (typeof page === "string") {
          failed = listAborted(page);
          controller.enqueue(encoder.encode(`\n]]] ${failed.message}\n`));
          return;
        }
        items = page.items;
        at = 0;
        token = page.metadata.continue;
      }
      while (at < items.length && text.length < LIST_CHUNK_CHARS) text += writer.element(element(items[at++]!));
      if (at === items.length && token === undefined) {
        controller.enqueue(encoder.encode(text + writer.end()));
        controller.close();
        items = [];
        return;
      }
      controller.enqueue(encoder.encode(text));
      text = "";
    },
    cancel() {
      items = [];
    },
  });
}

/** The page after `token`, or why there is none. */
async function fetchPage(nextPage: (token: string) => Promise<Result<List>>, token: string): Promise<List | string> {
  let page: Result<List>;
  try {
    page = await nextPage(token);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (!page.ok) return `${page.status.code} ${page.status.reason}: ${page.status.message}`;
  // A token the registry answers with again would loop forever.
  if (page.value.metadata.continue === token) return "the registry answered with the continue token it was given";
  return page.value;
}

/** Logs why a list stopped after its first page; the returned error ends its stream. */
function listAborted(why: string): Error {
  console.error(JSON.stringify({ level: "error", msg: "list aborted after its first page", error: why }));
  return new Error(`list aborted after its first page: ${JSON.stringify(why)}`);
}
