import { type Kysely, sql, type Transaction } from 'kysely';
import type { Db } from './dialect.ts';
import type { Database } from './schema.ts';

/** What a policy check before a send decided for a claimed message. */
export type PolicyOutcome =
  | {
      /** Refused for good: the message fails with the reason; the provider never sees it. */
      kind: 'refuse';
      messageId: string;
      owner: string;
      reason: string;
      message: string;
      now: number;
    }
  | {
      /** Not now (quiet hours, caps, brownout): back to the queue, no attempt counted. */
      kind: 'defer';
      messageId: string;
      owner: string;
      reason: string;
      until: number;
      now: number;
    }
  | {
      /** Sent on another channel and pool instead (e.g. WhatsApp outside its window → SMS). */
      kind: 'reroute';
      messageId: string;
      owner: string;
      reason: string;
      channel: string;
      poolId: string;
      now: number;
    };

/** The error code a policy refusal leaves on a message; the reason says which policy. */
export const POLICY_REFUSED_CODE = 'SB_POLICY_REFUSED';

/**
 * Records policy outcomes for messages this worker holds (lease owner, status sending); a
 * message whose lease was lost is left alone. Returns the ids that were updated.
 */
export async function recordPolicyOutcomes(db: Db, outcomes: PolicyOutcome[]): Promise<Set<string>> {
  const done = new Set<string>();
  if (outcomes.length === 0) return done;
  const ordered = [...outcomes].sort((x, y) => (x.messageId < y.messageId ? -1 : 1));
  await db.kysely.transaction().execute(async (trx) => {
    for (const o of ordered) if (await recordPolicyOutcome(trx, o)) done.add(o.messageId);
  });
  return done;
}

async function recordPolicyOutcome(trx: Transaction<Database>, o: PolicyOutcome): Promise<boolean> {
  // The check runs after any reconciliation found the provider without the message, so
  // nothing is left to reconcile whatever the policy decided.
  const base = {
    lease_owner: null,
    lease_expires_at: null,
    updated_at: o.now,
    policy_reason: o.reason,
    needs_reconcile: 0,
  };
  const q = trx.updateTable('messages').where('id', '=', o.messageId).where('lease_owner', '=', o.owner);
  const held = (r: { numUpdatedRows: bigint }) => Number(r.numUpdatedRows) === 1;
  if (o.kind === 'defer') {
    return held(
      await q
        .set({ ...base, status: 'queued', status_rank: 0, next_attempt_at: o.until })
        .where('status', '=', 'sending')
        .executeTakeFirstOrThrow(),
    );
  }
  if (o.kind === 'reroute') {
    return held(
      await q
        .set({
          ...base,
          status: 'queued',
          status_rank: 0,
          next_attempt_at: o.now,
          channel: o.channel,
          pool_id: o.poolId,
          sender: null,
        })
        .where('status', '=', 'sending')
        .executeTakeFirstOrThrow(),
    );
  }
  const res = await q
    .set({
      ...base,
      status: 'failed',
      status_rank: 4,
      final_at: o.now,
      error_code: POLICY_REFUSED_CODE,
      error_message: o.message.slice(0, 500),
    })
    .where('status', '=', 'sending')
    .executeTakeFirstOrThrow();
  if (!held(res)) return false;
  await trx
    .insertInto('message_events')
    .values({
      message_id: o.messageId,
      status: 'failed',
      at: o.now,
      provider_error_code: null,
      source: 'policy',
    })
    .execute();
  return true;
}

/** Records an inbound STOP (opted out) or START (opted back in) for a recipient in a scope. */
export async function setOptOut(
  db: Db,
  args: { scope: string; recipient: string; optedOut: boolean; keyword: string; now: number },
): Promise<void> {
  await upsertOptOut(db.kysely, args, args.now);
}

type Executor = Kysely<Database> | Transaction<Database>;

async function upsertOptOut(
  exec: Executor,
  o: { scope: string; recipient: string; optedOut: boolean; keyword: string },
  now: number,
): Promise<void> {
  const state = { opted_out: o.optedOut ? 1 : 0, keyword: o.keyword, updated_at: now };
  await exec
    .insertInto('opt_outs')
    .values({ scope: o.scope, recipient: o.recipient, ...state })
    .onConflict((oc) => oc.columns(['scope', 'recipient']).doUpdateSet(state))
    .execute();
}

