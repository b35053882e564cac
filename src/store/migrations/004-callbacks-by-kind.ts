import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * The unapplied-callback index leads with the kind. Status callbacks and inbound messages are
 * taken by separate pollers, each asking for its own kind; on `(applied_at, id)` the inbound
 * poller walked every unapplied status callback to find none (12 ms on the event loop, inside
 * a write transaction, per poll with a backlog of 100,000, every 200 ms), and the status
 * applier walked unapplied inbound ones. On `(kind, applied_at, id)` each reads only its own.
 */
export function callbacksByKind(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index callbacks_unapplied`.execute(db);
      await sql`create index callbacks_unapplied on callback_events (kind, applied_at, id)`.execute(db);
    },
  };
}
