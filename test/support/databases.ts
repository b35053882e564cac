import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, openDatabase } from '../../src/store/index.ts';
import { useSuiteFixture } from './suite-fixture.ts';

/** The PostgreSQL server tests use; CI starts it. A missing server fails the tests, never skips them. */
export const PG_ADMIN_URL = process.env.SWITCHBOARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Creates an empty PostgreSQL database for one test file and returns its URL and a drop function. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sb_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        // pg-pool's end() resolves while its clients are still closing; a forced drop at that
        // moment kills one of them (FATAL 57P01, an unhandled error). Wait for them to go.
        const deadline = Date.now() + 5_000;
        while (Date.now() < deadline) {
          const { rows } = await c.query<{ n: number }>(
            'select count(*)::int as n from pg_stat_activity where datname = $1',
            [name],
          );
          if (rows[0]?.n === 0) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A storage backend under test: its name and how to open a fresh, migrated database. */
export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** A database URL for a fresh database (a temp file for SQLite). */
  url(): Promise<string>;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

/** Both backends, so a suite can loop over them (`describe.each(backends())`). */
export function backends(): TestBackend[] {
  const drops: (() => Promise<void>)[] = [];
  const sqliteUrl = async () =>
    `sqlite:${(await import('node:os')).tmpdir()}/sb-test-${randomBytes(6).toString('hex')}.db`;
  const pgUrl = async () => {
    const created = await createPgDatabase();
    drops.push(created.drop);
    return created.url;
  };
  const make = (name: 'sqlite' | 'postgres', url: () => Promise<string>): TestBackend => ({
    name,
    url,
    open: async () => openDatabase(await url()),
    cleanup: async () => {
      await Promise.all(drops.splice(0).map((d) => d()));
    },
  });
  return [make('sqlite', sqliteUrl), make('postgres', pgUrl)];
}

/** Opens a fresh database of the backend; `close` closes it and drops it. */
export async function openTestDatabase(backend: TestBackend): Promise<{ db: Db; close(): Promise<void> }> {
  const db = await backend.open();
  return {
    db,
    async close() {
      await db.close();
      await backend.cleanup();
    },
  };
}

/**
 * Opens a fresh database of the backend before the enclosing suite's tests and closes and
 * drops it after them; read `.db` inside the tests.
 */
export function useTestDatabase(backend: TestBackend): { readonly db: Db } {
  return useSuiteFixture(
    'the test database',
    () => openTestDatabase(backend),
    (opened) => opened.close(),
  );
}
