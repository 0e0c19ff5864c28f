// The registry's source of truth: every object, in the Durable Object's SQLite
// storage, with the columns the controllers look objects up by. The single Durable
// Object serializes writes, so a resourceVersion is just a counter. A write is two
// statements, the counter first and then the object: each statement is atomic, and a
// Durable Object commits all the writes of one event together (its implicit
// transaction, awaited before any answer leaves), so a write that fails leaves at
// most a resourceVersion skipped, never one given twice, and needs no savepoint of
// its own (transactionSync runs two more statements, parsed anew each time).
import { SERVICE_NAME_LABEL, type KubeObject } from "../api/types";

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

/**
 * An ordinary rowid table with a unique key, not WITHOUT ROWID: rows of a few KB in a
 * WITHOUT ROWID table spill into mostly empty overflow pages (4.7 KB stored for a 1.9 KB Pod).
 * The lookups by node, Service and deletion deadline name their partial index (INDEXED BY):
 * SQLite's planner otherwise prefers the primary key's `resource = ?` prefix and reads every
 * Pod on each write (the registry bench found it: 93 % of CPU at 20,000 Pods).
 */

/**
 * Resources that nearly every write reads and few write: a Namespace is read by each create
 * in it (checkNamespace). Their stored JSON is kept in memory, a hit or a miss alike, and
 * kept true by put and delete, through which every write passes.
 */
const CACHED_RESOURCES: ReadonlySet<string> = new Set(["namespaces"]);
/** Bound on the cached objects (and misses); past it the oldest entry goes. Namespaces are a few KB at most. */
const MAX_CACHED_OBJECTS = 1000;

/** Rows read per page when iterating: bounded memory, and no cursor held across writes. */
const PAGE_ROWS = 500;
/** Names bound in one `IN (…)`: a Durable Object's SQL takes at most 100 parameters a statement. */
const NAMES_PER_QUERY = 98;

interface Row {
  namespace: string;
  name: string;
  value: string;
  [key: string]: SqlStorageValue;
}

/** What the controllers look objects up by, kept as columns beside the JSON. */
function indexColumns(resource: string, obj: KubeObject): { node: string | null; service: string | null; deleting: number | null } {
  const spec = (obj as { spec?: { nodeName?: unknown } }).spec;
  const node = resource === "pods" && typeof spec?.nodeName === "string" ? spec.nodeName : null;
  const service = resource === "endpointslices" ? (obj.metadata.labels?.[SERVICE_NAME_LABEL] ?? null) : null;
  const ts = resource === "pods" ? obj.metadata.deletionTimestamp : undefined;
  const deleting = ts ? Date.parse(ts) : null;
  return { node, service, deleting: Number.isFinite(deleting) ? deleting : null };
}

/**
 * Objects live in SQLite only: a read parses the row it needs, a list reads pages in
 * key order (namespace, then name: the order kubectl expects), so the heap holds what a
 * request is working on, never the cluster.
 */
