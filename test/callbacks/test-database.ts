import pg from 'pg';
import { type Db, openDatabase } from '../../src/store/index.ts';
import { PG_ADMIN_URL, type TestBackend } from '../support/databases.ts';

/**
 * Opens a fresh database of the backend. Its `close` waits until PostgreSQL has seen every
 * connection go before the database is dropped: pg-pool's `end()` resolves while its clients
 * are still closing, and a forced drop at that moment kills one of them, which surfaces as
 * an unhandled error (FATAL 57P01) and fails the run.
 */
export async function openTestDatabase(backend: TestBackend): Promise<{ db: Db; close(): Promise<void> }> {
  const url = await backend.url();
  const db = await openDatabase(url);
  return {
    db,
    async close() {
      await db.close();
      if (backend.name === 'postgres')
        await waitForNoConnections(decodeURIComponent(new URL(url).pathname.slice(1)));
      await backend.cleanup();
    },
  };
}

async function waitForNoConnections(database: string, timeoutMs = 5_000): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [database],
      );
      if (rows[0]?.n === 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await admin.end();
  }
}
