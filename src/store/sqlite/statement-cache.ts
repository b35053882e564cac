import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Statements longer than this (multi-row inserts of varying size) are not worth keeping. */
const MAX_CACHED_SQL = 4_000;

/**
 * The connection Kysely drives, with its prepared statements kept (LRU) by SQL text.
 * better-sqlite3 prepares a statement on every call otherwise, which profiling put at 7–11%
 * of the gateway's CPU; the claim, attempt, outcome and callback statements repeat exactly.
 */
export function withStatementCache(sqlite: BetterSqlite3.Database, size = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit) {
        // Re-insert to mark it most recently used.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = sqlite.prepare(sql) as unknown as SqliteStatement;
      if (sql.length <= MAX_CACHED_SQL) {
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}
