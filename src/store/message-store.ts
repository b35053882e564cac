import type { Selectable } from 'kysely';
import { type Db, readRows } from './dialect.ts';
import { postgresInsert } from './postgres/insert-messages.ts';
import type { AttemptsTable, MessageEventsTable, MessagesTable } from './schema.ts';
import { sqliteInsert } from './sqlite/insert-messages.ts';

/** A stored message row. */
export type MessageRow = Selectable<MessagesTable>;
/** A stored attempt row. */
export type AttemptRow = Selectable<AttemptsTable>;
/** A stored status event. */
export type EventRow = Selectable<MessageEventsTable>;

/** A message as intake hands it to the store. */
export interface NewMessage {
  id: string;
  tenantId: string;
  idempotencyKey: string | null;
  payloadHash: string;
  channel: string;
  purpose: string;
  recipient: string;
  country: string;
  body: string | null;
  bodyHash: string | null;
  contentSid: string | null;
  contentVariables: string | null;
  mediaUrls: string[] | null;
  userId: string | null;
  correlationId: string | null;
  poolId: string;
  orderKey: string | null;
  now: number;
  /** When the message becomes due (a policy deferral at intake); `now` when absent. */
  notBefore?: number | undefined;
  templateId?: string | null | undefined;
  templateVersion?: number | null | undefined;
  templateLocale?: string | null | undefined;
  /** A policy decision taken at intake (a deferral or a change such as smart encoding). */
  policyReason?: string | null | undefined;
}

/** Per-item result of an insert: created, a replay of the same payload, or a key conflict. */
export type InsertOutcome =
  | { kind: 'created'; row: MessageRow }
  | { kind: 'replay'; row: MessageRow }
  | { kind: 'conflict'; row: MessageRow };

/** Filters for listing a tenant's messages. */
export interface MessageFilter {
  status?: string | undefined;
  recipient?: string | undefined;
  purpose?: string | undefined;
  correlationId?: string | undefined;
  /** Only messages with seq below this (cursor, newest first). */
  beforeSeq?: number | undefined;
  limit: number;
}

/**
 * Inserts messages in one transaction, each with a UNIQUE (tenant, idempotency key): a
 * repeated key with the same payload hash returns the original row (`replay`), with a
 * different one `conflict`. Items are resolved in order, so two items with one key in the
 * same batch resolve like two requests would.
 */
export async function insertMessages(db: Db, items: NewMessage[]): Promise<InsertOutcome[]> {
  if (items.length === 0) return [];
  const rows = items.map(toRow);
  const created = db.sqlite ? await sqliteInsert(db, rows) : await postgresInsert(db, rows);
  const missing = items.filter((m) => !created.has(m.id));
  const existing = new Map<string, MessageRow>();
  if (missing.length > 0) {
    const found = await db.kysely
      .selectFrom('messages')
      .selectAll()
      .where((eb) =>
        eb.or(
          missing.map((m) =>
            eb.and([eb('tenant_id', '=', m.tenantId), eb('idempotency_key', '=', m.idempotencyKey)]),
          ),
        ),
      )
      .execute();
    for (const r of found) existing.set(`${r.tenant_id}\u0000${r.idempotency_key}`, r);
  }
  return rows.map((row, i): InsertOutcome => {
    const seq = created.get(row.id);
    if (seq !== undefined) return { kind: 'created', row: withSeq(row, seq) };
    const m = items[i]!;
    const prior = existing.get(`${m.tenantId}\u0000${m.idempotencyKey}`);
    if (!prior) throw new Error(`message ${m.id} was neither inserted nor found`);
    return { kind: prior.payload_hash === m.payloadHash ? 'replay' : 'conflict', row: prior };
  });
}

/**
 * The inserted row with the seq the database gave it, completed in place: a copy
 * (`{ ...row, seq }` of 40 columns) was the largest allocation of batch intake, 1.8 KB a
 * message, and its removal took a sixth off batch intake's CPU per message.
 */
function withSeq(row: Omit<MessageRow, 'seq'>, seq: number): MessageRow {
  const full: Omit<MessageRow, 'seq'> & { seq?: number } = row;
  full.seq = seq;
  return full as MessageRow;
}

