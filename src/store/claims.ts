import { sql, type Transaction } from 'kysely';
import type { CallbackEventRow } from './callback-store.ts';
import type { Db } from './dialect.ts';
import type { MessageRow } from './message-store.ts';
import type { Database } from './schema.ts';

/**
 * The statements that claim shared work. They are the same SQL on both backends except for
 * row locks: PostgreSQL runs many processes on one database, so it locks rows (`FOR UPDATE`,
 * with `SKIP LOCKED` where a worker may take other work instead of waiting); SQLite has one
 * writer at a time, so the enclosing transaction alone is the lock.
 */
export const rowLocks = (db: Db): boolean => db.dialect === 'postgres';

/**
 * Claims up to `limit` due messages of a pool with a lease. A message whose order key has an
 * earlier message queued or in flight waits its turn.
 */
export async function claimDue(
  trx: Transaction<Database>,
  locks: boolean,
  args: ClaimDueArgs,
): Promise<MessageRow[]> {
  const { rows } = await claimDueStatement(locks, args).execute(trx);
  return rows.sort((a, b) => a.seq - b.seq);
}

export interface ClaimDueArgs {
  poolId: string;
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
}

/**
 * The statement `claimDue` runs. Its in-order probe states the predicate of the partial index
 * `messages_order` (migration 005) word for word: SQLite uses a partial index only for a
 * query that repeats the index's condition as written.
 */
export function claimDueStatement(locks: boolean, args: ClaimDueArgs) {
  return sql<MessageRow>`
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
        limit ${args.limit}
        ${locks ? sql`for update skip locked` : sql``})
    returning *`;
}

/**
 * Reads (and on PostgreSQL locks, in key order) the pacing rows for these keys, creating
 * the missing ones first, so every worker shares one schedule. Once the rows exist this is
 * a single select.
 */
export async function lockPacingRows(
  trx: Transaction<Database>,
  locks: boolean,
  keys: string[],
  now: number,
) {
  const read = () =>
    trx
      .selectFrom('pacing_state')
      .selectAll()
      .where('key', 'in', keys)
      .orderBy('key')
      .$if(locks, (q) => q.forUpdate())
      .execute();
  const rows = await read();
  if (rows.length === keys.length) return rows;
  await trx
    .insertInto('pacing_state')
    .values(keys.map((key) => ({ key, tat: 0, rate_factor: 1, updated_at: now })))
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return read();
}

/**
 * Takes up to `limit` unapplied status callbacks after `afterId`, in arrival order: fresh
 * ones (`orphan: 0`), or a page of those kept aside because they matched no message
 * (`orphan: 1`). Each is one range of the index `callbacks_unapplied`, so a page reads at
 * most `limit` rows however many orphans are kept. On PostgreSQL, SKIP LOCKED lets several
 * appliers work side by side.
 */
export async function claimCallbacks(
  trx: Transaction<Database>,
  locks: boolean,
  args: { orphan: 0 | 1; afterId: number; limit: number },
): Promise<CallbackEventRow[]> {
  return trx
    .selectFrom('callback_events as ce')
    .selectAll('ce')
    .where('ce.kind', '=', 'status')
    .where('ce.orphan', '=', args.orphan)
    .where('ce.applied_at', 'is', null)
    .where('ce.id', '>', args.afterId)
    .orderBy('ce.id')
    .limit(args.limit)
    .$if(locks, (q) => q.forUpdate('ce').skipLocked())
    .execute();
}

/**
 * Reads the messages these callbacks refer to, by our id or the provider SID; on PostgreSQL
 * locks them in id order, the order every writer of messages uses (no deadlocks).
 */
export async function lockMessagesFor(
  trx: Transaction<Database>,
  locks: boolean,
  args: { ids: string[]; sids: string[] },
): Promise<MessageRow[]> {
  return trx
    .selectFrom('messages')
    .selectAll()
    .where((eb) =>
      eb.or([
        ...(args.ids.length > 0 ? [eb('id', 'in', args.ids)] : []),
        ...(args.sids.length > 0 ? [eb('provider_sid', 'in', args.sids)] : []),
      ]),
    )
    .orderBy('id')
    .$if(locks, (q) => q.forUpdate())
    .execute();
}
