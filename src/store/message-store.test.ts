import { describe, expect, it } from 'vitest';
import { backends, useTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import { insertMessages } from './message-store.ts';

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
});
