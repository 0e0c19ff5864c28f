// The registry's SQLite database as wrangler dev stores it: the Durable Object's file under
// the state folder (`<persist-to>/v3/do/<worker>-<class>/<object id>.sqlite`, beside
// miniflare's own metadata.sqlite), opened read-only with node:sqlite while workerd runs
// (WAL mode lets a reader in). The file's size is the logical one, page_count × page_size,
// so a page that also sits in the WAL counts once; dbstat gives the pages in use per table
// and index (free pages, kept for reuse, belong to none). The watch history is a window of
// bounded size (src/registry/watch-history.ts) whose pages are freed and reused as it
// moves: the bytes that grow with the objects are the other tables'.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** The Durable Object's database file, or undefined before the object first wrote. */
export function registryDbPath(stateDir: string, workerName: string, className: string): string | undefined {
  const dir = join(stateDir, "v3", "do", `${workerName}-${className}`);
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
    return files.length === 1 ? join(dir, files[0]!) : undefined;
  } catch {
    return undefined;
  }
}

export interface DbSize {
  /** page_count × page_size: the file, free pages included. */
  fileBytes: number;
  /** Pages in use by the watch history's tables and indexes (names that start with "watch"). */
  watchBytes: number;
  /** Pages in use by every other table and index: what grows with the objects. */
  objectBytes: number;
  /** Bytes in use per table and index, largest first. */
  tables: { name: string; bytes: number }[];
}

export function dbSize(path: string): DbSize {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const pages = db.prepare("PRAGMA page_count").get() as { page_count: number };
    const size = db.prepare("PRAGMA page_size").get() as { page_size: number };
    const tables = db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all() as { name: string; bytes: number }[];
    const watchBytes = tables.filter((t) => t.name.startsWith("watch")).reduce((n, t) => n + t.bytes, 0);
    const inUse = tables.reduce((n, t) => n + t.bytes, 0);
    return { fileBytes: pages.page_count * size.page_size, watchBytes, objectBytes: inUse - watchBytes, tables };
  } finally {
    db.close();
  }
}
