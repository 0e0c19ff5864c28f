// The registry's source of truth: every object, held in memory for reads and
// persisted in the Durable Object's SQLite storage on every write. The single
// Durable Object serializes writes, so a resourceVersion is just a counter.
import type { KubeObject } from "../api/types";

export interface StoredRef {
  resource: string;
  namespace: string; // "" for cluster-scoped resources
  name: string;
}

export const objectKey = (resource: string, namespace: string, name: string): string => `${resource}/${namespace}/${name}`;

export class ObjectStore {
  private readonly byResource = new Map<string, Map<string, KubeObject>>();
  private rv = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    for (const row of sql.exec<{ key: string; value: string }>("SELECT key, value FROM objects")) {
      const [resource, namespace, name] = splitKey(row.key);
      this.bucket(resource).set(`${namespace}/${name}`, JSON.parse(row.value) as KubeObject);
    }
    const rv = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'rv'").toArray()[0];
    this.rv = rv ? Number(rv.value) : 0;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Reserve the next resourceVersion; the caller stamps it on the object it writes. */
  nextResourceVersion(): string {
    this.rv += 1;
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", String(this.rv));
    return String(this.rv);
  }

  get<T extends KubeObject = KubeObject>(resource: string, namespace: string, name: string): T | undefined {
    return this.byResource.get(resource)?.get(`${namespace}/${name}`) as T | undefined;
  }

  /** Objects of a resource, optionally in one namespace, sorted by namespace then name (the list order kubectl expects). */
  list<T extends KubeObject = KubeObject>(resource: string, namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.byResource.get(resource)?.values() ?? []) {
      if (namespace === undefined || (obj.metadata.namespace ?? "") === namespace) out.push(obj as T);
    }
    return out.sort(compareObjects);
  }

  count(resource: string): number {
    return this.byResource.get(resource)?.size ?? 0;
  }

  put(resource: string, obj: KubeObject): void {
    const namespace = obj.metadata.namespace ?? "";
    const name = obj.metadata.name!;
    this.bucket(resource).set(`${namespace}/${name}`, obj);
    this.sql.exec("INSERT OR REPLACE INTO objects (key, value) VALUES (?, ?)", objectKey(resource, namespace, name), JSON.stringify(obj));
  }

  delete(resource: string, namespace: string, name: string): void {
    this.byResource.get(resource)?.delete(`${namespace}/${name}`);
    this.sql.exec("DELETE FROM objects WHERE key = ?", objectKey(resource, namespace, name));
  }

  private bucket(resource: string): Map<string, KubeObject> {
    let b = this.byResource.get(resource);
    if (!b) this.byResource.set(resource, (b = new Map()));
    return b;
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
