import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import { CA, DE, errorOf, inject, tableCounts, US, useIntakeApp } from './intake-harness.ts';

interface BatchItem {
  index: number;
  status: number;
  message?: { id: string; to: string; pool: string; replay: boolean; idempotencyKey: string | null };
  error?: { code: string; message: string; field?: string };
}

describe.each(backends())('intake batch on $name', (backend) => {
  const h = useIntakeApp(backend);

  const batch = (messages: unknown[], headers: Record<string, string> = {}) =>
    inject(h.app, 'POST', '/v1/messages/batch', { messages }, headers);

  it('answers 200 with a result per item: valid items are accepted, invalid ones refused', async () => {
    await inject(h.app, 'POST', '/v1/messages', {
      to: US,
      body: 'prior',
      purpose: 'otp',
      idempotencyKey: 'b-prior',
    });
    const before = await tableCounts(h.db);
    const res = await batch([
      { to: US, body: 'one', purpose: 'transactional', idempotencyKey: 'b-1' },
      { to: US, body: 'two', purpose: 'nope' },
      { to: '+1415555010', body: 'three', purpose: 'otp' },
      { to: CA, body: 'four', purpose: 'marketing' },
      { to: US, body: 'prior', purpose: 'otp', idempotencyKey: 'b-prior' },
      { to: US, body: 'changed', purpose: 'otp', idempotencyKey: 'b-prior' },
      { to: DE, body: 'fünf', purpose: 'conversational', channel: 'whatsapp' },
      { to: US, body: 'six', purpose: 'otp', extra: true },
    ]);
    expect(res.statusCode).toBe(200);
    const results = res.json().results as BatchItem[];
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 202],
      [1, 400],
      [2, 400],
      [3, 422],
      [4, 200],
      [5, 409],
      [6, 202],
      [7, 400],
    ]);
    expect(results[0]?.message).toMatchObject({
      to: US,
      pool: 'tx-us',
      idempotencyKey: 'b-1',
      replay: false,
    });
    expect(results[1]?.error).toMatchObject({ code: 'SB_INTAKE_INVALID_FIELD', field: 'purpose' });
    expect(results[2]?.error).toMatchObject({ code: 'SB_INTAKE_INVALID_NUMBER', field: 'to' });
    expect(results[3]?.error).toMatchObject({ code: 'SB_INTAKE_NO_POOL' });
    expect(results[4]?.message).toMatchObject({ replay: true });
    expect(results[5]?.error).toMatchObject({
      code: 'SB_INTAKE_IDEMPOTENCY_CONFLICT',
      field: 'idempotencyKey',
    });
    expect(results[6]?.message).toMatchObject({ to: DE, pool: 'wa' });
    expect(results[7]?.error).toMatchObject({ code: 'SB_INTAKE_INVALID_FIELD', field: 'extra' });
    expect(results[1]).not.toHaveProperty('message');
    expect(results[0]).not.toHaveProperty('error');
    expect(await tableCounts(h.db)).toEqual({ messages: before.messages + 2, events: before.events });
  });

  it('resolves a key repeated inside one batch like two requests: created, then replay or conflict', async () => {
    const item = { to: US, body: 'dup', purpose: 'otp', idempotencyKey: 'b-dup' };
    const res = await batch([item, item, { ...item, body: 'other' }]);
    const results = res.json().results as BatchItem[];
    expect(results.map((r) => r.status)).toEqual([202, 200, 409]);
    expect(results[1]?.message?.id).toBe(results[0]?.message?.id);
  });

  it('accepts a full batch of 1000 messages', async () => {
    const before = await tableCounts(h.db);
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      to: US,
      body: `bulk ${i}`,
      purpose: 'marketing',
      idempotencyKey: `bulk-${i}`,
    }));
    const res = await batch(messages);
    expect(res.statusCode).toBe(200);
    const results = res.json().results as BatchItem[];
    expect(results).toHaveLength(1000);
    expect(results.every((r, i) => r.index === i && r.status === 202)).toBe(true);
    expect((await tableCounts(h.db)).messages).toBe(before.messages + 1000);
    // Sent again, every item is a replay.
    const again = (await batch(messages)).json().results as BatchItem[];
    expect(again.every((r) => r.status === 200)).toBe(true);
    expect((await tableCounts(h.db)).messages).toBe(before.messages + 1000);
  });

  it('refuses more than 1000 messages with 400 SB_INTAKE_BATCH_TOO_LARGE and writes nothing', async () => {
    const before = await tableCounts(h.db);
    const res = await batch(
      Array.from({ length: 1001 }, () => ({ to: US, body: 'x', purpose: 'marketing' })),
    );
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'SB_INTAKE_BATCH_TOO_LARGE', field: 'messages' });
    expect(await tableCounts(h.db)).toEqual(before);
  });

  it('refuses a malformed envelope with 400 and the field', async () => {
    const before = await tableCounts(h.db);
    const cases: [unknown, string | undefined][] = [
      [{}, 'messages'],
      [{ messages: 'all' }, 'messages'],
      [{ messages: [] }, 'messages'],
      [{ messages: [{ to: US, body: 'x', purpose: 'otp' }], dryRun: true }, 'dryRun'],
      [[{ to: US, body: 'x', purpose: 'otp' }], undefined],
    ];
    for (const [payload, field] of cases) {
      const res = await inject(h.app, 'POST', '/v1/messages/batch', payload);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('SB_INTAKE_INVALID_FIELD');
      expect(errorOf(res).field).toBe(field);
    }
    const broken = await inject(h.app, 'POST', '/v1/messages/batch', '{"messages": [');
    expect(errorOf(broken).code).toBe('SB_INTAKE_INVALID_JSON');
    expect(await tableCounts(h.db)).toEqual(before);
  });

  it('refuses the Idempotency-Key header on a batch (keys go on each message)', async () => {
    const before = await tableCounts(h.db);
    const res = await batch([{ to: US, body: 'x', purpose: 'otp' }], { 'idempotency-key': 'whole-batch' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'SB_INTAKE_INVALID_FIELD', field: 'idempotencyKey' });
    expect(await tableCounts(h.db)).toEqual(before);
  });
});
