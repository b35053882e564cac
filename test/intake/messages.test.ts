import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import { CA, DE, errorOf, inject, tableCounts, US, useIntakeApp } from './intake-harness.ts';

describe.each(backends())('intake messages on $name', (backend) => {
  const h = useIntakeApp(backend);

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
    const row = await h.db.kysely
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
    const row = await h.db.kysely
      .selectFrom('messages')
      .select(['order_key'])
      .where('id', '=', mkt.json().id)
      .executeTakeFirstOrThrow();
    expect(row.order_key).toBeNull();
    const ca = await inject(h.app, 'POST', '/v1/messages', { to: CA, body: 'hi', purpose: 'transactional' });
    expect(ca.json().pool).toBe('tx-us');
  });

  it('answers 422 SB_INTAKE_NO_POOL when no pool serves the purpose, channel and country', async () => {
    const before = await tableCounts(h.db);
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
    expect(await tableCounts(h.db)).toEqual(before);
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
    const row = await h.db.kysely
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
});
