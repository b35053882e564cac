import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import {
  CA,
  DE,
  errorOf,
  type IntakeApp,
  inject,
  KEY_A_ROTATED,
  KEY_B,
  startIntakeApp,
  tableCounts,
  US,
} from './intake-harness.ts';

describe.each(backends())('intake messages on $name', (backend) => {
  let db: Db;
  let h: IntakeApp;
  beforeAll(async () => {
    db = await backend.open();
    h = await startIntakeApp(db);
  });
  afterAll(async () => {
    await h.close();
    await db.close();
    await backend.cleanup();
  });

  it('accepts a message with 202 and stores it queued, routed and keyed for ordering', async () => {
    const res = await inject(h.app, 'POST', '/v1/messages', {
      to: US,
      body: 'Your code is 123456',
      purpose: 'otp',
      userId: 'user-1',
      correlationId: 'signup-42',
    });
    expect(res.statusCode).toBe(202);
    const m = res.json();
    expect(m).toMatchObject({
      to: US,
      channel: 'sms',
      purpose: 'otp',
      status: 'queued',
      body: 'Your code is 123456',
      template: null,
      mediaUrls: null,
      userId: 'user-1',
      correlationId: 'signup-42',
      idempotencyKey: null,
      pool: 'tx-us',
      sender: null,
      attempts: 0,
      createdAt: new Date(h.clock.now).toISOString(),
      latencyMs: null,
      replay: false,
    });
    expect(m.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(m).not.toHaveProperty('tenantId');
    const row = await db.kysely
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', m.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      tenant_id: 'tenant-a',
      country: 'US',
      order_key: `tenant-a:${US}`,
      status: 'queued',
      next_attempt_at: h.clock.now,
    });
    expect(row.body_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.payload_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts JSON with a charset parameter', async () => {
    const res = await inject(
      h.app,
      'POST',
      '/v1/messages',
      { to: US, body: 'hi', purpose: 'conversational' },
      { 'content-type': 'application/json; charset=utf-8' },
    );
    expect(res.statusCode).toBe(202);
  });

  it('routes marketing to the marketing pool without an ordering key, and Canada to the transactional pool', async () => {
    const mkt = await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'Sale!', purpose: 'marketing' });
    expect(mkt.statusCode).toBe(202);
    expect(mkt.json().pool).toBe('mkt-us');
    const row = await db.kysely
      .selectFrom('messages')
      .select(['order_key'])
      .where('id', '=', mkt.json().id)
      .executeTakeFirstOrThrow();
    expect(row.order_key).toBeNull();
    const ca = await inject(h.app, 'POST', '/v1/messages', { to: CA, body: 'hi', purpose: 'transactional' });
    expect(ca.json().pool).toBe('tx-us');
  });

  it('answers 422 SB_INTAKE_NO_POOL when no pool serves the purpose, channel and country', async () => {
    const before = await tableCounts(db);
    const cases = [
      { to: CA, body: 'Sale!', purpose: 'marketing' },
      { to: DE, body: 'hi', purpose: 'otp' },
      // The only WhatsApp pool also carries marketing, so an OTP may not use it.
      { to: US, body: '123456', purpose: 'otp', channel: 'whatsapp' },
    ];
    for (const payload of cases) {
      const res = await inject(h.app, 'POST', '/v1/messages', payload);
      expect(res.statusCode).toBe(422);
      expect(errorOf(res).code).toBe('SB_INTAKE_NO_POOL');
    }
    expect(await tableCounts(db)).toEqual(before);
  });

  it('accepts WhatsApp recipients with or without the whatsapp: prefix and stores the plain number', async () => {
    const a = await inject(h.app, 'POST', '/v1/messages', {
      to: `whatsapp:${DE}`,
      body: 'Hallo',
      purpose: 'conversational',
      channel: 'whatsapp',
      idempotencyKey: 'wa-1',
    });
    expect(a.statusCode).toBe(202);
    expect(a.json()).toMatchObject({ to: DE, channel: 'whatsapp', pool: 'wa' });
    // The same message with the plain number is the same payload: a replay, not a conflict.
    const b = await inject(h.app, 'POST', '/v1/messages', {
      to: DE,
      body: 'Hallo',
      purpose: 'conversational',
      channel: 'whatsapp',
      idempotencyKey: 'wa-1',
    });
    expect(b.statusCode).toBe(200);
    expect(b.json().id).toBe(a.json().id);
  });

  it('stores a template reference (id, approved version, locale, variables) and a hash of the rendered body, not the body', async () => {
    const res = await inject(h.app, 'POST', '/v1/messages', {
      to: US,
      template: { id: 'welcome', locale: 'en-US', variables: { name: 'Ada' } },
      purpose: 'transactional',
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      body: null,
      template: { id: 'welcome', version: 2, locale: 'en', variables: { name: 'Ada' } },
    });
    const row = await db.kysely
      .selectFrom('messages')
      .select(['template_id', 'template_version', 'content_variables', 'body', 'body_hash'])
      .where('id', '=', res.json().id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      template_id: 'welcome',
      template_version: 2,
      content_variables: '{"name":"Ada"}',
      body: null,
      body_hash: createHash('sha256').update('Welcome, Ada!').digest('hex'),
    });
  });

  it('refuses a template that does not exist, one not approved, and variables that do not match', async () => {
    for (const [template, reason] of [
      [{ id: 'nope' }, 'template_unknown'],
      [{ id: 'welcome', version: 3, variables: { name: 'Ada' } }, 'template_not_approved'],
      [{ id: 'welcome', variables: { first: 'Ada' } }, 'template_variables_mismatch'],
    ] as const) {
      const res = await inject(h.app, 'POST', '/v1/messages', { to: US, template, purpose: 'transactional' });
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'SB_POLICY_REFUSED', reason });
    }
  });

  it('accepts an MMS with media URLs', async () => {
    const res = await inject(h.app, 'POST', '/v1/messages', {
      to: US,
      body: 'Your receipt',
      purpose: 'transactional',
      channel: 'mms',
      mediaUrls: ['https://cdn.example.com/r/1.png', 'https://cdn.example.com/r/2.png'],
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      channel: 'mms',
      pool: 'mms-us',
      mediaUrls: ['https://cdn.example.com/r/1.png', 'https://cdn.example.com/r/2.png'],
    });
  });

  describe('idempotency', () => {
    const payload = { to: US, body: 'Order 77 shipped', purpose: 'transactional' as const };

    it('replays the original message with 200, Idempotent-Replay and replay: true', async () => {
      const first = await inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'order-77' });
      expect(first.statusCode).toBe(202);
      expect(first.headers['idempotent-replay']).toBeUndefined();
      h.clock.now += 5_000;
      const before = await tableCounts(db);
      const again = await inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'order-77' });
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.json()).toEqual({ ...first.json(), replay: true });
      expect(await tableCounts(db)).toEqual(before);
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
      const before = await tableCounts(db);
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
      expect(await tableCounts(db)).toEqual(before);
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
      const before = await tableCounts(db);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          inject(h.app, 'POST', '/v1/messages', payload, { 'idempotency-key': 'concurrent-1' }),
        ),
      );
      const statuses = responses.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([...Array(19).fill(200), 202]);
      expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
      expect(await tableCounts(db)).toEqual({ messages: before.messages + 1, events: before.events });
    });

    it('creates exactly one message when two gateways each commit every request on its own', async () => {
      // Two intakes over one database behave like two processes: separate batchers, and on
      // PostgreSQL separate connections, so the UNIQUE constraint alone decides.
      const gateways = [
        await startIntakeApp(db, { batch: { maxBatch: 1, maxWaitMs: 0 } }),
        await startIntakeApp(db, { batch: { maxBatch: 1, maxWaitMs: 0 } }),
      ];
      try {
        const before = await tableCounts(db);
        const responses = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            inject(gateways[i % 2]!.app, 'POST', '/v1/messages', payload, {
              'idempotency-key': 'concurrent-solo',
            }),
          ),
        );
        expect(responses.map((r) => r.statusCode).sort()).toEqual([...Array(19).fill(200), 202]);
        expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
        expect(await tableCounts(db)).toEqual({ messages: before.messages + 1, events: before.events });
      } finally {
        for (const g of gateways) await g.close();
      }
    });

    it('signals new work once a batch that created messages is committed, never for replays or refusals', async () => {
      let signals = 0;
      const g = await startIntakeApp(db, {
        onQueued: () => {
          signals++;
        },
      });
      try {
        const headers = { 'idempotency-key': 'signal-1' };
        expect((await inject(g.app, 'POST', '/v1/messages', payload, headers)).statusCode).toBe(202);
        expect(signals).toBe(1);
        expect((await inject(g.app, 'POST', '/v1/messages', payload, headers)).statusCode).toBe(200);
        expect((await inject(g.app, 'POST', '/v1/messages', { ...payload, to: 'nope' })).statusCode).toBe(
          400,
        );
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

  describe('reading messages', () => {
    it('returns a message with its history of attempts and status events', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'hi', purpose: 'otp' })
      ).json();
      const t0 = h.clock.now;
      await db.kysely
        .insertInto('message_attempts')
        .values({
          message_id: created.id,
          attempt: 1,
          sender: '+14155550100',
          started_at: t0 + 10,
          finished_at: t0 + 60,
          outcome: 'accepted',
          http_status: 201,
          provider_sid: `SM${'a'.repeat(32)}`,
          provider_error_code: null,
          error_code: null,
        })
        .execute();
      await db.kysely
        .insertInto('message_events')
        .values({
          message_id: created.id,
          status: 'delivered',
          at: t0 + 900,
          provider_error_code: null,
          source: 'callback',
        })
        .execute();
      await db.kysely
        .updateTable('messages')
        .set({
          status: 'delivered',
          status_rank: 4,
          attempts: 1,
          sender: '+14155550100',
          provider_sid: `SM${'a'.repeat(32)}`,
          submitted_at: t0 + 60,
          final_at: t0 + 900,
        })
        .where('id', '=', created.id)
        .execute();
      const res = await inject(h.app, 'GET', `/v1/messages/${created.id}`);
      expect(res.statusCode).toBe(200);
      const m = res.json();
      expect(m).toMatchObject({
        id: created.id,
        status: 'delivered',
        sender: '+14155550100',
        providerSid: `SM${'a'.repeat(32)}`,
        attempts: 1,
        submittedAt: new Date(t0 + 60).toISOString(),
        finalAt: new Date(t0 + 900).toISOString(),
        latencyMs: 900,
      });
      expect(m).not.toHaveProperty('replay');
      expect(m.history.attempts).toEqual([
        {
          attempt: 1,
          sender: '+14155550100',
          startedAt: new Date(t0 + 10).toISOString(),
          finishedAt: new Date(t0 + 60).toISOString(),
          outcome: 'accepted',
          httpStatus: 201,
          providerSid: `SM${'a'.repeat(32)}`,
          providerErrorCode: null,
          errorCode: null,
        },
      ]);
      // `submitted` is the row's submitted_at, matched by the accepted attempt that finished then.
      expect(m.history.events.map((e: { status: string; source: string }) => [e.status, e.source])).toEqual([
        ['queued', 'intake'],
        ['submitted', 'dispatch'],
        ['delivered', 'callback'],
      ]);
    });

    it('answers 404 for unknown ids, malformed ids and other tenants’ messages', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'mine', purpose: 'otp' })
      ).json();
      for (const [url, key] of [
        [`/v1/messages/msg_${'0'.repeat(32)}`, undefined],
        ['/v1/messages/not-an-id', undefined],
        ['/v1/messages/msg_%00', undefined],
        [`/v1/messages/${created.id}`, KEY_B],
      ] as const) {
        const res = await inject(h.app, 'GET', url, undefined, {}, key);
        expect(res.statusCode).toBe(404);
        expect(errorOf(res).code).toBe('SB_INTAKE_NOT_FOUND');
      }
      const cancel = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`, undefined, {}, KEY_B);
      expect(cancel.statusCode).toBe(404);
      expect((await inject(h.app, 'GET', `/v1/messages/${created.id}`)).json().status).toBe('queued');
    });

    it('accepts every key of a tenant (key rotation)', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'k', purpose: 'otp' })
      ).json();
      const res = await inject(h.app, 'GET', `/v1/messages/${created.id}`, undefined, {}, KEY_A_ROTATED);
      expect(res.statusCode).toBe(200);
    });
  });

  describe('canceling', () => {
    it('cancels a queued message that was never attempted', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'x', purpose: 'otp' })
      ).json();
      h.clock.now += 1_000;
      const res = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: created.id,
        status: 'canceled',
        finalAt: new Date(h.clock.now).toISOString(),
      });
      const history = (await inject(h.app, 'GET', `/v1/messages/${created.id}`)).json().history;
      expect(history.events.map((e: { status: string }) => e.status)).toEqual(['queued', 'canceled']);
      // A repeated cancel (a retry after a lost answer) finds it canceled and says so.
      const again = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`);
      expect(again.statusCode).toBe(200);
      expect(again.json().status).toBe('canceled');
    });

    it('accepts a cancel with an empty JSON object as body', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'y', purpose: 'otp' })
      ).json();
      const res = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`, {});
      expect(res.statusCode).toBe(200);
    });

    it('refuses with 409 once the message was handed to the provider', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'z', purpose: 'otp' })
      ).json();
      await db.kysely
        .updateTable('messages')
        .set({ status: 'sending', status_rank: 1, attempts: 1 })
        .where('id', '=', created.id)
        .execute();
      const res = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`);
      expect(res.statusCode).toBe(409);
      expect(errorOf(res).code).toBe('SB_INTAKE_NOT_CANCELABLE');
      const row = await db.kysely
        .selectFrom('messages')
        .select(['status'])
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('sending');
    });

    it('refuses with 409 while a worker holds the message, even before its first attempt', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'w', purpose: 'otp' })
      ).json();
      await db.kysely
        .updateTable('messages')
        .set({ lease_owner: 'worker-1', lease_expires_at: h.clock.now + 30_000 })
        .where('id', '=', created.id)
        .execute();
      const res = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`);
      expect(res.statusCode).toBe(409);
      expect(errorOf(res).code).toBe('SB_INTAKE_NOT_CANCELABLE');
    });
  });
});
