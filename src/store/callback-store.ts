import type { Insertable, Selectable, Transaction, Updateable } from 'kysely';
import { claimCallbacks, lockMessagesFor, rowLocks } from './claims.ts';
import { type Db, readRows } from './dialect.ts';
import type { MessageRow } from './message-store.ts';
import {
  type CallbackEventsTable,
  type Database,
  type MessageStatus,
  type MessagesTable,
  STATUS_RANK,
} from './schema.ts';
import { sqliteInsertCallbacks } from './sqlite/insert-callbacks.ts';

/** A stored provider callback. */
export type CallbackEventRow = Selectable<CallbackEventsTable>;

/** What a callback reports: a status change of one of our messages, or an inbound message. */
export type CallbackKind = 'status' | 'inbound';

/** A verified callback as the webhook hands it to the store. */
export interface NewCallbackEvent {
  kind: CallbackKind;
  /** Twilio's `MessageSid`. */
  providerSid: string;
  /** Our message id, from the `mid` query parameter of the StatusCallback URL. */
  messageId: string | null;
  /** Twilio's `MessageStatus` (or `SmsStatus` for inbound), as received. */
  status: string;
  /** Twilio's `ErrorCode`, as received. */
  errorCode: string | null;
  /** The parameters to keep (the webhook leaves out what must not be stored). */
  params: Record<string, string | string[]>;
  receivedAt: number;
}

/** Per-item result of storing callbacks. */
export type CallbackInsertResult = 'stored' | 'duplicate';

/** A status change applied to a message. */
export interface CallbackTransition {
  messageId: string;
  from: MessageStatus;
  to: MessageStatus;
  providerErrorCode: number | null;
  /** When the callback arrived (SMS callbacks carry no event time). */
  at: number;
  /** When the message was accepted at intake (for delivery latency). */
  createdAt: number;
}

/** What one pass of `applyCallbackEvents` did. */
export interface ApplyCallbacksResult {
  /** Events marked applied, whether or not they changed their message. */
  applied: number;
  /** Events that matched no message and were kept aside. */
  orphaned: number;
  transitions: CallbackTransition[];
}

/** How Twilio's statuses map onto ours; any other status is recorded but changes nothing. */
const TWILIO_STATUS = new Map<string, MessageStatus>([
  ['accepted', 'submitted'],
  ['scheduled', 'submitted'],
  ['queued', 'submitted'],
  ['sending', 'submitted'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['undelivered', 'undelivered'],
  ['failed', 'failed'],
  ['read', 'read'],
]);

const INSERT_CHUNK = 500;
const MAX_INT4 = 2_147_483_647;

/**
 * The key a callback is stored once under. A repeated delivery of one status is a
 * duplicate; a later status of the same message is not (never dedupe on the SID alone).
 * A status callback's key starts with our message id (from its URL, so the same in every
 * redelivery): ids are time-ordered, so the callbacks of recent messages land together at
 * the end of the unique index instead of on a random page each (random SIDs first made every
 * insert dirty its own page, and the WAL checkpoint that copies those pages back stalled
 * commits for 50–100 ms).
 */
export function callbackDedupeKey(
  e: Pick<NewCallbackEvent, 'kind' | 'providerSid' | 'status' | 'errorCode'> & {
    messageId?: string | null | undefined;
  },
) {
  const key = `${e.kind}:${e.providerSid}:${e.status}:${e.errorCode ?? ''}`;
  return e.messageId ? `${e.messageId}/${key}` : key;
}

/** Our status for a Twilio message status, or undefined for one we do not track. */
export function messageStatusFor(twilioStatus: string): MessageStatus | undefined {
  return TWILIO_STATUS.get(twilioStatus);
}

/**
 * Stores callbacks in one transaction, each once: a callback whose dedupe key is already
 * stored (or appears earlier in the same batch) is a `duplicate`. Nothing is applied here.
 */
export async function insertCallbackEvents(
  db: Db,
  events: NewCallbackEvent[],
): Promise<CallbackInsertResult[]> {
  if (events.length === 0) return [];
  const keys = events.map(callbackDedupeKey);
  const firstIndex = new Map<string, number>();
  const rows: Insertable<CallbackEventsTable>[] = [];
  for (const [i, e] of events.entries()) {
    const key = keys[i]!;
    if (firstIndex.has(key)) continue;
    firstIndex.set(key, i);
    rows.push({
      dedupe_key: key,
      kind: e.kind,
      provider_sid: e.providerSid,
      message_id: e.messageId,
      status: e.status,
      provider_error_code: parseErrorCode(e.errorCode),
      params: JSON.stringify(e.params),
      received_at: e.receivedAt,
      applied_at: null,
      orphan: 0,
    });
  }
  const stored = db.sqlite ? await sqliteInsertCallbacks(db, rows) : await postgresInsertCallbacks(db, rows);
  return keys.map((k, i) => (stored.has(k) && firstIndex.get(k) === i ? 'stored' : 'duplicate'));
}

/** The PostgreSQL insert: multi-row statements in one transaction, conflicts skipped. */
async function postgresInsertCallbacks(
  db: Db,
  rows: Insertable<CallbackEventsTable>[],
): Promise<Set<string>> {
  return db.kysely.transaction().execute(async (trx) => {
    const out = new Set<string>();
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const inserted = await trx
        .insertInto('callback_events')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('dedupe_key')
        .execute();
      for (const r of inserted) out.add(r.dedupe_key);
    }
    return out;
  });
}