async function upsertWhatsappSession(
  exec: Executor,
  recipient: string,
  sender: string,
  at: number,
): Promise<void> {
  await exec
    .insertInto('whatsapp_sessions')
    .values({ recipient, sender, last_inbound_at: at })
    .onConflict((oc) =>
      oc.columns(['recipient', 'sender']).doUpdateSet({
        // Out-of-order inbound webhooks never move the session start backwards.
        last_inbound_at: sql`case when excluded.last_inbound_at > whatsapp_sessions.last_inbound_at then excluded.last_inbound_at else whatsapp_sessions.last_inbound_at end`,
      }),
    )
    .execute();
}

/** Notes an inbound WhatsApp message: it opens (or extends) the 24-hour session. */
export async function touchWhatsappSession(
  db: Db,
  recipient: string,
  sender: string,
  at: number,
): Promise<void> {
  await upsertWhatsappSession(db.kysely, recipient, sender, at);
}

/** When the recipient last wrote to any of these senders on WhatsApp (ms), or null. */
export async function lastWhatsappInbound(
  db: Db,
  recipient: string,
  senders: readonly string[],
): Promise<number | null> {
  if (senders.length === 0) return null;
  const row = await db.kysely
    .selectFrom('whatsapp_sessions')
    .select((eb) => eb.fn.max('last_inbound_at').as('at'))
    .where('recipient', '=', recipient)
    .where('sender', 'in', [...senders])
    .executeTakeFirst();
  return row?.at == null ? null : Number(row.at);
}

/** Whether this tenant has never sent to this recipient (first-contact throttle). */
export async function isFirstContact(db: Db, tenantId: string, recipient: string): Promise<boolean> {
  const row = await db.kysely
    .selectFrom('contacts')
    .select('first_at')
    .where('tenant_id', '=', tenantId)
    .where('recipient', '=', recipient)
    .executeTakeFirst();
  return row === undefined;
}

/** Remembers that this tenant has sent to this recipient. */
export async function rememberContact(
  db: Db,
  tenantId: string,
  recipient: string,
  now: number,
): Promise<void> {
  await db.kysely
    .insertInto('contacts')
    .values({ tenant_id: tenantId, recipient, first_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'recipient']).doNothing())
    .execute();
}

/**
 * Adds `amount` to a windowed counter if the result stays within `limit` (Infinity: no
 * limit); returns whether it was added and the counter's value after. Atomic on both
 * backends (one transaction; the row is locked on PostgreSQL).
 */
