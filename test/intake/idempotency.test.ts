import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import {
  CA,
  errorOf,
  inject,
  KEY_B,
  startIntakeApp,
  tableCounts,
  US,
  useIntakeApp,
} from './intake-harness.ts';

describe.each(backends())('intake idempotency on $name', (backend) => {
  const h = useIntakeApp(backend);

  const payload = { to: US, body: 'Order 77 shipped', purpose: 'transactional' as const };

  it('replays the original message with 200, Idempotent-Replay and replay: true', async () => {
    const first = await inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'order-77' });
    expect(first.statusCode).toBe(202);
    expect(first.headers['idempotent-replay']).toBeUndefined();
    h.clock.now += 5_000;
    const before = await tableCounts(h.db);
    const again = await inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'order-77' });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.json()).toEqual({ ...first.json(), replay: true });
    expect(await tableCounts(h.db)).toEqual(before);
  });

  it('treats the idempotencyKey field like the header, and a matching pair as one key', async () => {
    const first = await inject(h.app, 'POST', '/v1/messages', { ...payload, idempotencyKey: 'field-key' });
    expect(first.statusCode).toBe(202);
    const viaHeader = await inject(h.app, 'POST', '/v1/messages', payload, {
      'idempotency-key': 'field-key',
    });
    expect(viaHeader.statusCode).toBe(200);
    const both = await inject(
      h.app,
      'POST',
      '/v1/messages',
      { ...payload, idempotencyKey: 'field-key' },
      { 'idempotency-key': 'field-key' },
    );
    expect(both.statusCode).toBe(200);
    expect(both.json().id).toBe(first.json().id);
  });

  it('counts a defaulted channel as the same payload', async () => {
    const first = await inject(h.app, 'POST', '/v1/messages', { ...payload, idempotencyKey: 'default-ch' });
    const explicit = await inject(h.app, 'POST', '/v1/messages', {
      ...payload,
      channel: 'sms',
      idempotencyKey: 'default-ch',
    });
    expect(explicit.statusCode).toBe(200);
    expect(explicit.json().id).toBe(first.json().id);
  });

  it('refuses the same key with a different payload with 409 and writes nothing', async () => {
    await inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'order-78' });
    const before = await tableCounts(h.db);
    for (const changed of [
      { ...payload, body: 'Order 78 shipped' },
      { ...payload, correlationId: 'c-1' },
      { ...payload, to: CA },
      { ...payload, purpose: 'otp' },
    ]) {
      const res = await inject(h.app, 'POST', '/v1/messages', changed, { 'idempotency-key': 'order-78' });
      expect(res.statusCode).toBe(409);
      expect(errorOf(res)).toMatchObject({
        code: 'SB_INTAKE_IDEMPOTENCY_CONFLICT',
        field: 'idempotencyKey',
      });
    }
    expect(await tableCounts(h.db)).toEqual(before);
  });

  it('scopes keys to the tenant: another tenant may reuse a key', async () => {
    const a = await inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'shared-key' });
    const b = await inject(
      h.app,
      'POST',
      '/v1/messages',
      payload,
      { 'idempotency-key': 'shared-key' },
      KEY_B,
    );
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(b.json().id).not.toBe(a.json().id);
  });

  it('creates exactly one message for 20 concurrent requests with one key', async () => {
    const before = await tableCounts(h.db);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'concurrent-1' }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([...Array(19).fill(200), 202]);
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    expect(await tableCounts(h.db)).toEqual({ messages: before.messages + 1, events: before.events });
  });

  it('creates exactly one message when two gateways each commit every request on its own', async () => {
    // Two intakes over one database behave like two processes: separate batchers, and on
    // PostgreSQL separate connections, so the UNIQUE constraint alone decides.
    const gateways = [
      await startIntakeApp(h.db, { batch: { maxBatch: 1, maxWaitMs: 0 } }),
      await startIntakeApp(h.db, { batch: { maxBatch: 1, maxWaitMs: 0 } }),
    ];
    try {
      const before = await tableCounts(h.db);
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          inject(gateways[i % 2]!.app, 'POST', '/v1/messages', payload, {
            'idempotency-key': 'concurrent-solo',
          }),
        ),
      );
      expect(responses.map((r) => r.statusCode).sort()).toEqual([...Array(19).fill(200), 202]);
      expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
      expect(await tableCounts(h.db)).toEqual({ messages: before.messages + 1, events: before.events });
    } finally {
      for (const g of gateways) await g.close();
    }
  });

  it('signals new work once a batch that created messages is committed, never for replays or refusals', async () => {
    let signals = 0;
    const g = await startIntakeApp(h.db, {
      onQueued: () => {
        signals++;
      },
    });
    try {
      const headers = { 'idempotency-key': 'signal-1' };
      expect((await inject(g.app, 'POST', '/v1/messages', payload, headers)).statusCode).toBe(202);
      expect(signals).toBe(1);
      expect((await inject(g.app, 'POST', '/v1/messages', payload, headers)).statusCode).toBe(200);
      expect((await inject(g.app, 'POST', '/v1/messages', { ...payload, to: 'nope' })).statusCode).toBe(400);
      expect(signals).toBe(1);
    } finally {
      await g.close();
    }
  });

  it('creates one message per key and conflicts per key when 20 concurrent requests mix payloads', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        inject(
          h.app,
          'POST',
          '/v1/messages',
          { ...payload, body: i % 2 === 0 ? 'even' : 'odd' },
          { 'idempotency-key': 'concurrent-2' },
        ),
      ),
    );
    const created = responses.filter((r) => r.statusCode === 202);
    expect(created).toHaveLength(1);
    const winner = created[0]!.json().body as string;
    for (const [i, r] of responses.entries()) {
      const mine = i % 2 === 0 ? 'even' : 'odd';
      if (r.statusCode === 202) continue;
      expect(r.statusCode).toBe(mine === winner ? 200 : 409);
    }
  });
});