/**
 * Applies up to `limit` fresh stored status callbacks in one transaction, in arrival order.
 * Each finds its message by our id (`mid`) or else by the provider SID. Status only moves
 * to a higher rank (`read` only over `delivered`); a repeat or a late, lower status changes
 * nothing but is marked applied. A callback with no message is kept as an orphan (never
 * lost), which `rematchOrphans` matches again once its message exists.
 * On PostgreSQL several processes can apply side by side (SKIP LOCKED).
 */
export async function applyCallbackEvents(
  db: Db,
  args: { limit: number; now: number },
): Promise<ApplyCallbacksResult> {
  const locks = rowLocks(db);
  return db.kysely.transaction().execute(async (trx) => {
    const events = await claimCallbacks(trx, locks, { orphan: 0, afterId: 0, limit: args.limit });
    return applyClaimed(trx, locks, events, args.now);
  });
}

/** What one page of `rematchOrphans` did. */
export interface RematchOrphansResult extends ApplyCallbacksResult {
  /** Where the next page starts (the last orphan read), or null once a page came back short: the pass is done. */
  nextAfterId: number | null;
}

/**
 * Applies the orphans of one page (after `afterId`, at most `limit`, each at least
 * `orphanRetryAfterMs` old) whose message now exists; the others stay orphans unchanged.
 * Paging bounds each transaction however many orphans pile up (callbacks for messages this
 * gateway never had, or whose rows were deleted).
 */
export async function rematchOrphans(
  db: Db,
  args: { afterId: number; limit: number; now: number; orphanRetryAfterMs: number },
): Promise<RematchOrphansResult> {
  const locks = rowLocks(db);
  return db.kysely.transaction().execute(async (trx) => {
    const page = await claimCallbacks(trx, locks, { orphan: 1, afterId: args.afterId, limit: args.limit });
    // Too young ones wait for the next pass; filtered here, not in the query, so that a burst
    // of young orphans is not walked in full to fill a page.
    const receivedBy = args.now - args.orphanRetryAfterMs;
    const events = page.filter((e) => Number(e.received_at) <= receivedBy);
    const result = await applyClaimed(trx, locks, events, args.now);
    const nextAfterId = page.length < args.limit ? null : page[page.length - 1]!.id;
    return { ...result, nextAfterId };
  });
}

/**
 * Applies claimed events to their messages. Events that match no message are kept aside as
 * orphans (those already kept aside stay as they are, unwritten).
 */
