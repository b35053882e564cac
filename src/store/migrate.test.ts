import { describe, expect, it } from 'vitest';
import { newSid, statusEvent } from '../../test/support/callback-events.ts';
import { backends } from '../../test/support/databases.ts';
import { insertCallbackEvents } from './callback-store.ts';
import { type Db, parseDatabaseUrl } from './dialect.ts';
import { migrateTo, migrateToLatest } from './migrate.ts';
import { openPostgres } from './postgres/open-postgres.ts';
import { indexDefinition } from './schema-dump.ts';
import { openSqlite } from './sqlite/open-sqlite.ts';

const T0 = 1_700_000_000_000;

/** Opens the backend's fresh database without migrating it. */
async function openUnmigrated(url: string): Promise<Db> {
  const { dialect, target } = parseDatabaseUrl(url);
  return dialect === 'sqlite' ? openSqlite(target) : openPostgres(target);
}

describe.each(backends())('migration 007 (callback ids without a sequence) on $name', (backend) => {
  it('keeps every stored callback with its id, and ids go on increasing after it', async () => {
    const db = await openUnmigrated(await backend.url());
    try {
      await migrateTo(db, '006-unapplied-by-orphan');
      const before = [newSid(), newSid(), newSid()].map((sid, i) => statusEvent(sid, 'delivered', T0 + i));
      expect(await insertCallbackEvents(db, before)).toEqual(['stored', 'stored', 'stored']);
      const rowsBefore = await db.kysely.selectFrom('callback_events').selectAll().orderBy('id').execute();
      // One of them applied, so the partial index must be rebuilt with the right rows.
      await db.kysely
        .updateTable('callback_events')
        .set({ applied_at: T0 + 10 })
        .where('id', '=', rowsBefore[0]!.id)
        .execute();

      await migrateToLatest(db);

      const rowsAfter = await db.kysely.selectFrom('callback_events').selectAll().orderBy('id').execute();
      expect(rowsAfter).toEqual([{ ...rowsBefore[0], applied_at: T0 + 10 }, ...rowsBefore.slice(1)]);
      // The dedupe key is still unique: a redelivery stores nothing.
      expect(await insertCallbackEvents(db, [before[1]!])).toEqual(['duplicate']);
      const later = await insertCallbackEvents(db, [statusEvent(newSid(), 'sent', T0 + 20)]);
      expect(later).toEqual(['stored']);
      const ids = (await db.kysely.selectFrom('callback_events').select('id').orderBy('id').execute()).map(
        (r) => Number(r.id),
      );
      expect(ids).toHaveLength(4);
      expect(ids[3]).toBeGreaterThan(Math.max(...rowsBefore.map((r) => Number(r.id))));
      expect(await indexDefinition(db, 'callbacks_unapplied')).toMatch(/\(kind, orphan, id\)/);
      const unapplied = await db.kysely
        .selectFrom('callback_events')
        .select('id')
        .where('applied_at', 'is', null)
        .execute();
      expect(unapplied).toHaveLength(3);
      if (db.sqlite) {
        // No AUTOINCREMENT any more: no sequence row is written with each commit.
        const seq = db.sqlite
          .prepare(`select name from sqlite_sequence where name = 'callback_events'`)
          .all();
        expect(seq).toEqual([]);
        const ddl = db.sqlite
          .prepare(`select sql from sqlite_master where type = 'table' and name = 'callback_events'`)
          .get() as { sql: string };
        expect(ddl.sql).not.toMatch(/autoincrement/i);
      }
    } finally {
      await db.close();
      await backend.cleanup();
    }
  });
});
