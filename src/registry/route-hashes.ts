// What the registry remembers of the route records it queued for KV: per host, the
// Service it belongs to and a 53-bit hash of its JSON without the resourceVersion, so
// that a write which leaves a record as it was never rewrites it. In SQLite, so a
// restart recompiles nothing and the heap holds none of the 10,000s of hosts.
export class RouteHashes {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS route_hashes (host TEXT PRIMARY KEY, service TEXT NOT NULL, hash INTEGER NOT NULL) WITHOUT ROWID");
    sql.exec("CREATE INDEX IF NOT EXISTS route_hashes_service ON route_hashes (service)");
    sql.exec("CREATE TABLE IF NOT EXISTS route_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }

  /** False until the hashes were computed for the stored Services (a registry written before they were kept needs it once). */
  get built(): boolean {
    return this.sql.exec("SELECT 1 FROM route_meta WHERE key = 'built'").toArray().length > 0;
  }

  markBuilt(): void {
    this.sql.exec("INSERT OR REPLACE INTO route_meta (key, value) VALUES ('built', 1)");
  }

  /** The hosts of one Service ("namespace/name"), with their records' hashes. */
  hashesOf(service: string): Map<string, number> {
    return new Map(
      this.sql
        .exec<{ host: string; hash: number }>("SELECT host, hash FROM route_hashes WHERE service = ?", service)
        .toArray()
        .map((r) => [r.host, r.hash]),
    );
  }

  set(host: string, service: string, hash: number): void {
    this.sql.exec("INSERT OR REPLACE INTO route_hashes (host, service, hash) VALUES (?, ?, ?)", host, service, hash);
  }

  delete(host: string): void {
    this.sql.exec("DELETE FROM route_hashes WHERE host = ?", host);
  }

  /** Every routable host, read a page at a time. */
  *hosts(): IterableIterator<string> {
    let after = "";
    for (;;) {
      const rows = this.sql.exec<{ host: string }>("SELECT host FROM route_hashes WHERE host > ? ORDER BY host LIMIT 1000", after).toArray();
      for (const row of rows) yield row.host;
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.host;
    }
  }

  get count(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM route_hashes").one().n;
  }
}
