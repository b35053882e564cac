import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from './open-sqlite.ts';

describe('openSqlite', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('opens transactions immediate, so one that reads and then writes never fails on the lock upgrade', async () => {
    const path = join(tmpdir(), `sb-open-${randomBytes(6).toString('hex')}.db`);
    const db = openSqlite(path);
    cleanup.push(() => rmSync(path, { force: true }));
    cleanup.push(() => db.close());
    await sql`create table t (id integer primary key, n integer not null)`.execute(db.kysely);
    await sql`insert into t (n) values (0)`.execute(db.kysely);
    // Another connection, as the background checkpoint is: it must not get the write lock
    // between this transaction's read and its write.
    const other = new BetterSqlite3(path);
    other.pragma('busy_timeout = 0');
    cleanup.push(() => {
      other.close();
    });
    let otherGotLock = false;
    await db.kysely.transaction().execute(async (trx) => {
      const row = await sql<{ n: number }>`select n from t where id = 1`.execute(trx);
      try {
        other.exec('begin immediate');
        otherGotLock = true;
        other.exec('update t set n = 100 where id = 1');
        other.exec('commit');
      } catch (err) {
        expect((err as { code?: string }).code).toBe('SQLITE_BUSY');
      }
      await sql`update t set n = ${row.rows[0]!.n + 1} where id = 1`.execute(trx);
    });
    expect(otherGotLock).toBe(false);
    expect(other.prepare('select n from t where id = 1').get()).toEqual({ n: 1 });
  });
});
