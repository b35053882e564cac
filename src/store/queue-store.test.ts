import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { newSid, statusEvent } from '../../test/support/callback-events.ts';
import { backends, useTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import { applyCallbackEvents, insertCallbackEvents } from './callback-store.ts';
import { claimDueStatement } from './claims.ts';
import { getHistory, insertMessages, type MessageRow } from './message-store.ts';
import {
  type AttemptStart,
  type DispatchOutcome,
  queueStats,
  recordOutcomes,
  startAttempts,
} from './queue-store.ts';
import { indexDefinition } from './schema-dump.ts';

const T0 = 1_700_000_000_000;
const OWNER = 'worker-a';
const SENDER = '+14155550100';

const newMessage = (id: string) => testMessage(id, T0);

describe.each(backends())('dispatch writes on $name', (backend) => {
  const store = useTestDatabase(backend);

  /** `n` messages claimed by `owner` (status sending, leased), as a claim leaves them. */
  async function claimed(n: number, owner = OWNER): Promise<string[]> {
    const ids = Array.from({ length: n }, () => `msg_${randomUUID().replaceAll('-', '')}`);
    await insertMessages(store.db, ids.map(newMessage));
    await store.db.kysely
      .updateTable('messages')
      .set({ status: 'sending', status_rank: 1, lease_owner: owner, lease_expires_at: T0 + 30_000 })
      .where('id', 'in', ids)
      .execute();
    return ids;
  }

  /** `n` claimed messages whose first attempt has started. */
  async function started(n: number): Promise<string[]> {
    const ids = await claimed(n);
    await startAttempts(
      store.db,
      ids.map((id) => start(id)),
    );
    return ids;
  }

  const row = async (id: string): Promise<MessageRow> =>
    store.db.kysely.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const attemptsOf = (id: string) =>
    store.db.kysely
      .selectFrom('message_attempts')
      .selectAll()
      .where('message_id', '=', id)
      .orderBy('id')
      .execute();
  const start = (id: string, over: Partial<AttemptStart> = {}): AttemptStart => ({
    messageId: id,
    owner: OWNER,
    attempt: 1,
    sender: SENDER,
    now: T0 + 100,
    leaseMs: 10_000,
    ...over,
  });
  const accepted = (id: string, over: Partial<DispatchOutcome> = {}): DispatchOutcome =>
    ({
      kind: 'accepted',
      messageId: id,
      attempt: 1,
      providerSid: newSid(),
      httpStatus: 201,
      adopted: false,
      now: T0 + 200,
      ...over,
    }) as DispatchOutcome;
  const retry = (id: string, over: Partial<DispatchOutcome> = {}): DispatchOutcome =>
    ({
      kind: 'retry',
      messageId: id,
      attempt: 1,
      owner: OWNER,
      nextAttemptAt: T0 + 5_000,
      delayMs: 4_800,
      reconcile: false,
      errorCode: 'SB_PROVIDER_UNAVAILABLE',
      providerErrorCode: null,
      httpStatus: 503,
      message: 'upstream said no',
      now: T0 + 200,
      ...over,
    }) as DispatchOutcome;
  const failed = (id: string, over: Partial<DispatchOutcome> = {}): DispatchOutcome =>
    ({
      kind: 'failed',
      messageId: id,
      attempt: 1,
      owner: OWNER,
      status: 'failed',
      errorCode: 'SB_PROVIDER_REJECTED',
      providerErrorCode: 21211,
      httpStatus: 400,
      message: 'invalid To',
      now: T0 + 200,
      ...over,
    }) as DispatchOutcome;

  it('starts attempts only for messages whose lease this worker still holds', async () => {
    const mine = await claimed(3);
    const [theirs] = await claimed(1, 'worker-b');
    const held = await startAttempts(store.db, [...mine.map((id) => start(id)), start(theirs!)]);
    expect([...held].sort()).toEqual([...mine].sort());
    for (const id of mine) {
      expect(await row(id)).toMatchObject({
        attempts: 1,
        sender: SENDER,
        needs_reconcile: 1,
        lease_expires_at: T0 + 10_100,
        updated_at: T0 + 100,
      });
      expect(await attemptsOf(id)).toMatchObject([
        { attempt: 1, sender: SENDER, started_at: T0 + 100, outcome: 'pending', finished_at: null },
      ]);
    }
    expect(await row(theirs!)).toMatchObject({ attempts: 0, needs_reconcile: 0, sender: null });
    expect(await attemptsOf(theirs!)).toEqual([]);
  });

  it('records an accepted send with its SID, frees the lease and shows it submitted in the history', async () => {
    const [id] = await started(1);
    const outcome = accepted(id!);
    await recordOutcomes(store.db, [outcome]);
    const m = await row(id!);
    expect(m).toMatchObject({
      status: 'submitted',
      status_rank: 2,
      provider_sid: (outcome as { providerSid: string }).providerSid,
      submitted_at: T0 + 200,
      needs_reconcile: 0,
      lease_owner: null,
      lease_expires_at: null,
    });
    expect(await attemptsOf(id!)).toMatchObject([
      { outcome: 'accepted', finished_at: T0 + 200, http_status: 201, provider_sid: m.provider_sid },
    ]);
    const { events } = await getHistory(store.db, m);
    expect(events.map((e) => [e.status, e.at, e.source])).toEqual([
      ['queued', T0, 'intake'],
      ['submitted', T0 + 200, 'dispatch'],
    ]);
  });

  it('shows an adopted SID (found by reconciliation) as submitted by reconcile', async () => {
    const [id] = await started(1);
    await recordOutcomes(store.db, [accepted(id!, { adopted: true, httpStatus: null })]);
    const m = await row(id!);
    expect(m.status).toBe('submitted');
    expect((await attemptsOf(id!))[0]!.outcome).toBe('adopted');
    const { events } = await getHistory(store.db, m);
    expect(events.map((e) => e.source)).toEqual(['intake', 'reconcile']);
  });

  it('keeps what a callback recorded first: status never goes back and no second submitted event appears', async () => {
    const [id] = await started(1);
    const sid = newSid();
    // A `sent` callback was applied before the outcome: it set the SID, the status and submitted_at.
    await store.db.kysely
      .updateTable('messages')
      .set({ status: 'sent', status_rank: 3, provider_sid: sid, submitted_at: T0 + 150, sent_at: T0 + 150 })
      .where('id', '=', id!)
      .execute();
    await store.db.kysely
      .insertInto('message_events')
      .values({
        message_id: id!,
        status: 'sent',
        at: T0 + 150,
        provider_error_code: null,
        source: 'callback',
      })
      .execute();
    await recordOutcomes(store.db, [accepted(id!, { providerSid: sid })]);
    const m = await row(id!);
    expect(m).toMatchObject({ status: 'sent', status_rank: 3, provider_sid: sid, submitted_at: T0 + 150 });
    expect((await attemptsOf(id!))[0]!.outcome).toBe('accepted');
    const { events } = await getHistory(store.db, m);
    expect(events.map((e) => e.status)).toEqual(['queued', 'sent']);
  });

  it('takes the SID but keeps a further status when the message has no SID yet', async () => {
    const [id] = await started(1);
    await store.db.kysely
      .updateTable('messages')
      .set({ status: 'delivered', status_rank: 4 })
      .where('id', '=', id!)
      .execute();
    const outcome = accepted(id!);
    await recordOutcomes(store.db, [outcome]);
    expect(await row(id!)).toMatchObject({
      status: 'delivered',
      status_rank: 4,
      provider_sid: (outcome as { providerSid: string }).providerSid,
      submitted_at: T0 + 200,
    });
  });

  it('requeues a retried message with its delay and marks it for reconciliation when the outcome is unknown', async () => {
    const [plain, unknown] = await started(2);
    await recordOutcomes(store.db, [retry(plain!), retry(unknown!, { reconcile: true, httpStatus: null })]);
    expect(await row(plain!)).toMatchObject({
      status: 'queued',
      status_rank: 0,
      next_attempt_at: T0 + 5_000,
      last_delay_ms: 4_800,
      needs_reconcile: 0,
      lease_owner: null,
      lease_expires_at: null,
      error_code: 'SB_PROVIDER_UNAVAILABLE',
      error_message: 'upstream said no',
      attempts: 1,
    });
    expect((await row(unknown!)).needs_reconcile).toBe(1);
    expect(await attemptsOf(plain!)).toMatchObject([
      { outcome: 'retry', finished_at: T0 + 200, http_status: 503, error_code: 'SB_PROVIDER_UNAVAILABLE' },
    ]);
    expect((await attemptsOf(unknown!))[0]!.outcome).toBe('unknown');
  });

  it('fails a message for good with its codes and a failed event, but never one that was submitted', async () => {
    const [bad, dead, late] = await started(3);
    await recordOutcomes(store.db, [accepted(late!)]);
    await recordOutcomes(store.db, [
      failed(bad!),
      failed(dead!, { status: 'dead', errorCode: 'SB_QUEUE_RETRIES_EXHAUSTED', providerErrorCode: null }),
      failed(late!),
    ]);
    expect(await row(bad!)).toMatchObject({
      status: 'failed',
      status_rank: 4,
      final_at: T0 + 200,
      provider_error_code: 21211,
      error_code: 'SB_PROVIDER_REJECTED',
      lease_owner: null,
    });
    expect((await row(dead!)).status).toBe('dead');
    expect((await row(late!)).status).toBe('submitted');
    expect((await attemptsOf(bad!))[0]).toMatchObject({ outcome: 'failed', provider_error_code: 21211 });
    expect((await attemptsOf(late!))[0]!.outcome).toBe('accepted');
    const { events } = await getHistory(store.db, await row(bad!));
    expect(events.map((e) => [e.status, e.provider_error_code, e.source])).toEqual([
      ['queued', null, 'intake'],
      ['failed', 21211, 'dispatch'],
    ]);
  });

  it('changes nothing for an outcome whose lease another worker took over', async () => {
    const [id] = await started(1);
    await store.db.kysely
      .updateTable('messages')
      .set({ lease_owner: 'worker-b' })
      .where('id', '=', id!)
      .execute();
    await recordOutcomes(store.db, [retry(id!), failed(id!)]);
    expect(await row(id!)).toMatchObject({ status: 'sending', lease_owner: 'worker-b', error_code: null });
    expect((await attemptsOf(id!))[0]!.outcome).toBe('pending');
  });

  it('applies outcomes for one message in order within one batch, as if one by one', async () => {
    const [id] = await started(1);
    // The retry frees the lease, so the failure after it no longer applies.
    await recordOutcomes(store.db, [retry(id!), failed(id!)]);
    expect((await row(id!)).status).toBe('queued');
    expect((await attemptsOf(id!))[0]!.outcome).toBe('retry');
  });

  it('writes a large mixed batch in one call', async () => {
    const ids = await claimed(300);
    const held = await startAttempts(
      store.db,
      ids.map((id) => start(id)),
    );
    expect(held.size).toBe(300);
    await recordOutcomes(
      store.db,
      ids.map((id, i) => (i % 3 === 0 ? accepted(id) : i % 3 === 1 ? retry(id) : failed(id))),
    );
    const rows = await store.db.kysely
      .selectFrom('messages')
      .select(['id', 'status'])
      .where('id', 'in', ids)
      .execute();
    const status = new Map(rows.map((r) => [r.id, r.status]));
    ids.forEach((id, i) => {
      expect(status.get(id)).toBe(i % 3 === 0 ? 'submitted' : i % 3 === 1 ? 'queued' : 'failed');
    });
  });

  it('reports queue depth, the oldest due message and the messages in flight', async () => {
    // On a SQLite file the queries run on the background connection (the path checked here).
    expect(store.db.readOffThread !== undefined).toBe(backend.name === 'sqlite');
    const before = await queueStats(store.db, T0 + 1_000);
    const queued = Array.from({ length: 5 }, () => `msg_${randomUUID().replaceAll('-', '')}`);
    await insertMessages(
      store.db,
      queued.map((id, i) => testMessage(id, T0 + i * 100, { poolId: i % 2 === 0 ? 'p1' : 'p2' })),
    );
    await claimed(2);
    const stats = await queueStats(store.db, T0 + 250);
    expect(stats.depth - before.depth).toBe(5);
    expect(stats.inFlight - before.inFlight).toBe(2);
    // Due by T0 + 250: the messages created at T0, T0 + 100 and T0 + 200; the oldest is T0's.
    expect(stats.oldestDueAt).toBe(T0);
    expect((await queueStats(store.db, T0 - 1)).oldestDueAt).toBeNull();

    // A status callback that matches no message is counted once it is kept aside.
    await insertCallbackEvents(store.db, [
      statusEvent(newSid(), 'delivered', T0, { messageId: 'msg_nobody' }),
    ]);
    await applyCallbackEvents(store.db, { limit: 50, now: T0 + 1 });
    expect((await queueStats(store.db, T0 + 250)).keptAside).toBe(stats.keptAside + 1);
  });

  it('probes the in-order index, which holds only queued and sending messages', async () => {
    // Without the status condition the probe walked the recipient's whole history.
    const def = await indexDefinition(store.db, 'messages_order');
    expect(def).toMatch(/\(order_key, seq\)/);
    expect(def).toMatch(/status.*'queued'.*'sending'/);

    // And the claim can use it: its probe states the index's condition.
    const claim = claimDueStatement(backend.name === 'postgres', {
      poolId: 'p1',
      owner: OWNER,
      now: T0,
      leaseMs: 30_000,
      limit: 10,
    }).compile(store.db.kysely);
    let plan: string;
    if (store.db.sqlite) {
      const steps = store.db.sqlite.prepare(`explain query plan ${claim.sql}`).all(...claim.parameters);
      plan = (steps as { detail: string }[]).map((p) => p.detail).join('\n');
      expect(plan).toContain('messages_order (order_key=? AND seq<?)');
    } else {
      plan = await store.db.kysely.transaction().execute(async (trx) => {
        // Tables this small are read whole otherwise; the question is whether the index is usable.
        await sql`set local enable_seqscan = off`.execute(trx);
        const out = await trx.executeQuery<{ 'QUERY PLAN': string }>({
          ...claim,
          sql: `explain ${claim.sql}`,
          query: claim.query,
        });
        return out.rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(
        /Index (Only )?Scan using messages_order on messages p|Bitmap Index Scan on messages_order/,
      );
    }
  });
});
