import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Statements longer than this (multi-row inserts of varying size) are not worth keeping. */
const MAX_CACHED_SQL = 4_000;

/**
 * The connection Kysely drives, with its prepared statements kept (LRU) by SQL text, and
 * its transactions opened as `begin immediate`.
 * better-sqlite3 prepares a statement on every call otherwise, which profiling put at 7–11%
 * of the gateway's CPU; the claim, attempt, outcome and callback statements repeat exactly.
 */
export function withStatementCache(sqlite: BetterSqlite3.Database, size = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string): SqliteStatement {
      // Kysely opens transactions with a deferred `begin`. A deferred transaction that reads
      // and then writes fails at once with SQLITE_BUSY (no busy wait: SQLite cannot wait on an
      // upgrade) when the background connection's checkpoint holds the write lock; an
      // immediate one takes the lock first and waits its turn like any writer.
      const sql = text === 'begin' ? 'begin immediate' : text;
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
