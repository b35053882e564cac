import { sql, type Transaction } from 'kysely';
import type { MessageRow } from '../message-store.ts';
import type { Database } from '../schema.ts';

/**
 * Claims up to `limit` due messages of a pool with a lease. SQLite has one writer at a
 * time, so the enclosing transaction alone keeps two claims from taking the same row.
 * A message whose order key has an earlier message queued or in flight waits its turn.
 */
export async function claimDue(
  trx: Transaction<Database>,
  args: { poolId: string; owner: string; now: number; leaseMs: number; limit: number },
): Promise<MessageRow[]> {
  const { rows } = await sql<MessageRow>`
    update messages
       set status = 'sending', status_rank = 1, lease_owner = ${args.owner},
           lease_expires_at = ${args.now + args.leaseMs}, updated_at = ${args.now}
     where seq in (
       select m.seq from messages m
        where m.pool_id = ${args.poolId} and m.status = 'queued' and m.next_attempt_at <= ${args.now}
          and (m.order_key is null or not exists (
                select 1 from messages p
                 where p.order_key = m.order_key and p.seq < m.seq and p.status in ('queued', 'sending')))
        order by m.next_attempt_at, m.seq
        limit ${args.limit})
    returning *`.execute(trx);
  return rows.sort((a, b) => a.seq - b.seq);
}

/** Reads the pacing rows for these keys (the SQLite write lock is already held). */
export async function lockPacingRows(trx: Transaction<Database>, keys: string[], now: number) {
  for (const key of keys) {
    await trx
      .insertInto('pacing_state')
      .values({ key, tat: 0, rate_factor: 1, updated_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  }
  return trx.selectFrom('pacing_state').selectAll().where('key', 'in', keys).execute();
}
