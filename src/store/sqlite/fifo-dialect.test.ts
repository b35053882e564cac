import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { FifoSqliteDialect } from './fifo-dialect.ts';

describe('FifoSqliteDialect', () => {
  let db: Kysely<Record<string, never>> | undefined;
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
  });

  it('hands the one connection to each caller alone, in arrival order, also after a failure', async () => {
    db = new Kysely({ dialect: new FifoSqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    const kysely = db;
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    const use = (n: number) =>
      kysely.connection().execute(async (conn) => {
        inside++;
        most = Math.max(most, inside);
        order.push(n);
        await new Promise((r) => setTimeout(r, 1));
        await sql`select ${n} as n`.execute(conn);
        inside--;
        if (n === 3) throw new Error('boom');
      });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => use(i)));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(1);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
  });

  it('runs transactions through the wrapped driver: a rollback undoes, a commit keeps', async () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table t (n integer)');
    const kysely = new Kysely<{ t: { n: number } }>({ dialect: new FifoSqliteDialect({ database: sqlite }) });
    try {
      await expect(
        kysely.transaction().execute(async (trx) => {
          await trx.insertInto('t').values({ n: 1 }).execute();
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      await kysely.transaction().execute((trx) => trx.insertInto('t').values({ n: 2 }).execute());
      expect(await kysely.selectFrom('t').select('n').execute()).toEqual([{ n: 2 }]);
    } finally {
      await kysely.destroy();
    }
  });
});
