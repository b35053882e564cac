import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Db } from '../dialect.ts';
import type { Database } from '../schema.ts';
import { startBackgroundConnection } from './background-connection.ts';
import { FifoSqliteDialect } from './fifo-dialect.ts';
import { withStatementCache } from './statement-cache.ts';

/**
 * Opens the embedded SQLite database in WAL mode. `synchronous=NORMAL` keeps every
 * committed transaction across a process crash (the WAL is on disk); only a power loss can
 * drop the last ones.
 */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const kysely = new Kysely<Database>({
    dialect: new FifoSqliteDialect({ database: withStatementCache(sqlite) }),
  });
  if (path === ':memory:') return { kysely, dialect: 'sqlite', sqlite, close: () => kysely.destroy() };
  // The worker checkpoints; the main connection only does so as a safety net if it stops.
  sqlite.pragma('wal_autocheckpoint = 20000');
  // The log restart runs while this connection is held: queries queue, the event loop runs on.
  const background = startBackgroundConnection(path, {
    holdWriters: (during) => kysely.connection().execute(() => during()),
  });
  return {
    kysely,
    dialect: 'sqlite',
    sqlite,
    readOffThread: (query, params) => background.read(query, params),
    close: async () => {
      await background.stop();
      await kysely.destroy();
    },
  };
}
