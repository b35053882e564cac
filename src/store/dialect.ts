import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** The two storage backends. */
export type DialectName = 'sqlite' | 'postgres';

/** An open database with its dialect. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: DialectName;
  /**
   * The SQLite connection Kysely drives, for the few hot statements prepared once and reused
   * (see sqlite/insert-messages.ts); use it only while holding Kysely's connection.
   */
  sqlite: BetterSqlite3.Database | null;
  /**
   * A read-only query on a second SQLite connection in a worker thread, for scans that must not
   * stall the event loop (queue statistics, filtered listings); absent on PostgreSQL, whose
   * queries never block it. `readRows` picks it when there is one.
   */
  readOffThread?:
    | (<Row>(sql: string, params?: readonly (string | number | null)[]) => Promise<Row[]>)
    | undefined;
  /** Closes connections. */
  close(): Promise<void>;
}

/** Parses `sqlite:./path.db`, `sqlite::memory:`, `postgres://…` or `postgresql://…`. */
export function parseDatabaseUrl(url: string): { dialect: DialectName; target: string } {
  if (url.startsWith('sqlite:'))
    return { dialect: 'sqlite', target: url.slice('sqlite:'.length) || ':memory:' };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { dialect: 'postgres', target: url };
  throw new Error(`unsupported database URL "${url}": use sqlite:<file> or postgres://…`);
}

/**
 * The rows of a read-only query: on the background SQLite connection when the database has
 * one (its own WAL snapshot, so it sees every committed write, and a long scan stalls no
 * request), else on the main connection.
 */
export async function readRows<R>(db: Db, query: CompiledQuery<R>): Promise<R[]> {
  return db.readOffThread
    ? db.readOffThread<R>(query.sql, query.parameters as readonly (string | number | null)[])
    : (await db.kysely.executeQuery(query)).rows;
}
