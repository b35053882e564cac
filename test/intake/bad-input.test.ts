import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import { errorOf, type IntakeApp, inject, KEY_A, startIntakeApp, tableCounts, US } from './intake-harness.ts';

const ok = { to: US, body: 'Your code is 123456', purpose: 'otp' };

describe.each(backends())('intake bad input on $name', (backend) => {
  let db: Db;
  let h: IntakeApp;
  let before: { messages: number; events: number };
  beforeAll(async () => {
    db = await backend.open();
    h = await startIntakeApp(db, { bodyLimit: 16 * 1024 });
    // One message already stored, so "nothing written" is checked against a non-empty table.
    expect((await inject(h.app, 'POST', '/v1/messages', ok)).statusCode).toBe(202);
  });
  beforeEach(async () => {
    before = await tableCounts(db);
  });
  afterAll(async () => {
    await h.close();
    await db.close();
    await backend.cleanup();
  });

  /** Asserts the answer's status, code and field, and that nothing was written. */
  async function expectRefused(
    res: Awaited<ReturnType<typeof inject>>,
    status: number,
    code: string,
    field?: string,
  ): Promise<void> {
    expect({ status: res.statusCode, ...errorOf(res) }).toMatchObject({ status, code });
    expect(errorOf(res).field).toBe(field);
    expect(Object.keys(res.json())).toEqual(['error']);
    expect(await tableCounts(db)).toEqual(before);
  }

  describe('authentication', () => {
    it('answers 401 without an Authorization header', async () => {
      const res = await inject(h.app, 'POST', '/v1/messages', ok, {}, null);
      await expectRefused(res, 401, 'SB_INTAKE_UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('answers 401 for an unknown key, another scheme or an empty bearer', async () => {
      for (const authorization of [`Bearer ${KEY_A}x`, `Basic ${KEY_A}`, 'Bearer ', 'Bearer', KEY_A]) {
        const res = await inject(h.app, 'POST', '/v1/messages', ok, { authorization }, null);
        await expectRefused(res, 401, 'SB_INTAKE_UNAUTHENTICATED');
      }
    });

    it('authenticates before reading the body: broken JSON without a key is a 401', async () => {
      const res = await inject(h.app, 'POST', '/v1/messages', '{"to":', {}, null);
      await expectRefused(res, 401, 'SB_INTAKE_UNAUTHENTICATED');
    });

    it('guards reads and cancels as well', async () => {
      await expectRefused(
        await inject(h.app, 'GET', '/v1/messages', undefined, {}, null),
        401,
        'SB_INTAKE_UNAUTHENTICATED',
      );
      await expectRefused(
        await inject(h.app, 'POST', `/v1/messages/msg_${'0'.repeat(32)}/cancel`, undefined, {}, null),
        401,
        'SB_INTAKE_UNAUTHENTICATED',
      );
    });
  });

  describe('the request body', () => {
    it('answers 400 SB_INTAKE_INVALID_JSON for broken or empty JSON', async () => {
      for (const payload of ['{"to": "+14155550123", ', '', '{"a":1}}', 'nul']) {
        await expectRefused(
          await inject(h.app, 'POST', '/v1/messages', payload),
          400,
          'SB_INTAKE_INVALID_JSON',
        );
      }
    });

    it('refuses prototype poisoning as invalid JSON', async () => {
      const payload = `{"to":"${US}","body":"x","purpose":"otp","__proto__":{"admin":true}}`;
      await expectRefused(
        await inject(h.app, 'POST', '/v1/messages', payload),
        400,
        'SB_INTAKE_INVALID_JSON',
      );
    });

    it('answers 415 for anything but JSON', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await inject(h.app, 'POST', '/v1/messages', 'to=%2B14155550123', {
          'content-type': contentType,
        });
        await expectRefused(res, 415, 'SB_INTAKE_UNSUPPORTED_MEDIA_TYPE');
      }
      const noType = await h.app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { authorization: `Bearer ${KEY_A}` },
        payload: Buffer.from(JSON.stringify(ok)),
      });
      await expectRefused(noType, 415, 'SB_INTAKE_UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers 413 SB_INTAKE_BODY_TOO_LARGE over the body limit', async () => {
      const res = await inject(h.app, 'POST', '/v1/messages', { ...ok, body: 'x'.repeat(20 * 1024) });
      await expectRefused(res, 413, 'SB_INTAKE_BODY_TOO_LARGE');
    });

    it('answers 400 without a field when the body is not an object', async () => {
      for (const payload of ['[]', 'null', '"hello"', '42']) {
        await expectRefused(
          await inject(h.app, 'POST', '/v1/messages', payload),
          400,
          'SB_INTAKE_INVALID_FIELD',
        );
      }
    });
  });

  describe('fields', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['an unknown field', { ...ok, priority: 'high' }, 'priority'],
      [
        'an unknown template field',
        { to: US, purpose: 'otp', template: { id: 'otp', color: 'red' } },
        'template.color',
      ],
      ['a missing recipient', { body: 'x', purpose: 'otp' }, 'to'],
      ['a recipient that is not a string', { ...ok, to: 14155550123 }, 'to'],
      ['a missing purpose', { to: US, body: 'x' }, 'purpose'],
      ['an unknown purpose', { ...ok, purpose: 'promo' }, 'purpose'],
      ['an unknown channel', { ...ok, channel: 'fax' }, 'channel'],
      ['a body that is not a string', { ...ok, body: 42 }, 'body'],
      ['an empty body', { ...ok, body: '' }, 'body'],
      ['a body over 1600 characters', { ...ok, body: 'x'.repeat(1601) }, 'body'],
      ['a body with a NUL character', { ...ok, body: 'a\u0000b' }, 'body'],
      ['a body with a lone surrogate', { ...ok, body: 'a\uD800b' }, 'body'],
      ['neither body nor template', { to: US, purpose: 'otp' }, 'body'],
      ['both body and template', { ...ok, template: { id: 'otp' } }, 'template'],
      ['a template without id', { to: US, purpose: 'otp', template: {} }, 'template.id'],
      [
        'a template variable that is not a string',
        { to: US, purpose: 'otp', template: { id: 'otp', variables: { code: 123456 } } },
        'template.variables.code',
      ],
      ['media on an SMS', { ...ok, mediaUrls: ['https://cdn.example.com/a.png'] }, 'mediaUrls'],
      [
        'a media URL that is not https',
        { ...ok, purpose: 'transactional', channel: 'mms', mediaUrls: ['http://cdn.example.com/a.png'] },
        'mediaUrls.0',
      ],
      [
        'a media URL that is not a URL',
        {
          ...ok,
          purpose: 'transactional',
          channel: 'mms',
          mediaUrls: ['https://cdn.example.com/a.png', 'nope'],
        },
        'mediaUrls.1',
      ],
      [
        'more than ten media URLs',
        {
          ...ok,
          purpose: 'transactional',
          channel: 'mms',
          mediaUrls: Array.from({ length: 11 }, (_, i) => `https://cdn.example.com/${i}.png`),
        },
        'mediaUrls',
      ],
      [
        'mediaUrls that are not an array',
        { ...ok, channel: 'mms', mediaUrls: 'https://x.example' },
        'mediaUrls',
      ],
      ['a userId over 128 characters', { ...ok, userId: 'u'.repeat(129) }, 'userId'],
      ['a correlationId over 128 characters', { ...ok, correlationId: 'c'.repeat(129) }, 'correlationId'],
      ['a correlationId with control characters', { ...ok, correlationId: 'a\nb' }, 'correlationId'],
      ['an idempotencyKey over 255 characters', { ...ok, idempotencyKey: 'k'.repeat(256) }, 'idempotencyKey'],
      ['an empty idempotencyKey', { ...ok, idempotencyKey: '' }, 'idempotencyKey'],
    ];
    it.each(cases)('answers 400 SB_INTAKE_INVALID_FIELD for %s', async (_name, payload, field) => {
      await expectRefused(
        await inject(h.app, 'POST', '/v1/messages', payload),
        400,
        'SB_INTAKE_INVALID_FIELD',
        field,
      );
    });

    it('counts body length in characters, so 1600 emoji fit', async () => {
      const res = await inject(h.app, 'POST', '/v1/messages', { ...ok, body: '😀'.repeat(1600) });
      expect(res.statusCode).toBe(202);
    });

    it('answers 400 when the Idempotency-Key header and field differ, or the header is too long', async () => {
      await expectRefused(
        await inject(
          h.app,
          'POST',
          '/v1/messages',
          { ...ok, idempotencyKey: 'a' },
          { 'idempotency-key': 'b' },
        ),
        400,
        'SB_INTAKE_INVALID_FIELD',
        'idempotencyKey',
      );
      await expectRefused(
        await inject(h.app, 'POST', '/v1/messages', ok, { 'idempotency-key': 'k'.repeat(256) }),
        400,
        'SB_INTAKE_INVALID_FIELD',
        'idempotencyKey',
      );
    });
  });

  describe('recipients', () => {
    const numbers: [string, Record<string, unknown>][] = [
      ['too short', { ...ok, to: '+1415555010' }],
      ['without the plus', { ...ok, to: '14155550123' }],
      ['formatted rather than E.164', { ...ok, to: '+1 (415) 555-0123' }],
      ['not assigned', { ...ok, to: '+15555555555' }],
      ['not a number', { ...ok, to: 'alice' }],
      ['WhatsApp-prefixed on SMS', { ...ok, to: `whatsapp:${US}` }],
      [
        'WhatsApp-prefixed but invalid',
        { ...ok, channel: 'whatsapp', purpose: 'transactional', to: 'whatsapp:+1' },
      ],
    ];
    it.each(numbers)('answers 400 SB_INTAKE_INVALID_NUMBER for a number %s', async (_name, payload) => {
      await expectRefused(
        await inject(h.app, 'POST', '/v1/messages', payload),
        400,
        'SB_INTAKE_INVALID_NUMBER',
        'to',
      );
    });
  });

  describe('routes and queries', () => {
    it('answers 404 SB_INTAKE_ROUTE_NOT_FOUND for an unknown route or method', async () => {
      await expectRefused(await inject(h.app, 'GET', '/v1/nothing'), 404, 'SB_INTAKE_ROUTE_NOT_FOUND');
      await expectRefused(await inject(h.app, 'DELETE', '/v1/messages'), 404, 'SB_INTAKE_ROUTE_NOT_FOUND');
      await expectRefused(
        await inject(h.app, 'POST', '/v2/messages', ok, {}, null),
        404,
        'SB_INTAKE_ROUTE_NOT_FOUND',
      );
    });

    const queries: [string, string, string][] = [
      ['a limit of 0', 'limit=0', 'limit'],
      ['a limit over 200', 'limit=201', 'limit'],
      ['a limit that is not a number', 'limit=ten', 'limit'],
      ['an unknown status', 'status=lost', 'status'],
      ['an unknown purpose', 'purpose=promo', 'purpose'],
      ['an unknown parameter', 'sort=asc', 'sort'],
      ['a repeated parameter', 'status=queued&status=sent', 'status'],
      ['a cursor we did not issue', 'cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['a cursor that is not base64url', 'cursor=%%%', 'cursor'],
      ['a correlationId with a NUL', 'correlationId=a%00b', 'correlationId'],
    ];
    it.each(queries)('answers 400 SB_INTAKE_INVALID_FIELD for %s', async (_name, query, field) => {
      await expectRefused(
        await inject(h.app, 'GET', `/v1/messages?${query}`),
        400,
        'SB_INTAKE_INVALID_FIELD',
        field,
      );
    });

    it('answers 400 SB_INTAKE_INVALID_NUMBER for a bad to filter', async () => {
      await expectRefused(
        await inject(h.app, 'GET', '/v1/messages?to=12345'),
        400,
        'SB_INTAKE_INVALID_NUMBER',
        'to',
      );
    });
  });
});
