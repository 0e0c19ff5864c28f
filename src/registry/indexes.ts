// The selector index the endpoints controller reads, in the Durable Object's SQLite
// beside the objects, so that a write costs work proportional to what it touches,
// not to the size of the cluster, and a restart loads nothing: which label pairs each
// Pod carries, and which pairs each Service's selector requires. The Pods a Service
// selects and the Services a Pod write touches are queries.
import type { Pod, Service } from "../api/types";
import { selectorMatches, selectsPods } from "./endpoints-controller";

type Labels = Record<string, string>;

/** Label pairs per query: Durable Object SQLite binds at most 100 parameters (two a pair, plus the namespace). */
const PAIRS_PER_QUERY = 40;

const pairsOf = (labels: Labels | undefined): [string, string][] => Object.entries(labels ?? {});

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Selectors kept in memory, at most: every Pod write reads the selectors of the Services that
 * may select it. Past the bound the oldest entry goes (one is a few hundred bytes).
 */
const MAX_CACHED_SELECTORS = 4096;

export class ServicePodIndex {
  /** Selectors by `namespace/service` as stored (null: the Service selects no Pods), in order of first read. */
  private readonly selectors = new Map<string, Labels | null>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS pod_labels (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, pod TEXT NOT NULL, PRIMARY KEY (namespace, key, value, pod)) WITHOUT ROWID",
    );
    sql.exec(
      "CREATE TABLE IF NOT EXISTS service_selectors (namespace TEXT NOT NULL, service TEXT NOT NULL, selector TEXT NOT NULL, PRIMARY KEY (namespace, service)) WITHOUT ROWID",
    );
    sql.exec(
      "CREATE TABLE IF NOT EXISTS selector_pairs (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (namespace, key, value, service)) WITHOUT ROWID",
    );
    sql.exec("CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }

  /** False until the index was built for the stored objects (a registry written before it existed needs one rebuild). */
  get built(): boolean {
    return this.sql.exec("SELECT 1 FROM index_meta WHERE key = 'selector_index'").toArray().length > 0;
  }

  /** A Service was written (or deleted: `svc` undefined). */
  serviceChanged(namespace: string, name: string, svc: Service | undefined): void {
    const selector = svc && selectsPods(svc) ? svc.spec.selector! : undefined;
    const previous = this.selectorOf(namespace, name);
    if (previous && selector && JSON.stringify(previous) === JSON.stringify(selector)) return;
    if (previous) {
      this.sql.exec("DELETE FROM service_selectors WHERE namespace = ? AND service = ?", namespace, name);
      for (const [key, value] of pairsOf(previous))
        this.sql.exec("DELETE FROM selector_pairs WHERE namespace = ? AND key = ? AND value = ? AND service = ?", namespace, key, value, name);
    }
    if (selector) {
      this.sql.exec("INSERT INTO service_selectors (namespace, service, selector) VALUES (?, ?, ?)", namespace, name, JSON.stringify(selector));
      for (const [key, value] of pairsOf(selector))
        this.sql.exec("INSERT OR IGNORE INTO selector_pairs (namespace, key, value, service) VALUES (?, ?, ?, ?)", namespace, key, value, name);
    }
    // selectorOf has just cached the previous one: the cache takes the new one (a copy, as stored).
    this.selectors.set(`${namespace}/${name}`, selector ? { ...selector } : null);
  }

  /**
   * A Pod was written: its labels `before` and `after` the write (undefined where it did not
   * exist, was deleted, or has none — no Service selects such a Pod). Returns the Services
   * that selected it before or after: the ones whose endpoints the write can change.
   */
  podChanged(namespace: string, name: string, before: Labels | undefined, after: Labels | undefined): string[] {
    const had = new Map(pairsOf(before));
    const has = new Map(pairsOf(after));
    for (const [key, value] of had)
      if (has.get(key) !== value)
        this.sql.exec("DELETE FROM pod_labels WHERE namespace = ? AND key = ? AND value = ? AND pod = ?", namespace, key, value, name);
    for (const [key, value] of has)
      if (had.get(key) !== value)
        this.sql.exec("INSERT OR IGNORE INTO pod_labels (namespace, key, value, pod) VALUES (?, ?, ?, ?)", namespace, key, value, name);
    return this.selecting(namespace, before, after);
  }

  /** The Services whose selector matches any of these label sets, sorted. */
  selecting(namespace: string, ...labelSets: (Labels | undefined)[]): string[] {
    const out: string[] = [];
    for (const svc of this.candidates(namespace, labelSets.flatMap(pairsOf))) {
      const selector = this.selectorOf(namespace, svc);
      if (selector && labelSets.some((labels) => selectorMatches(selector, labels))) out.push(svc);
    }
    return out.sort();
  }

  /** The names of the Pods a Service selects, sorted. */
  selected(namespace: string, name: string): string[] {
    const selector = this.selectorOf(namespace, name);
    if (!selector) return [];
    let names: Set<string> | undefined;
    for (const part of chunks(pairsOf(selector), PAIRS_PER_QUERY)) {
      const query = part.map((_, i) => `SELECT pod FROM pod_labels WHERE namespace = ?1 AND key = ?${2 * i + 2} AND value = ?${2 * i + 3}`).join(" INTERSECT ");
      const found = this.sql
        .exec<{ pod: string }>(query, namespace, ...part.flat())
        .toArray()
        .map((r) => r.pod);
      names = names ? new Set(found.filter((n) => names!.has(n))) : new Set(found);
    }
    return [...(names ?? [])].sort();
  }

  /** Builds the index from stored objects (once, for a registry written before it existed). */
  rebuild(services: Iterable<Service>, pods: Iterable<Pod>): void {
    for (const svc of services) this.serviceChanged(svc.metadata.namespace!, svc.metadata.name!, svc);
    for (const pod of pods) this.podChanged(pod.metadata.namespace!, pod.metadata.name!, undefined, pod.metadata.labels);
    this.sql.exec("INSERT OR REPLACE INTO index_meta (key, value) VALUES ('selector_index', 1)");
  }

  /** A Service's selector, as stored; callers do not change it (it may be the cached one). */
  private selectorOf(namespace: string, service: string): Readonly<Labels> | undefined {
    const key = `${namespace}/${service}`;
    let selector = this.selectors.get(key);
    if (selector === undefined) {
      const row = this.sql
        .exec<{ selector: string }>("SELECT selector FROM service_selectors WHERE namespace = ? AND service = ?", namespace, service)
        .toArray()[0];
      selector = row ? (JSON.parse(row.selector) as Labels) : null;
      if (this.selectors.size >= MAX_CACHED_SELECTORS) this.selectors.delete(this.selectors.keys().next().value!);
      this.selectors.set(key, selector);
    }
    return selector ?? undefined;
  }

  /** The Services requiring at least one of these pairs: a superset of those that select them. */
  private candidates(namespace: string, pairs: [string, string][]): Set<string> {
    const out = new Set<string>();
    for (const part of chunks(pairs, PAIRS_PER_QUERY)) {
      const where = part.map((_, i) => `(key = ?${2 * i + 2} AND value = ?${2 * i + 3})`).join(" OR ");
      for (const row of this.sql.exec<{ service: string }>(
        `SELECT DISTINCT service FROM selector_pairs WHERE namespace = ?1 AND (${where})`,
        namespace,
        ...part.flat(),
      ))
        out.add(row.service);
    }
    return out;
  }
}
