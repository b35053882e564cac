import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import { errorOf, inject, KEY_A_ROTATED, KEY_B, US, useIntakeApp } from './intake-harness.ts';

describe.each(backends())('reading and canceling messages on $name', (backend) => {
  const h = useIntakeApp(backend);

  describe('reading messages', () => {
    it('returns a message with its history of attempts and status events', async () => {
      const created = (
        await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'hi', purpose: 'otp' })
      ).json();
      const t0 = h.clock.now;
      await h.db.kysely
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
      await h.db.kysely
        .insertInto('message_events')
        .values({
          message_id: created.id,
          status: 'delivered',
          at: t0 + 900,
          provider_error_code: null,
          source: 'callback',
        })
        .execute();
      await h.db.kysely
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
      await h.db.kysely
        .updateTable('messages')
        .set({ status: 'sending', status_rank: 1, attempts: 1 })
        .where('id', '=', created.id)
        .execute();
      const res = await inject(h.app, 'POST', `/v1/messages/${created.id}/cancel`);
      expect(res.statusCode).toBe(409);
      expect(errorOf(res).code).toBe('SB_INTAKE_NOT_CANCELABLE');
      const row = await h.db.kysely
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
      await h.db.kysely
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
