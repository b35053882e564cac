import { type Db, parseDatabaseUrl } from './dialect.ts';
import { migrateToLatest } from './migrate.ts';
import { openPostgres } from './postgres/open-postgres.ts';
import { openSqlite } from './sqlite/open-sqlite.ts';

/** Opens the database named by the URL and migrates it to the latest schema. */
export async function openDatabase(url: string, options: { maxConnections?: number } = {}): Promise<Db> {
  const { dialect, target } = parseDatabaseUrl(url);
  const db = dialect === 'sqlite' ? openSqlite(target) : openPostgres(target, options);
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