export async function reserveCounter(
  db: Db,
  args: { key: string; amount: number; limit: number; expiresAt: number; now: number },
): Promise<{ reserved: boolean; value: number }> {
  return db.kysely.transaction().execute(async (trx) => {
    await trx
      .insertInto('policy_counters')
      .values({ key: args.key, value: 0, expires_at: args.expiresAt })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await trx
      .selectFrom('policy_counters')
      .select(['value', 'expires_at'])
      .where('key', '=', args.key)
      .$if(db.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirstOrThrow();
    // An expired window starts again from zero.
    const current = Number(row.expires_at) <= args.now ? 0 : Number(row.value);
    const next = current + args.amount;
    if (next > args.limit) return { reserved: false, value: current };
    await trx
      .updateTable('policy_counters')
      .set({ value: next, expires_at: Math.max(Number(row.expires_at), args.expiresAt) })
      .where('key', '=', args.key)
      .execute();
    return { reserved: true, value: next };
  });
}

/** Drops expired counters. */
export async function pruneCounters(db: Db, now: number): Promise<void> {
  await db.kysely.deleteFrom('policy_counters').where('expires_at', '<=', now).execute();
}

/** Blocks a country (spike protection or an operator); a repeated block keeps the first. */
export async function blockCountry(db: Db, country: string, reason: string, now: number): Promise<boolean> {
  const res = await db.kysely
    .insertInto('country_blocks')
    .values({ country, reason, blocked_at: now })
    .onConflict((oc) => oc.column('country').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Lifts a country block. */
export async function unblockCountry(db: Db, country: string): Promise<void> {
  await db.kysely.deleteFrom('country_blocks').where('country', '=', country).execute();
}

/** Every blocked country with its reason. */
export async function listCountryBlocks(
  db: Db,
): Promise<{ country: string; reason: string; blockedAt: number }[]> {
  const rows = await db.kysely.selectFrom('country_blocks').selectAll().orderBy('country').execute();
  return rows.map((r) => ({ country: r.country, reason: r.reason, blockedAt: Number(r.blocked_at) }));
}

/** Sets an operational switch (brownout) for every process sharing the database. */
export async function setSwitch(db: Db, name: string, enabled: boolean, now: number): Promise<void> {
  await db.kysely
    .insertInto('gateway_switches')
    .values({ name, enabled: enabled ? 1 : 0, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ enabled: enabled ? 1 : 0, updated_at: now }))
    .execute();
}

/** The switches set through the API (name → enabled). */
export async function readSwitches(db: Db): Promise<Map<string, boolean>> {
  const rows = await db.kysely.selectFrom('gateway_switches').selectAll().execute();
  return new Map(rows.map((r) => [r.name, r.enabled === 1]));
}

/** The sticky senders for these keys (key → sender), read inside a claim. */
export async function readStickySenders(
  trx: Transaction<Database>,
  keys: readonly string[],
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const rows = await trx
    .selectFrom('sticky_senders')
    .select(['key', 'sender'])
    .where('key', 'in', [...new Set(keys)])
    .execute();
  return new Map(rows.map((r) => [r.key, r.sender]));
}

/** Persists new or changed sticky senders, inside the claim that assigned them. */
export async function writeStickySenders(
  trx: Transaction<Database>,
  pins: readonly { key: string; poolId: string; sender: string }[],
  now: number,
): Promise<void> {
  if (pins.length === 0) return;
  // One statement for the claim's pins; a key pinned twice keeps its last sender (an upsert
  // may not touch one row twice).
  const latest = new Map(pins.map((p) => [p.key, p]));
  await trx
    .insertInto('sticky_senders')
    .values(
      [...latest.values()].map((p) => ({ key: p.key, pool_id: p.poolId, sender: p.sender, updated_at: now })),
    )
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({
        pool_id: eb.ref('excluded.pool_id'),
        sender: eb.ref('excluded.sender'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

/** What an inbound message means for the policy state. */
export interface InboundEffect {
  optOut?: { scope: string; recipient: string; optedOut: boolean; keyword: string } | undefined;
  whatsappSession?: { recipient: string; sender: string; at: number } | undefined;
}

/**
 * Applies stored inbound messages to the policy state (opt-outs, WhatsApp sessions) in one
 * transaction per batch and marks them applied; `effectOf` decides what each one means from
 * its stored parameters (From, To, BodyKeyword). Returns how many were applied.
 */
export async function applyInboundEvents(
  db: Db,
  args: { limit: number; now: number },
  effectOf: (params: Record<string, unknown>, receivedAt: number) => InboundEffect,
): Promise<{ applied: number; effects: InboundEffect[] }> {
  return db.kysely.transaction().execute(async (trx) => {
    const events = await trx
      .selectFrom('callback_events')
      .select(['id', 'params', 'received_at'])
      .where('kind', '=', 'inbound')
      .where('orphan', '=', 0) // never set for inbound; it keeps the scan on one range of the index
      .where('applied_at', 'is', null)
      .orderBy('id')
      .limit(args.limit)
      .$if(db.dialect === 'postgres', (q) => q.forUpdate().skipLocked())
      .execute();
    if (events.length === 0) return { applied: 0, effects: [] };
    const effects: InboundEffect[] = [];
    for (const e of events) {
      const effect = effectOf(JSON.parse(e.params) as Record<string, unknown>, Number(e.received_at));
      effects.push(effect);
      if (effect.optOut) await upsertOptOut(trx, effect.optOut, args.now);
      const w = effect.whatsappSession;
      if (w) await upsertWhatsappSession(trx, w.recipient, w.sender, w.at);
    }
    await trx
      .updateTable('callback_events')
      .set({ applied_at: args.now })
      .where(
        'id',
        'in',
        events.map((e) => e.id),
      )
      .execute();
    return { applied: events.length, effects };
  });
}