/** The full row intake writes for a new message. */
export function toRow(m: NewMessage): Omit<MessageRow, 'seq'> {
  return {
    id: m.id,
    tenant_id: m.tenantId,
    idempotency_key: m.idempotencyKey,
    payload_hash: m.payloadHash,
    channel: m.channel,
    purpose: m.purpose,
    recipient: m.recipient,
    country: m.country,
    body: m.body,
    body_hash: m.bodyHash,
    content_sid: m.contentSid,
    content_variables: m.contentVariables,
    media_urls: m.mediaUrls ? JSON.stringify(m.mediaUrls) : null,
    user_id: m.userId,
    correlation_id: m.correlationId,
    pool_id: m.poolId,
    sender: null,
    order_key: m.orderKey,
    status: 'queued' as const,
    status_rank: 0,
    attempts: 0,
    next_attempt_at: m.notBefore ?? m.now,
    last_delay_ms: 0,
    lease_owner: null,
    lease_expires_at: null,
    needs_reconcile: 0,
    provider_sid: null,
    error_code: null,
    provider_error_code: null,
    error_message: null,
    created_at: m.now,
    updated_at: m.now,
    submitted_at: null,
    sent_at: null,
    final_at: null,
    template_id: m.templateId ?? null,
    template_version: m.templateVersion ?? null,
    template_locale: m.templateLocale ?? null,
    policy_reason: m.policyReason ?? null,
  };
}

/** One message of a tenant, or undefined. */
export async function getMessage(db: Db, tenantId: string, id: string): Promise<MessageRow | undefined> {
  return db.kysely
    .selectFrom('messages')
    .selectAll()
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
}

/**
 * A message's attempts and status events, oldest first. Two events are the row's own data,
 * not stored twice (intake stays one insert per message, dispatch one update): `queued` is its
 * creation, and `submitted` is its `submitted_at` when an accepted attempt finished then (a
 * callback that came first leaves no such attempt, and stores its own event).
 */
export async function getHistory(
  db: Db,
  row: Pick<MessageRow, 'id' | 'created_at' | 'submitted_at'>,
): Promise<{ attempts: AttemptRow[]; events: EventRow[] }> {
  const [attempts, stored] = await Promise.all([
    db.kysely
      .selectFrom('message_attempts')
      .selectAll()
      .where('message_id', '=', row.id)
      .orderBy('id')
      .execute(),
    db.kysely
      .selectFrom('message_events')
      .selectAll()
      .where('message_id', '=', row.id)
      .orderBy('id')
      .execute(),
  ]);
  const derived = (status: string, at: number, source: string): EventRow => ({
    id: 0,
    message_id: row.id,
    status,
    at,
    provider_error_code: null,
    source,
  });
  const events = [derived('queued', row.created_at, 'intake'), ...stored];
  const at = row.submitted_at;
  const accepted =
    at === null
      ? undefined
      : attempts.find((a) => (a.outcome === 'accepted' || a.outcome === 'adopted') && a.finished_at === at);
  if (at !== null && accepted && !stored.some((e) => e.status === 'submitted')) {
    const later = events.findIndex((e) => e.at > at);
    const event = derived('submitted', at, accepted.outcome === 'adopted' ? 'reconcile' : 'dispatch');
    events.splice(later < 0 ? events.length : later, 0, event);
  }
  return { attempts, events };
}

/** A tenant's messages, newest first, filtered, one page. */
export async function listMessages(db: Db, tenantId: string, f: MessageFilter): Promise<MessageRow[]> {
  let q = db.kysely.selectFrom('messages').selectAll().where('tenant_id', '=', tenantId);
  if (f.status) q = q.where('status', '=', f.status as MessageRow['status']);
  if (f.recipient) q = q.where('recipient', '=', f.recipient);
  if (f.purpose) q = q.where('purpose', '=', f.purpose);
  if (f.correlationId) q = q.where('correlation_id', '=', f.correlationId);
  if (f.beforeSeq !== undefined) q = q.where('seq', '<', f.beforeSeq);
  // A filter that matches few of a tenant's messages walks its history (60-80 ms per 150,000
  // messages on SQLite): off the event loop, so a listing never holds up intake or callbacks.
  return readRows(db, q.orderBy('seq', 'desc').limit(f.limit).compile());
}

/**
 * Cancels a message that no worker holds and that was never handed to the provider.
 * Returns the row after the attempt, and whether it was canceled.
 */
export async function cancelMessage(
  db: Db,
  tenantId: string,
  id: string,
  now: number,
): Promise<{ canceled: boolean; row: MessageRow | undefined }> {
  return db.kysely.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('messages')
      .set({ status: 'canceled', status_rank: 4, final_at: now, updated_at: now })
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'queued')
      .where('attempts', '=', 0)
      .where('lease_owner', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (row) {
      await trx
        .insertInto('message_events')
        .values({ message_id: id, status: 'canceled', at: now, provider_error_code: null, source: 'intake' })
        .execute();
      return { canceled: true, row };
    }
    return {
      canceled: false,
      row: await trx
        .selectFrom('messages')
        .selectAll()
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst(),
    };
  });
}