async function applyClaimed(
  trx: Transaction<Database>,
  locks: boolean,
  events: CallbackEventRow[],
  now: number,
): Promise<ApplyCallbacksResult> {
  if (events.length === 0) return { applied: 0, orphaned: 0, transitions: [] };
  const ids = unique(events.flatMap((e) => (e.message_id === null ? [] : [e.message_id])));
  const sids = unique(events.map((e) => e.provider_sid));
  const messages = await lockMessagesFor(trx, locks, { ids, sids });
  const byId = new Map(messages.map((m) => [m.id, { ...m }]));
  const bySid = new Map<string, MessageRow>();
  for (const m of byId.values()) if (m.provider_sid !== null) bySid.set(m.provider_sid, m);

  let orphaned = 0;
  const newOrphans: number[] = [];
  const applied: number[] = [];
  const groups = new Map<string, CallbackEventRow[]>();
  for (const e of events) {
    const m = (e.message_id === null ? undefined : byId.get(e.message_id)) ?? bySid.get(e.provider_sid);
    if (!m) {
      orphaned++;
      if (e.orphan === 0) newOrphans.push(e.id);
      continue;
    }
    const group = groups.get(m.id);
    if (group) group.push(e);
    else groups.set(m.id, [e]);
  }

  const transitions: CallbackTransition[] = [];
  for (const [id, group] of groups) {
    const m = byId.get(id)!;
    for (const e of group) {
      const t = await applyOne(trx, m, e, bySid, now);
      if (t) transitions.push(t);
      applied.push(e.id);
    }
  }

  if (transitions.length > 0) {
    await trx
      .insertInto('message_events')
      .values(
        transitions.map((t) => ({
          message_id: t.messageId,
          status: t.to,
          at: t.at,
          provider_error_code: t.providerErrorCode,
          source: 'callback',
        })),
      )
      .execute();
  }
  if (applied.length > 0) {
    await trx
      .updateTable('callback_events')
      .set({ applied_at: now, orphan: 0 })
      .where('id', 'in', applied)
      .execute();
  }
  if (newOrphans.length > 0) {
    await trx.updateTable('callback_events').set({ orphan: 1 }).where('id', 'in', newOrphans).execute();
  }
  return { applied: applied.length, orphaned, transitions };
}

/**
 * Callbacks kept aside because no message matched them (yet): one range of the unapplied
 * index, counted off the event loop on SQLite (`readRows`).
 */
export async function countOrphans(db: Db): Promise<number> {
  const query = db.kysely
    .selectFrom('callback_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', 'status')
    .where('orphan', '=', 1)
    .where('applied_at', 'is', null)
    .compile();
  const [row] = await readRows(db, query);
  return Number(row?.n ?? 0);
}

/** Moves one message forward for one callback, if the callback is ahead of it. */
async function applyOne(
  trx: Transaction<Database>,
  m: MessageRow,
  e: CallbackEventRow,
  bySid: Map<string, MessageRow>,
  now: number,
): Promise<CallbackTransition | null> {
  const to = messageStatusFor(e.status);
  if (!to) return null;
  const rank = STATUS_RANK[to];
  const moves = to === 'read' ? m.status === 'delivered' : rank > m.status_rank;
  if (!moves) return null;
  const at = e.received_at;
  // Any callback proves the provider has the message: no lease or reconciliation is needed.
  const set: Updateable<MessagesTable> = {
    status: to,
    status_rank: rank,
    lease_owner: null,
    lease_expires_at: null,
    needs_reconcile: 0,
    updated_at: now,
  };
  // provider_sid is UNIQUE: adopt the SID only when no other message holds it.
  if (m.provider_sid === null && !bySid.has(e.provider_sid)) set.provider_sid = e.provider_sid;
  if (m.submitted_at === null) set.submitted_at = at;
  if (rank >= STATUS_RANK.sent && to !== 'failed' && m.sent_at === null) set.sent_at = at;
  if (rank >= STATUS_RANK.delivered && m.final_at === null) set.final_at = at;
  if (e.provider_error_code !== null) {
    set.provider_error_code = e.provider_error_code;
    set.error_code = `twilio:${e.provider_error_code}`;
  }
  const update = trx.updateTable('messages').set(set).where('id', '=', m.id);
  // Re-checked in the UPDATE itself, so a concurrent writer can never make status regress.
  const res = await (to === 'read'
    ? update.where('status', '=', 'delivered')
    : update.where('status_rank', '<', rank)
  ).executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return null;
  const from = m.status;
  Object.assign(m, set);
  if (set.provider_sid) bySid.set(set.provider_sid, m);
  return { messageId: m.id, from, to, providerErrorCode: e.provider_error_code, at, createdAt: m.created_at };
}

function parseErrorCode(raw: string | null): number | null {
  if (raw === null || !/^\d{1,10}$/.test(raw.trim())) return null;
  const n = Number(raw.trim());
  return n <= MAX_INT4 ? n : null;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
