import type { Transaction } from 'kysely';
import type { CallbackEventRow } from '../callback-store.ts';
import type { MessageRow } from '../message-store.ts';
import type { Database } from '../schema.ts';

/**
 * Takes up to `limit` unapplied status callbacks in arrival order. Fresh events come first
 * in line with orphans whose message has since appeared (re-matched only once they are
 * `orphanRetryAfterMs` old). An orphan that still matches nothing is not taken, so it
 * never spins the applier. `FOR UPDATE SKIP LOCKED` lets several processes apply side by
 * side, each taking events the others have not.
 * Keep in sync with sqlite/claim-callbacks.ts.
 */
export async function claimCallbacks(
  trx: Transaction<Database>,
  args: { limit: number; now: number; orphanRetryAfterMs: number },
): Promise<CallbackEventRow[]> {
  return trx
    .selectFrom('callback_events as ce')
    .selectAll('ce')
    .where('ce.applied_at', 'is', null)
    .where('ce.kind', '=', 'status')
    .where((eb) =>
      eb.or([
        eb('ce.orphan', '=', 0),
        eb.and([
          eb('ce.received_at', '<=', args.now - args.orphanRetryAfterMs),
          eb.or([
            eb.exists(eb.selectFrom('messages as m').select('m.seq').whereRef('m.id', '=', 'ce.message_id')),
            eb.exists(
              eb
                .selectFrom('messages as m')
                .select('m.seq')
                .whereRef('m.provider_sid', '=', 'ce.provider_sid'),
            ),
          ]),
        ]),
      ]),
    )
    .orderBy('ce.id')
    .limit(args.limit)
    .forUpdate('ce')
    .skipLocked()
    .execute();
}

/**
 * Locks the messages these callbacks refer to, by our id or the provider SID, in id order
 * so that concurrent appliers always lock in the same order (no deadlock between them).
 */
export async function lockMessagesFor(
  trx: Transaction<Database>,
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
    .forUpdate()
    .execute();
}