export class ObjectStore {
  private rv = 0;
  /**
   * The earliest graceful-deletion deadline among Pods (ms; null: no Pod is being deleted), once
   * read: every write asks for it (the alarm), and most writes do not change it. Undefined: not known.
   */
  private earliestDeletion: number | null | undefined;
  /** Objects per resource, once counted (count). */
  private readonly counts = new Map<string, number>();
  /** CACHED_RESOURCES' stored JSON by key (null: no such object), in order of first read. */
  private readonly cached = new Map<string, string | null>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T,
  ) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS store_objects (resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, node TEXT, service TEXT, deleting INTEGER, value TEXT NOT NULL, UNIQUE (resource, namespace, name))",
    );
    sql.exec("CREATE INDEX IF NOT EXISTS store_objects_node ON store_objects (node, resource) WHERE node IS NOT NULL");
    sql.exec("CREATE INDEX IF NOT EXISTS store_objects_service ON store_objects (namespace, service) WHERE service IS NOT NULL");
    sql.exec("CREATE INDEX IF NOT EXISTS store_objects_deleting ON store_objects (deleting) WHERE deleting IS NOT NULL");
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const rv = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'rv'").toArray()[0];
    this.rv = rv ? Number(rv.value) : 0;
    this.migrateKeyValueTable();
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get<T extends KubeObject = KubeObject>(resource: string, namespace: string, name: string): T | undefined {
    const key = CACHED_RESOURCES.has(resource) ? cacheKey(resource, namespace, name) : undefined;
    let value = key === undefined ? undefined : this.cached.get(key);
    if (value === undefined) {
      value =
        this.sql
          .exec<{ value: string }>("SELECT value FROM store_objects WHERE resource = ? AND namespace = ? AND name = ?", resource, namespace, name)
          .toArray()[0]?.value ?? null;
      if (key !== undefined) this.remember(key, value);
    }
    return value === null ? undefined : (JSON.parse(value) as T);
  }

  private remember(key: string, value: string | null): void {
    if (!this.cached.has(key) && this.cached.size >= MAX_CACHED_OBJECTS) this.cached.delete(this.cached.keys().next().value!);
    this.cached.set(key, value);
  }

  /** After a write: a cached key takes the stored value (an uncached one is read when first asked for). */
  private written(resource: string, namespace: string, name: string, value: string | null): void {
    if (!CACHED_RESOURCES.has(resource)) return;
    const key = cacheKey(resource, namespace, name);
    if (this.cached.has(key)) this.cached.set(key, value);
  }

  /** Objects of one namespace by name (those that exist, in no particular order): one query per NAMES_PER_QUERY names. */
  getMany<T extends KubeObject = KubeObject>(resource: string, namespace: string, names: readonly string[]): T[] {
    const out: T[] = [];
    for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
      const part = names.slice(i, i + NAMES_PER_QUERY);
      const rows = this.sql.exec<{ value: string }>(
        `SELECT value FROM store_objects WHERE resource = ? AND namespace = ? AND name IN (${part.map(() => "?").join(", ")})`,
        resource,
        namespace,
        ...part,
      );
      for (const row of rows) out.push(JSON.parse(row.value) as T);
    }
    return out;
  }

  /** The same objects, read a page at a time, in key order; `after` starts past a key (a continue token's). */
  *each<T extends KubeObject = KubeObject>(resource: string, namespace?: string, after = { namespace: "", name: "" }): IterableIterator<T> {
    let ns = namespace !== undefined && after.namespace < namespace ? namespace : after.namespace;
    let name = ns === after.namespace ? after.name : "";
    for (;;) {
      if (namespace !== undefined && ns > namespace) return;
      const rows =
        namespace !== undefined
          ? this.sql
              .exec<Row>(
                "SELECT namespace, name, value FROM store_objects WHERE resource = ? AND namespace = ? AND name > ? ORDER BY name LIMIT ?",
                resource,
                namespace,
                name,
                PAGE_ROWS,
              )
              .toArray()
          : this.sql
              .exec<Row>(
                "SELECT namespace, name, value FROM store_objects WHERE resource = ? AND (namespace > ? OR (namespace = ? AND name > ?)) ORDER BY namespace, name LIMIT ?",
                resource,
                ns,
                ns,
                name,
                PAGE_ROWS,
              )
              .toArray();
      for (const row of rows) yield JSON.parse(row.value) as T;
      if (rows.length < PAGE_ROWS) return;
      const last = rows[rows.length - 1]!;
      ns = last.namespace;
      name = last.name;
    }
  }

  /** Pods bound to a node. */
  podsOnNode<T extends KubeObject = KubeObject>(node: string): T[] {
    return this.sql
      .exec<{ value: string }>("SELECT value FROM store_objects INDEXED BY store_objects_node WHERE node = ? AND resource = 'pods'", node)
      .toArray()
      .map((r) => JSON.parse(r.value) as T);
  }

  /** EndpointSlices labelled for one Service (kubernetes.io/service-name). */
  slicesOf<T extends KubeObject = KubeObject>(namespace: string, service: string): T[] {
    return this.sql
      .exec<{ value: string }>(
        "SELECT value FROM store_objects INDEXED BY store_objects_service WHERE namespace = ? AND service = ? AND resource = 'endpointslices' ORDER BY name",
        namespace,
        service,
      )
      .toArray()
      .map((r) => JSON.parse(r.value) as T);
  }

  /** Pods whose graceful deletion ends at or before `now` (at most `max`), as [namespace, name]; and the next deadline after them. */
  podsDeletingBy(now: number, max = PAGE_ROWS): { due: [string, string][]; next?: number } {
    const known = this.earliestDeletion;
    if (known === null) return { due: [] };
    if (known !== undefined && known > now) return { due: [], next: known };
    const due = this.sql
      .exec<{ namespace: string; name: string }>(
        "SELECT namespace, name FROM store_objects INDEXED BY store_objects_deleting WHERE deleting <= ? AND resource = 'pods' LIMIT ?",
        now,
        max,
      )
      .toArray()
      .map((r): [string, string] => [r.namespace, r.name]);
    const next =
      this.sql
        .exec<{ at: number | null }>(
          "SELECT min(deleting) AS at FROM store_objects INDEXED BY store_objects_deleting WHERE deleting > ? AND resource = 'pods'",
          now,
        )
        .one().at ?? undefined;
    if (due.length === 0) this.earliestDeletion = next ?? null;
    return next === undefined ? { due } : { due, next };
  }

  private counted(resource: string, by: number): void {
    const n = this.counts.get(resource);
    if (n !== undefined) this.counts.set(resource, n + by);
  }

  /** Keeps `earliestDeletion` true after a Pod row changed: a new deadline lowers it; a row that may have held it makes it unknown. */
  private deletionChanged(deleting: number | null): void {
    const known = this.earliestDeletion;
    if (known === undefined) return;
    if (deleting !== null) this.earliestDeletion = known === null ? deleting : Math.min(known, deleting);
    else if (known !== null) this.earliestDeletion = undefined;
  }

  /** Objects of a resource (in one namespace, if given) after a key. */
  countAfter(resource: string, namespace: string | undefined, after: { namespace: string; name: string }): number {
    if (namespace !== undefined)
      return this.sql
        .exec<{ n: number }>(
          "SELECT count(*) AS n FROM store_objects WHERE resource = ? AND namespace = ? AND name > ?",
          resource,
          namespace,
          namespace === after.namespace ? after.name : "",
        )
        .one().n;
    return this.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM store_objects WHERE resource = ? AND (namespace > ? OR (namespace = ? AND name > ?))",
        resource,
        after.namespace,
        after.namespace,
        after.name,
      )
      .one().n;
  }

  /** Objects of a resource: counted once after a start, then kept by put and delete (a /metrics scrape must not scan the cluster). */
  count(resource: string): number {
    let n = this.counts.get(resource);
    if (n === undefined) {
      n = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM store_objects WHERE resource = ?", resource).one().n;
      this.counts.set(resource, n);
    }
    return n;
  }

  /**
   * Stamps the next resourceVersion on `obj` and stores it. Returns its stored form (JSON).
   * Callers check MAX_OBJECT_BYTES first (with `serialize`); a row SQLite refuses throws here
   * with the object unchanged (stored and given), its resourceVersion skipped.
   */
  put(resource: string, obj: KubeObject, created: boolean): string {
    const namespace = obj.metadata.namespace ?? "";
    const name = obj.metadata.name!;
    const previousRv = obj.metadata.resourceVersion;
    const rv = this.takeRv();
    obj.metadata.resourceVersion = String(rv);
    const json = JSON.stringify(obj);
    const { node, service, deleting } = indexColumns(resource, obj);
    try {
      this.sql.exec(
        "INSERT OR REPLACE INTO store_objects (resource, namespace, name, rv, node, service, deleting, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        resource,
        namespace,
        name,
        rv,
        node,
        service,
        deleting,
        json,
      );
    } catch (e) {
      obj.metadata.resourceVersion = previousRv;
      throw e;
    }
    this.written(resource, namespace, name, json);
    if (created) this.counted(resource, 1);
    if (resource === "pods") this.deletionChanged(deleting);
    return json;
  }

  /** Deletes an object; returns the resourceVersion of the deletion. */
  delete(resource: string, namespace: string, name: string): string {
    const rv = this.takeRv();
    const deleted = this.sql.exec("DELETE FROM store_objects WHERE resource = ? AND namespace = ? AND name = ?", resource, namespace, name).rowsWritten;
    this.counted(resource, -deleted);
    this.written(resource, namespace, name, null);
    if (resource === "pods") this.deletionChanged(null);
    return String(rv);
  }

  /** The next resourceVersion, saved before anything is written with it: once taken it is never given again, written or not. */
  private takeRv(): number {
    const rv = this.rv + 1;
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", String(rv));
    this.rv = rv;
    return rv;
  }

  /** Registries written before objects had their own columns kept `objects (key, value)`: move them over once. */
  private migrateKeyValueTable(): void {
    const old = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'objects'").one().n;
    if (old === 0) return;
    this.transaction(() => {
      for (const row of this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM objects").toArray()) {
        const [resource, namespace, name] = splitKey(row.key);
        const obj = JSON.parse(row.value) as KubeObject;
        const { node, service, deleting } = indexColumns(resource, obj);
        this.sql.exec(
          "INSERT OR REPLACE INTO store_objects (resource, namespace, name, rv, node, service, deleting, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          resource,
          namespace,
          name,
          Number(obj.metadata.resourceVersion ?? 0),
          node,
          service,
          deleting,
          row.value,
        );
      }
      this.sql.exec("DROP TABLE objects");
    });
  }
}

const cacheKey = (resource: string, namespace: string, name: string): string => `${resource}/${namespace}/${name}`;

function splitKey(key: string): [string, string, string] {
  const i = key.indexOf("/");
  const j = key.indexOf("/", i + 1);
  return [key.slice(0, i), key.slice(i + 1, j), key.slice(j + 1)];
}
