import Fastify, { type FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newSid } from '../../test/support/callback-events.ts';
import { backends, openTestDatabase } from '../../test/support/databases.ts';
import type { Db } from '../store/index.ts';
import { type CallbackRejectReason, callbackRoutes, keywordOf } from './callback-routes.ts';

const TOKEN = 'current-auth-token-0123456789';
const OLD_TOKEN = 'previous-auth-token-987654321';
const PUBLIC = 'https://gw.example.com';
const NOW = 1_700_000_000_000;

function statusParams(sid: string, status: string, extra: Record<string, string> = {}) {
  return {
    AccountSid: 'AC00000000000000000000000000000000',
    ApiVersion: '2010-04-01',
    From: '+14155550100',
    MessageSid: sid,
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    To: '+14155550123',
    ...extra,
  };
}

describe.each(backends())('callback routes on $name', (backend) => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let app: FastifyInstance;
  const rejected: CallbackRejectReason[] = [];
  let storedSignals = 0;

  beforeAll(async () => {
    ({ db, close: closeDb } = await openTestDatabase(backend));
    app = Fastify();
    await app.register(
      callbackRoutes(
        {
          db,
          onRejected: (r) => rejected.push(r),
          onStored: () => {
            storedSignals++;
          },
          clock: () => NOW,
        },
        // A trailing slash on the public URL is tolerated.
        { publicUrl: () => `${PUBLIC}/`, authToken: TOKEN, previousAuthToken: OLD_TOKEN },
      ),
    );
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await closeDb();
  });
  beforeEach(() => {
    rejected.length = 0;
    storedSignals = 0;
  });

  /** Posts a form the way Twilio does, signed over `signedUrl` (default: the URL requested). */
  function post(
    path: string,
    params: Record<string, string>,
    sign: { token?: string; signedUrl?: string; signature?: string | null } = {},
  ) {
    const signature =
      sign.signature === undefined
        ? twilio.getExpectedTwilioSignature(sign.token ?? TOKEN, sign.signedUrl ?? PUBLIC + path, params)
        : sign.signature;
    return app.inject({
      method: 'POST',
      url: path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === null ? {} : { 'x-twilio-signature': signature }),
      },
      payload: new URLSearchParams(params).toString(),
    });
  }

  const storedFor = (sid: string) =>
    db.kysely
      .selectFrom('callback_events')
      .selectAll()
      .where('provider_sid', '=', sid)
      .orderBy('id')
      .execute();

  it('stores a callback signed with the current token and answers 204 without applying it', async () => {
    const sid = newSid();
    const res = await post('/webhooks/twilio/status?mid=msg_abc', statusParams(sid, 'delivered'));
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    const rows = await storedFor(sid);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'status',
      dedupe_key: `msg_abc/status:${sid}:delivered:`,
      message_id: 'msg_abc',
      status: 'delivered',
      provider_error_code: null,
      received_at: NOW,
      applied_at: null,
      orphan: 0,
    });
    expect(JSON.parse(rows[0]!.params)).toEqual(statusParams(sid, 'delivered'));
  });

  it('keeps parameters named like built-in properties as ordinary, signed parameters', async () => {
    const sid = newSid();
    const params: Record<string, string> = {
      ...statusParams(sid, 'sent'),
      constructor: 'c',
      hasOwnProperty: 'h',
      toString: 't',
    };
    // In a literal `__proto__` would set the prototype: this makes it an own key, as a form can.
    Object.defineProperty(params, '__proto__', {
      value: 'p',
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const res = await post('/webhooks/twilio/status?mid=m-proto', { ...params });
    expect(res.statusCode).toBe(204);
    const [row] = await storedFor(sid);
    const stored = JSON.parse(row!.params) as Record<string, unknown>;
    expect(Object.hasOwn(stored, '__proto__')).toBe(true);
    expect(stored).toMatchObject({ constructor: 'c', hasOwnProperty: 'h', toString: 't', MessageSid: sid });
    expect(JSON.stringify(stored)).toContain('"__proto__":"p"');
  });

  it('keeps the error code of a failed callback', async () => {
    const sid = newSid();
    const res = await post(
      '/webhooks/twilio/status?mid=m2',
      statusParams(sid, 'undelivered', { ErrorCode: '30003' }),
    );
    expect(res.statusCode).toBe(204);
    expect(await storedFor(sid)).toEqual([
      expect.objectContaining({
        dedupe_key: `m2/status:${sid}:undelivered:30003`,
        provider_error_code: 30003,
      }),
    ]);
  });

  it('accepts a callback signed with the previous token', async () => {
    const sid = newSid();
    const res = await post('/webhooks/twilio/status?mid=m3', statusParams(sid, 'sent'), { token: OLD_TOKEN });
    expect(res.statusCode).toBe(204);
    expect(await storedFor(sid)).toHaveLength(1);
  });

  it('accepts a callback Twilio signed with the standard port in the URL', async () => {
    const sid = newSid();
    const path = '/webhooks/twilio/status?mid=m4';
    const res = await post(path, statusParams(sid, 'sent'), {
      signedUrl: `https://gw.example.com:443${path}`,
    });
    expect(res.statusCode).toBe(204);
  });

  it('refuses a forged callback with 403 and stores nothing', async () => {
    const sid = newSid();
    const res = await post('/webhooks/twilio/status?mid=m5', statusParams(sid, 'delivered'), {
      token: 'an-attacker-guess-0000000',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: { code: 'SB_CALLBACK_BAD_SIGNATURE', message: expect.any(String) },
    });
    expect(await storedFor(sid)).toHaveLength(0);
    expect(rejected).toEqual(['bad_signature']);
  });

  it('refuses a signed callback replayed to another message id', async () => {
    const sid = newSid();
    const params = statusParams(sid, 'delivered');
    const res = await post('/webhooks/twilio/status?mid=victim', params, {
      signedUrl: `${PUBLIC}/webhooks/twilio/status?mid=mine`,
    });
    expect(res.statusCode).toBe(403);
    expect(await storedFor(sid)).toHaveLength(0);
  });

  it('refuses a callback whose parameters were changed after signing', async () => {
    const sid = newSid();
    const path = '/webhooks/twilio/status?mid=m6';
    const signature = twilio.getExpectedTwilioSignature(TOKEN, PUBLIC + path, statusParams(sid, 'failed'));
    const res = await post(path, statusParams(sid, 'delivered'), { signature });
    expect(res.statusCode).toBe(403);
    expect(await storedFor(sid)).toHaveLength(0);
  });

  it('refuses a callback without a signature header', async () => {
    const sid = newSid();
    const res = await post('/webhooks/twilio/status?mid=m7', statusParams(sid, 'sent'), { signature: null });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('SB_CALLBACK_BAD_SIGNATURE');
    expect(await storedFor(sid)).toHaveLength(0);
    expect(rejected).toEqual(['bad_signature']);
  });

  it('signals each newly stored status callback, not its duplicates nor refused ones', async () => {
    const sid = newSid();
    const params = statusParams(sid, 'sent');
    expect((await post('/webhooks/twilio/status?mid=m3', params)).statusCode).toBe(204);
    expect((await post('/webhooks/twilio/status?mid=m3', params)).statusCode).toBe(204);
    expect((await post('/webhooks/twilio/status?mid=m3', params, { signature: 'forged' })).statusCode).toBe(
      403,
    );
    expect(storedSignals).toBe(1);
  });

  it('answers a replayed valid callback 204 but stores it once', async () => {
    const sid = newSid();
    const params = statusParams(sid, 'delivered');
    const first = await post('/webhooks/twilio/status?mid=m8', params);
    const again = await post('/webhooks/twilio/status?mid=m8', params);
    expect([first.statusCode, again.statusCode]).toEqual([204, 204]);
    expect(await storedFor(sid)).toHaveLength(1);
  });

  it('refuses a signed callback without MessageSid or MessageStatus with 400', async () => {
    const sid = newSid();
    const { MessageStatus: _s, ...noStatus } = statusParams(sid, 'sent');
    const res = await post('/webhooks/twilio/status?mid=m9', noStatus);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: { code: 'SB_CALLBACK_INVALID', message: expect.any(String), field: 'MessageStatus' },
    });
    const { MessageSid: _m, ...noSid } = statusParams(sid, 'sent');
    expect((await post('/webhooks/twilio/status?mid=m9', noSid)).statusCode).toBe(400);
    expect((await post('/webhooks/twilio/status?mid=m9', {})).statusCode).toBe(400);
    expect(await storedFor(sid)).toHaveLength(0);
    expect(rejected).toEqual(['invalid', 'invalid', 'invalid']);
  });

  it('stores every one of 500 concurrent callbacks exactly once', async () => {
    const sids = Array.from({ length: 500 }, newSid);
    const requests = sids.map((sid, i) =>
      post(`/webhooks/twilio/status?mid=burst_${i}`, statusParams(sid, i % 2 ? 'sent' : 'delivered')),
    );
    // Twilio retries some of them at the same time.
    const replays = sids
      .slice(0, 100)
      .map((sid, i) =>
        post(`/webhooks/twilio/status?mid=burst_${i}`, statusParams(sid, i % 2 ? 'sent' : 'delivered')),
      );
    const responses = await Promise.all([...requests, ...replays]);
    expect(responses.every((r) => r.statusCode === 204)).toBe(true);
    const rows = await db.kysely
      .selectFrom('callback_events')
      .select(['provider_sid', 'message_id'])
      .where('provider_sid', 'in', sids)
      .execute();
    expect(rows).toHaveLength(500);
    expect(new Set(rows.map((r) => r.provider_sid)).size).toBe(500);
  });

  it('stores an inbound message without its body, keeps its keyword, and answers empty TwiML', async () => {
    const sid = newSid();
    const params = {
      AccountSid: 'AC00000000000000000000000000000000',
      Body: ' stop ',
      From: '+14155550123',
      MessageSid: sid,
      NumMedia: '0',
      OptOutType: 'STOP',
      SmsStatus: 'received',
      To: '+14155550100',
    };
    const res = await post('/webhooks/twilio/inbound', params);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.body).toBe('<Response/>');
    const [row] = await storedFor(sid);
    expect(row).toMatchObject({ kind: 'inbound', status: 'received', message_id: null });
    const stored = JSON.parse(row!.params);
    expect(stored).not.toHaveProperty('Body');
    expect(stored).toMatchObject({ OptOutType: 'STOP', BodyKeyword: 'STOP', From: '+14155550123' });
  });

  it('keeps no keyword for a message of several words', async () => {
    const sid = newSid();
    const params = { Body: 'stop please', From: '+14155550123', MessageSid: sid, To: '+14155550100' };
    expect((await post('/webhooks/twilio/inbound', params)).statusCode).toBe(200);
    const [row] = await storedFor(sid);
    expect(JSON.parse(row!.params)).toEqual({ From: '+14155550123', MessageSid: sid, To: '+14155550100' });
    expect([keywordOf('Unsubscribe'), keywordOf('STOP!'), keywordOf('a'.repeat(17)), keywordOf('')]).toEqual([
      'UNSUBSCRIBE',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('refuses an unsigned inbound message and an inbound message without a sender', async () => {
    const sid = newSid();
    const params = { Body: 'hi', From: '+14155550123', MessageSid: sid, To: '+14155550100' };
    expect(
      (await post('/webhooks/twilio/inbound', params, { token: 'wrong-token-00000000' })).statusCode,
    ).toBe(403);
    const { From: _f, ...noFrom } = params;
    expect((await post('/webhooks/twilio/inbound', noFrom)).statusCode).toBe(400);
    expect(await storedFor(sid)).toHaveLength(0);
  });
});
