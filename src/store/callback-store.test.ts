import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSid, statusEvent } from '../../test/support/callback-events.ts';
import { backends, openTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import {
  applyCallbackEvents,
  callbackDedupeKey,
  insertCallbackEvents,
  type NewCallbackEvent,
} from './callback-store.ts';
import type { Db } from './dialect.ts';
import { insertMessages } from './message-store.ts';

const T0 = 1_700_000_000_000;

const newMessage = (id: string) => testMessage(id, T0);

describe.each(backends())('callback store on $name', (backend) => {
  let db: Db;
  let closeDb: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close: closeDb } = await openTestDatabase(backend));
  });
  afterAll(async () => {
    await closeDb();
  });

  /** A message the provider accepted: submitted, with its SID. */
  async function submitted() {
    const id = `msg_${randomUUID()}`;
    const sid = newSid();
    await insertMessages(db, [newMessage(id)]);
    await db.kysely
      .updateTable('messages')
      .set({ status: 'submitted', status_rank: 2, provider_sid: sid, submitted_at: T0 + 10 })
      .where('id', '=', id)
      .execute();
    return { id, sid };
  }

  const event = (sid: string, status: string, over: Partial<NewCallbackEvent> = {}) =>
    statusEvent(sid, status, T0 + 1000, over);

  /** Applies everything waiting; returns the totals. */
  async function applyAll(now = T0 + 60_000) {
    const total = {
      applied: 0,
      orphaned: 0,
      transitions: [] as { messageId: string; from: string; to: string }[],
    };
    for (;;) {
      const r = await applyCallbackEvents(db, { limit: 50, now });
      total.applied += r.applied;
      total.orphaned += r.orphaned;
      total.transitions.push(...r.transitions);
      if (r.applied + r.orphaned < 50) return total;
    }
  }

  const message = (id: string) =>
    db.kysely.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const callbackHistory = async (id: string) =>
    (
      await db.kysely
        .selectFrom('message_events')
        .select(['status', 'provider_error_code', 'at'])
        .where('message_id', '=', id)
        .where('source', '=', 'callback')
        .orderBy('id')
        .execute()
    ).map((e) => ({ ...e, at: Number(e.at) }));

  it('keeps delivered when a late sent arrives after it', async () => {
    const { id, sid } = await submitted();
    await insertCallbackEvents(db, [event(sid, 'delivered', { receivedAt: T0 + 2000 })]);
    const first = await applyAll();
    expect(first.transitions).toEqual([
      expect.objectContaining({ messageId: id, from: 'submitted', to: 'delivered' }),
    ]);
    await insertCallbackEvents(db, [event(sid, 'sent', { receivedAt: T0 + 3000 })]);
    const second = await applyAll();
    expect(second).toMatchObject({ applied: 1, transitions: [] });
    expect(await message(id)).toMatchObject({ status: 'delivered', status_rank: 4, final_at: T0 + 2000 });
    expect(await callbackHistory(id)).toEqual([
      { status: 'delivered', provider_error_code: null, at: T0 + 2000 },
    ]);
  });

  it('keeps delivered when sent and delivered arrive reversed in one batch', async () => {
    const { id, sid } = await submitted();
    await insertCallbackEvents(db, [event(sid, 'delivered'), event(sid, 'sent')]);
    const r = await applyAll();
    expect(r.applied).toBe(2);
    expect((await message(id)).status).toBe('delivered');
    expect((await callbackHistory(id)).map((e) => e.status)).toEqual(['delivered']);
  });

  it('applies sent then delivered as two transitions with their times', async () => {
    const { id, sid } = await submitted();
    await insertCallbackEvents(db, [
      event(sid, 'sent', { receivedAt: T0 + 1500 }),
      event(sid, 'delivered', { receivedAt: T0 + 4000 }),
    ]);
    const r = await applyAll();
    expect(r.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['submitted>sent', 'sent>delivered']);
    expect(await message(id)).toMatchObject({
      status: 'delivered',
      sent_at: T0 + 1500,
      final_at: T0 + 4000,
      updated_at: T0 + 60_000,
    });
    expect((await callbackHistory(id)).map((e) => e.status)).toEqual(['sent', 'delivered']);
  });

  it('stores a repeated callback once, but each status of one SID separately', async () => {
    const sid = newSid();
    const out = await insertCallbackEvents(db, [
      event(sid, 'sent'),
      event(sid, 'sent'),
      event(sid, 'undelivered', { errorCode: '30003' }),
      event(sid, 'undelivered', { errorCode: '30005' }),
    ]);
    expect(out).toEqual(['stored', 'duplicate', 'stored', 'stored']);
    expect(await insertCallbackEvents(db, [event(sid, 'sent'), event(sid, 'delivered')])).toEqual([
      'duplicate',
      'stored',
    ]);
    const rows = await db.kysely
      .selectFrom('callback_events')
      .select(['dedupe_key', 'provider_error_code'])
      .where('provider_sid', '=', sid)
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { dedupe_key: `status:${sid}:sent:`, provider_error_code: null },
      { dedupe_key: `status:${sid}:undelivered:30003`, provider_error_code: 30003 },
      { dedupe_key: `status:${sid}:undelivered:30005`, provider_error_code: 30005 },
      { dedupe_key: `status:${sid}:delivered:`, provider_error_code: null },
    ]);
    expect(
      callbackDedupeKey({ kind: 'inbound', providerSid: sid, status: 'received', errorCode: null }),
    ).toBe(`inbound:${sid}:received:`);
    expect(
      callbackDedupeKey({
        kind: 'status',
        providerSid: sid,
        status: 'sent',
        errorCode: null,
        messageId: 'msg_1',
      }),
    ).toBe(`msg_1/status:${sid}:sent:`);
    await applyAll(); // leaves them as orphans: no message has this SID
  });

  it('keeps the provider error code of failed and undelivered messages', async () => {
    const failed = await submitted();
    const undelivered = await submitted();
    await insertCallbackEvents(db, [
      event(failed.sid, 'failed', { errorCode: '30008' }),
      event(undelivered.sid, 'sent'),
      event(undelivered.sid, 'undelivered', { errorCode: '30003', receivedAt: T0 + 5000 }),
    ]);
    await applyAll();
    expect(await message(failed.id)).toMatchObject({
      status: 'failed',
      provider_error_code: 30008,
      error_code: 'twilio:30008',
      sent_at: null,
      final_at: T0 + 1000,
    });
    expect(await message(undelivered.id)).toMatchObject({
      status: 'undelivered',
      provider_error_code: 30003,
      error_code: 'twilio:30003',
      final_at: T0 + 5000,
    });
    expect(await callbackHistory(undelivered.id)).toEqual([
      { status: 'sent', provider_error_code: null, at: T0 + 1000 },
      { status: 'undelivered', provider_error_code: 30003, at: T0 + 5000 },
    ]);
    // A final status never replaces another.
    await insertCallbackEvents(db, [event(undelivered.sid, 'delivered')]);
    await applyAll();
    expect(await message(undelivered.id)).toMatchObject({
      status: 'undelivered',
      provider_error_code: 30003,
    });
  });

  it('moves to read only after delivered', async () => {
    const early = await submitted();
    await insertCallbackEvents(db, [event(early.sid, 'sent'), event(early.sid, 'read')]);
    await applyAll();
    expect((await message(early.id)).status).toBe('sent');

    const failed = await submitted();
    await insertCallbackEvents(db, [
      event(failed.sid, 'failed', { errorCode: '63016' }),
      event(failed.sid, 'read'),
    ]);
    await applyAll();
    expect((await message(failed.id)).status).toBe('failed');

    const { id, sid } = await submitted();
    await insertCallbackEvents(db, [event(sid, 'delivered', { receivedAt: T0 + 1000 })]);
    await applyAll();
    await insertCallbackEvents(db, [event(sid, 'read', { receivedAt: T0 + 9000 })]);
    const r = await applyAll();
    expect(r.transitions).toEqual([
      expect.objectContaining({ messageId: id, from: 'delivered', to: 'read' }),
    ]);
    expect(await message(id)).toMatchObject({ status: 'read', status_rank: 5, final_at: T0 + 1000 });
    expect((await callbackHistory(id)).map((e) => e.status)).toEqual(['delivered', 'read']);
  });

  it('finds a message by its id before the SID is recorded, adopts the SID and clears the lease', async () => {
    const id = `msg_${randomUUID()}`;
    await insertMessages(db, [newMessage(id)]);
    await db.kysely
      .updateTable('messages')
      .set({
        status: 'sending',
        status_rank: 1,
        lease_owner: 'w1',
        lease_expires_at: T0 + 30_000,
        needs_reconcile: 1,
      })
      .where('id', '=', id)
      .execute();
    const sid = newSid();
    await insertCallbackEvents(db, [event(sid, 'sent', { messageId: id })]);
    const r = await applyAll();
    expect(r.transitions).toEqual([expect.objectContaining({ messageId: id, from: 'sending', to: 'sent' })]);
    expect(await message(id)).toMatchObject({
      status: 'sent',
      provider_sid: sid,
      lease_owner: null,
      lease_expires_at: null,
      needs_reconcile: 0,
      submitted_at: T0 + 1000,
      sent_at: T0 + 1000,
    });
  });

  it('never takes a SID another message already holds', async () => {
    const holder = await submitted();
    const id = `msg_${randomUUID()}`;
    await insertMessages(db, [newMessage(id)]);
    await insertCallbackEvents(db, [event(holder.sid, 'sent', { messageId: id })]);
    await applyAll();
    expect(await message(id)).toMatchObject({ status: 'sent', provider_sid: null });
    expect(await message(holder.id)).toMatchObject({ status: 'submitted', provider_sid: holder.sid });
  });

  it('marks statuses it does not track applied without changing the message', async () => {
    const { id, sid } = await submitted();
    await insertCallbackEvents(db, [event(sid, 'canceled'), event(sid, 'partially_delivered')]);
    expect(await applyAll()).toMatchObject({ applied: 2, transitions: [] });
    expect((await message(id)).status).toBe('submitted');
  });

  it('leaves inbound messages to their own handler', async () => {
    const sid = newSid();
    await insertCallbackEvents(db, [
      { ...event(sid, 'received'), kind: 'inbound', params: { From: '+14155550123', BodyKeyword: 'STOP' } },
    ]);
    await applyAll();
    expect(
      await db.kysely
        .selectFrom('callback_events')
        .select(['kind', 'applied_at', 'orphan', 'params'])
        .where('provider_sid', '=', sid)
        .executeTakeFirst(),
    ).toEqual({
      kind: 'inbound',
      applied_at: null,
      orphan: 0,
      params: JSON.stringify({ From: '+14155550123', BodyKeyword: 'STOP' }),
    });
  });

  it('applies each callback exactly once when several passes run side by side', async () => {
    const msgs = await Promise.all(Array.from({ length: 60 }, () => submitted()));
    const events = msgs.flatMap((m) => [event(m.sid, 'sent'), event(m.sid, 'delivered')]);
    // Shuffled, so some deliveries arrive before their sent.
    events.sort(() => Math.random() - 0.5);
    await insertCallbackEvents(db, events);
    const worker = async () => {
      let applied = 0;
      let moved = 0;
      for (;;) {
        const r = await applyCallbackEvents(db, { limit: 7, now: T0 + 60_000 });
        applied += r.applied;
        moved += r.transitions.length;
        if (r.applied + r.orphaned === 0) return { applied, moved };
      }
    };
    const results = await Promise.all([worker(), worker(), worker(), worker()]);
    expect(results.reduce((s, r) => s + r.applied, 0)).toBe(120);
    const ids = msgs.map((m) => m.id);
    const rows = await db.kysely.selectFrom('messages').select(['status']).where('id', 'in', ids).execute();
    expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    const history = await db.kysely
      .selectFrom('message_events')
      .select(['message_id', 'status'])
      .where('message_id', 'in', ids)
      .where('source', '=', 'callback')
      .execute();
    expect(history.length).toBe(results.reduce((s, r) => s + r.moved, 0));
    expect(history.filter((h) => h.status === 'delivered')).toHaveLength(60);
  });
});
