import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * The unapplied-callback index holds only unapplied events, by kind, then orphan or not, then
 * arrival. Fresh status callbacks were claimed in one scan with the orphans due for another
 * match, which walked every orphan still matching nothing on every pass: 0.67 µs each, so
 * 65 ms per pass with 100,000 kept aside (on SQLite on the event loop, inside a write
 * transaction, several times a second) and no bound as they piled up. On `(kind, orphan, id)`
 * fresh events are one range and orphans another, which the applier pages through on its own
 * schedule. Partial on `applied_at is null`, the index is the size of the backlog: an event
 * leaves it when it is applied, where `(kind, applied_at, id)` kept every event ever stored.
 */
export function unappliedByOrphan(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index callbacks_unapplied`.execute(db);
      await sql`create index callbacks_unapplied on callback_events (kind, orphan, id) where applied_at is null`.execute(
        db,
      );
    },
  };
}
