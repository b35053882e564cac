import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import {
  callbacksOf,
  clientFor,
  FAST_CONFIG,
  FROM,
  finalCallbacks,
  SEED,
  signatureOf,
  simMessages,
  useSdkFixture,
} from './sdk-harness.ts';

// The twilio-node SDK against the simulator: concurrency limit, signed status callbacks, token rotation.

const f = useSdkFixture();

describe('the per-account concurrency limit', () => {
  let limited: Simulator;

  beforeAll(async () => {
    limited = await startSimulator({
      seed: SEED,
      config: { ...FAST_CONFIG, api: { concurrencyLimit: 2 }, faults: { latencyMs: 300 } },
    });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it('answers requests beyond the limit with 20429 and never processes them', async () => {
    const sdk = clientFor(limited);
    const bodies = Array.from({ length: 8 }, (_, i) => `burst ${i}`);
    const results = await Promise.allSettled(
      bodies.map((body) => sdk.messages.create({ from: FROM, to: '+14155550153', body })),
    );
    const fulfilled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(fulfilled.length).toBeGreaterThanOrEqual(1);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    for (const reason of rejected) {
      expect(reason).toBeInstanceOf(twilio.RestException);
      expect(reason).toMatchObject({ code: 20429, status: 429 });
    }
    const kept = (await simMessages(limited)).map((m) => m.body).sort();
    expect(kept).toEqual(fulfilled.map((m) => m.body).sort());

    // The slots are given back once the answers are out.
    const after = await sdk.messages.create({ from: FROM, to: '+14155550153', body: 'after the burst' });
    expect(after.status).toBe('queued');
  });
});

describe('status callbacks', () => {
  it('signs every status callback so that twilio.validateRequest accepts it with the auth token', async () => {
    const statusCallback = `${f.rx.url}/status?tenant=a&x=1`;
    const sends = [
      { from: FROM, to: '+14155550131' },
      { from: FROM, to: '+14155550142' },
      // Unregistered 10DLC and unverified toll-free senders: US carriers answer undelivered.
      { from: '+14155550199', to: '+14155550153' },
      { from: '+18885550199', to: '+14155550164' },
    ];
    const sids: string[] = [];
    for (const s of sends)
      sids.push((await f.client.messages.create({ ...s, body: 'signed', statusCallback })).sid);

    const callbacks = await finalCallbacks(f.rx, sids);
    expect(callbacks.length).toBeGreaterThanOrEqual(sids.length * 2);
    for (const r of callbacks) {
      expect(r.url).toBe(statusCallback);
      expect(r.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
      const signature = signatureOf(r);
      expect(twilio.validateRequest(f.sim.authToken, signature, r.url, r.params)).toBe(true);
      expect(twilio.validateRequest('0'.repeat(32), signature, r.url, r.params)).toBe(false);
      expect(
        twilio.validateRequest(f.sim.authToken, signature, r.url, { ...r.params, MessageStatus: 'forged' }),
      ).toBe(false);
      expect(
        twilio.validateRequest(f.sim.authToken, signature, `${f.rx.url}/status?tenant=b&x=1`, r.params),
      ).toBe(false);
    }
  });

  it("carries Twilio's callback parameters with ErrorCode only on failed or undelivered", async () => {
    const statusCallback = `${f.rx.url}/params?tenant=a&x=1`;
    const delivered = await f.client.messages.create({
      from: FROM,
      to: '+14155550175',
      body: 'ok',
      statusCallback,
    });
    const unregistered = await f.client.messages.create({
      from: '+18885550199',
      to: '+14155550175',
      body: 'blocked',
      statusCallback,
    });
    const callbacks = await finalCallbacks(f.rx, [delivered.sid, unregistered.sid]);
    for (const r of callbacks) {
      const p = r.params;
      for (const name of [
        'MessageSid',
        'SmsSid',
        'MessageStatus',
        'SmsStatus',
        'AccountSid',
        'From',
        'To',
        'ApiVersion',
      ])
        expect(p, name).toHaveProperty(name);
      expect(p.SmsSid).toBe(p.MessageSid);
      expect(p.SmsStatus).toBe(p.MessageStatus);
      expect(p.AccountSid).toBe(f.sim.accountSid);
      expect(p.ApiVersion).toBe('2010-04-01');
      // The URL's query string is part of the URL, not of the form parameters.
      expect(p).not.toHaveProperty('tenant');
      expect('ErrorCode' in p).toBe(p.MessageStatus === 'failed' || p.MessageStatus === 'undelivered');
    }
    expect(callbacksOf(f.rx, delivered.sid).map((r) => r.params.MessageStatus)).toEqual([
      'sent',
      'delivered',
    ]);
    const blocked = callbacksOf(f.rx, unregistered.sid);
    expect(blocked.map((r) => r.params.MessageStatus)).toEqual(['sent', 'undelivered']);
    expect(blocked[1]!.params).toMatchObject({
      ErrorCode: '30032',
      From: '+18885550199',
      To: '+14155550175',
    });
  });
});

describe('auth token rotation', () => {
  let rotating: Simulator;

  beforeAll(async () => {
    // Another seed: its SIDs must not collide with the shared simulator's in the shared receiver.
    rotating = await startSimulator({ seed: SEED + 1, config: FAST_CONFIG });
  });
  afterAll(async () => {
    await rotating?.stop();
  });

  it('signs callbacks with the new token after rotation and refuses the old token with 20003', async () => {
    const oldToken = rotating.authToken;
    const res = await fetch(`${rotating.url}/sim/accounts/${rotating.accountSid}/rotate-token`, {
      method: 'POST',
    });
    expect(res.status).toBe(200);
    const { authToken: newToken } = (await res.json()) as { authToken: string };
    expect(newToken).not.toBe(oldToken);

    const stale = clientFor(rotating, rotating.accountSid, oldToken);
    await expect(stale.messages.create({ from: FROM, to: '+14155550123', body: 'x' })).rejects.toMatchObject({
      code: 20003,
      status: 401,
    });

    const fresh = clientFor(rotating, rotating.accountSid, newToken);
    const statusCallback = `${f.rx.url}/rotated?tenant=a&x=1`;
    const msg = await fresh.messages.create({
      from: FROM,
      to: '+14155550123',
      body: 'rotated',
      statusCallback,
    });
    const callbacks = await finalCallbacks(f.rx, [msg.sid]);
    expect(callbacks.length).toBeGreaterThanOrEqual(1);
    for (const r of callbacks) {
      expect(twilio.validateRequest(newToken, signatureOf(r), r.url, r.params)).toBe(true);
      expect(twilio.validateRequest(oldToken, signatureOf(r), r.url, r.params)).toBe(false);
    }
  });
});
