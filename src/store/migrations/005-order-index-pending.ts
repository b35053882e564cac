import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * The in-order index holds only the messages a claim waits behind. A claim lets an OTP or
 * transactional message go only when no earlier message to the same recipient is queued or
 * sending; on `(order_key, seq)` over every message ever sent, that probe walked the key's
 * whole history from its oldest message, reading each row for its status. With 100,000
 * delivered messages to one recipient and 200 queued for it, one claim of 500 took 6.7 s
 * (on SQLite, on the event loop); over this index it took 0.8 ms. A message leaves the
 * index when it leaves `sending`, so the index stays the size of the backlog and intake
 * writes land on fewer pages. The claim's subquery states the same predicate
 * (`status in ('queued', 'sending')`), which is what lets both planners use it.
 */
export function orderIndexPending(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index messages_order`.execute(db);
      await sql`create index messages_order on messages (order_key, seq)
                 where order_key is not null and status in ('queued', 'sending')`.execute(db);
    },
  };
}
