import { describe, expect, it, vi } from 'vitest';
import { backends, useTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import { insertMessages, listMessages } from './message-store.ts';

const T0 = 1_700_000_000_000;

describe.each(backends())('message insert on $name', (backend) => {
  const store = useTestDatabase(backend);

  it('stores exactly the row it answers with, every field set', async () => {
    // Each field distinct and non-null where intake can set it: a column the insert left to
    // its default, or two columns swapped, shows as a difference.
    const message = testMessage('msg_00000000000000000000000000000abc', T0, {
      idempotencyKey: 'idem-1',
      payloadHash: 'payload-hash',
      bodyHash: 'body-hash',
      contentSid: 'HX123',
      contentVariables: '{"1":"a"}',
      mediaUrls: ['https://example.com/a.png'],
      userId: 'user-1',
      correlationId: 'corr-1',
      orderKey: 'order-1',
      notBefore: T0 + 5_000,
      templateId: 'tpl-1',
      templateVersion: 3,
      templateLocale: 'en-US',
      policyReason: 'quiet_hours',
    });
    const [outcome] = await insertMessages(store.db, [message]);
    expect(outcome?.kind).toBe('created');
    const stored = await store.db.kysely
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', message.id)
      .executeTakeFirstOrThrow();
    // PostgreSQL returns bigint columns as strings.
    const normalized = Object.fromEntries(
      Object.entries(stored).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
    );
    expect(normalized).toEqual(outcome!.row);
    expect(outcome!.row).toMatchObject({
      status: 'queued',
      status_rank: 0,
      attempts: 0,
      next_attempt_at: T0 + 5_000,
    });
  });

  it('answers each new message with the seq it was stored under, and a repeated key with the first row', async () => {
    const id = (n: number) => `msg_${String(n).padStart(32, '0')}`;
    const first = await insertMessages(store.db, [
      testMessage(id(1), T0),
      testMessage(id(2), T0, { idempotencyKey: 'k' }),
      testMessage(id(3), T0, { idempotencyKey: 'k' }),
      testMessage(id(4), T0),
    ]);
    const second = await insertMessages(store.db, [
      testMessage(id(5), T0),
      testMessage(id(6), T0, { idempotencyKey: 'k' }),
    ]);
    const stored = await store.db.kysely
      .selectFrom('messages')
      .select(['id', 'seq'])
      .where('id', 'in', [1, 2, 3, 4, 5, 6].map(id))
      .orderBy('seq')
      .execute();
    const seqOf = new Map(stored.map((r) => [r.id, Number(r.seq)]));
    expect([...seqOf.keys()]).toEqual([id(1), id(2), id(4), id(5)]);
    expect([...first, ...second].map((o) => [o.kind, o.row.id, Number(o.row.seq)])).toEqual([
      ['created', id(1), seqOf.get(id(1))],
      ['created', id(2), seqOf.get(id(2))],
      ['replay', id(2), seqOf.get(id(2))],
      ['created', id(4), seqOf.get(id(4))],
      ['created', id(5), seqOf.get(id(5))],
      ['replay', id(2), seqOf.get(id(2))],
    ]);
  });

  it('lists from the background connection when there is one, seeing what was just written', async () => {
    const id = (n: number) => `msg_list${String(n).padStart(28, '0')}`;
    const recipient = '+14155550777';
    await insertMessages(store.db, [
      testMessage(id(1), T0, { tenantId: 'list-t', recipient }),
      testMessage(id(2), T0, { tenantId: 'list-t' }),
      testMessage(id(3), T0, { tenantId: 'list-t', recipient }),
    ]);
    const offThread = store.db.readOffThread ? vi.spyOn(store.db, 'readOffThread') : null;
    const rows = await listMessages(store.db, 'list-t', { recipient, limit: 10 });
    expect(rows.map((r) => r.id)).toEqual([id(3), id(1)]);
    // On a SQLite file a filter walking a tenant's history stalls no request.
    expect(offThread === null).toBe(backend.name === 'postgres');
    if (offThread) expect(offThread).toHaveBeenCalledTimes(1);
    offThread?.mockRestore();
  });
});
