import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * On SQLite, callback ids come from the rowid (largest + 1) instead of AUTOINCREMENT. With
 * AUTOINCREMENT every commit of stored callbacks also rewrote the `sqlite_sequence` page: one
 * more WAL frame per commit (5.19 against 4.29 frames for a commit of three callbacks) and 13%
 * of its time (28.9 against 25.0 µs). Callback rows are never deleted, so ids stay increasing
 * and are never reused, which is all the appliers' cursors need. SQLite cannot drop
 * AUTOINCREMENT in place: the table is rebuilt from its own definition without it, rows and
 * ids copied, and its index made again.
 * PostgreSQL's identity column has no such cost and is left alone.
 */
export function callbackIdsWithoutSequence(dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'sqlite') return;
      // The table as it stands, but for AUTOINCREMENT (its own definition, so nothing else changes).
      const { rows } = await sql<{ sql: string }>`
        select sql from sqlite_master where type = 'table' and name = 'callback_events'`.execute(db);
      const definition = rows[0]?.sql ?? '';
      if (!/\bautoincrement\b/i.test(definition)) return;
      const rebuilt = definition
        .replace(/^create table "?callback_events"?/i, 'create table callback_events_rebuilt')
        .replace(/\s+autoincrement\b/i, '');
      if (!rebuilt.startsWith('create table callback_events_rebuilt'))
        throw new Error(`unexpected definition of callback_events: ${definition.slice(0, 80)}`);
      await sql.raw(rebuilt).execute(db);
      await sql`insert into callback_events_rebuilt select * from callback_events`.execute(db);
      await sql`drop table callback_events`.execute(db);
      await sql`alter table callback_events_rebuilt rename to callback_events`.execute(db);
      await sql`create index callbacks_unapplied on callback_events (kind, orphan, id) where applied_at is null`.execute(
        db,
      );
    },
  };
}
