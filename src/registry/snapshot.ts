// Lists as of one resourceVersion, as kube-apiserver serves them from etcd: the
// objects a resource had at `rv`, in key order, read a page at a time. Rows written
// since `rv` are replaced by what they were then, from the watch history; objects
// deleted since come back from it. So a paged list (limit/continue) is one consistent
// snapshot however many writes happen between its pages, for as long as the history
// still reaches back to `rv`.
import type { KubeObject } from "../api/types";
import type { ObjectStore } from "./store";
import type { ObjectKey, WatchHistory } from "./watch-history";

/** The history no longer reaches the snapshot's resourceVersion. */
export class SnapshotExpired extends Error {}

const PAGE = 500;

const compareKeys = (a: ObjectKey, b: ObjectKey): number =>
  a.namespace !== b.namespace ? (a.namespace < b.namespace ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

const keyOfObject = (o: KubeObject): ObjectKey => ({ namespace: o.metadata.namespace ?? "", name: o.metadata.name ?? "" });

/** The objects of `resource` (in `namespace`, if given) after key `after`, as they were at `rv`. Throws SnapshotExpired. */
export function* objectsAt<T extends KubeObject = KubeObject>(
  store: ObjectStore,
  history: WatchHistory,
  resource: string,
  namespace: string | undefined,
  rv: number,
  after: ObjectKey = { namespace: "", name: "" },
): IterableIterator<T> {
  let from = after;
  for (;;) {
    const current = store.resourceVersion === rv;
    if (!current && !history.canResume(rv)) throw new SnapshotExpired();
    const rows: T[] = [];
    for (const obj of store.each<T>(resource, namespace, from)) {
      rows.push(obj);
      if (rows.length === PAGE) break;
    }
    const full = rows.length === PAGE;
    const upTo = full ? keyOfObject(rows[rows.length - 1]!) : undefined;
    if (current) {
      yield* rows;
    } else {
      // Rows changed since rv are taken from the history instead, which also brings back deleted ones.
      const then = history.statesAt(resource, rv, namespace, from, upTo);
      const page: { key: ObjectKey; obj: T }[] = rows.filter((o) => Number(o.metadata.resourceVersion) <= rv).map((obj) => ({ key: keyOfObject(obj), obj }));
      for (const { key, state } of then) if (state) page.push({ key, obj: state as T });
      page.sort((a, b) => compareKeys(a.key, b.key));
      for (const { obj } of page) yield obj;
    }
    if (!full) return;
    from = upTo!;
  }
}
