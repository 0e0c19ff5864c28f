// The registry's source of truth: every object, held in memory for reads and
// persisted in the Durable Object's SQLite storage on every write. The single
// Durable Object serializes writes, so a resourceVersion is just a counter.
// A write is one SQLite transaction (the object and the counter together), and
// memory changes only after it committed: a write that fails leaves no trace.
import type { KubeObject } from "../api/types";

/**
 * Largest stored object, in bytes of JSON: etcd's default --max-request-bytes
 * (1.5 MiB), which also keeps every row under a Durable Object SQLite row's 2 MB.
 */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

const utf8 = new TextEncoder();

/** The stored form of an object and its size, as the limit counts it. */
export function serialize(obj: KubeObject): { json: string; bytes: number } {
  const json = JSON.stringify(obj);
  // A UTF-16 unit is at most 3 bytes of UTF-8: encode only when the limit could be near.
  const bytes = json.length * 3 <= MAX_OBJECT_BYTES ? json.length : utf8.encode(json).byteLength;
  return { json, bytes };
}

export interface StoredRef {
  resource: string;
  namespace: string; // "" for cluster-scoped resources
  name: string;
}

export const objectKey = (resource: string, namespace: string, name: string): string => `${resource}/${namespace}/${name}`;

export class ObjectStore {
  /** resource → namespace → name → object. */
  private readonly byResource = new Map<string, Map<string, Map<string, KubeObject>>>();
  private rv = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    for (const row of sql.exec<{ key: string; value: string }>("SELECT key, value FROM objects")) {
      const [resource, namespace, name] = splitKey(row.key);
      this.bucket(resource, namespace).set(name, JSON.parse(row.value) as KubeObject);
    }
    const rv = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'rv'").toArray()[0];
    this.rv = rv ? Number(rv.value) : 0;
  }

  get resourceVersion(): number {
    return this.rv;
  }


  get<T extends KubeObject = KubeObject>(resource: string, namespace: string, name: string): T | undefined {
    return this.byResource.get(resource)?.get(namespace)?.get(name) as T | undefined;
  }

  /** Objects of a resource, optionally in one namespace, sorted by namespace then name (the list order kubectl expects). */
  list<T extends KubeObject = KubeObject>(resource: string, namespace?: string): T[] {
    return [...this.each<T>(resource, namespace)].sort(compareObjects);
  }

  /** The same objects, unsorted: for controllers, which must not pay for ordering. */
  *each<T extends KubeObject = KubeObject>(resource: string, namespace?: string): IterableIterator<T> {
    const byNs = this.byResource.get(resource);
    if (!byNs) return;
    if (namespace !== undefined) {
      yield* (byNs.get(namespace)?.values() ?? []) as IterableIterator<T>;
      return;
    }
    for (const names of byNs.values()) yield* names.values() as IterableIterator<T>;
  }

  count(resource: string): number {
    let n = 0;
    for (const names of this.byResource.get(resource)?.values() ?? []) n += names.size;
    return n;
  }

  /**
   * Stamps the next resourceVersion on `obj` and stores it. Returns its stored form (JSON).
   * Callers check MAX_OBJECT_BYTES first (with `serialize`); a row SQLite refuses throws here with nothing changed.
   */
  put(resource: string, obj: KubeObject): string {
    const namespace = obj.metadata.namespace ?? "";
    const name = obj.metadata.name!;
    const previousRv = obj.metadata.resourceVersion;
    const rv = this.rv + 1;
    obj.metadata.resourceVersion = String(rv);
    const json = JSON.stringify(obj);
    try {
      this.transaction(() => {
        this.sql.exec("INSERT OR REPLACE INTO objects (key, value) VALUES (?, ?)", objectKey(resource, namespace, name), json);
        this.saveRv(rv);
      });
    } catch (e) {
      obj.metadata.resourceVersion = previousRv;
      throw e;
    }
    this.rv = rv;
    this.bucket(resource, namespace).set(name, obj);
    return json;
  }

  /** Deletes an object; returns the resourceVersion of the deletion. */
  delete(resource: string, namespace: string, name: string): string {
    const rv = this.rv + 1;
    this.transaction(() => {
      this.sql.exec("DELETE FROM objects WHERE key = ?", objectKey(resource, namespace, name));
      this.saveRv(rv);
    });
    this.rv = rv;
    this.byResource.get(resource)?.get(namespace)?.delete(name);
    return String(rv);
  }

  private saveRv(rv: number): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", String(rv));
  }

  private bucket(resource: string, namespace: string): Map<string, KubeObject> {
    let byNs = this.byResource.get(resource);
    if (!byNs) this.byResource.set(resource, (byNs = new Map()));
    let names = byNs.get(namespace);
    if (!names) byNs.set(namespace, (names = new Map()));
    return names;
  }
}

export function compareObjects(a: KubeObject, b: KubeObject): number {
  const an = a.metadata.namespace ?? "";
  const bn = b.metadata.namespace ?? "";
  if (an !== bn) return an < bn ? -1 : 1;
  const a1 = a.metadata.name ?? "";
  const b1 = b.metadata.name ?? "";
  return a1 < b1 ? -1 : a1 > b1 ? 1 : 0;
}

function splitKey(key: string): [string, string, string] {
  const i = key.indexOf("/");
  const j = key.indexOf("/", i + 1);
  return [key.slice(0, i), key.slice(i + 1, j), key.slice(j + 1)];
}
