import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';
import {
  admin,
  createMessage,
  FAST_RELIABLE_US,
  type InspectedMessage,
  inspected,
  waitFor,
} from '../support/sim-client.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

let sim: Simulator;
let rx: WebhookReceiver;

beforeAll(async () => {
  rx = await startReceiver();
  sim = createSimulator({
    seed: 5,
    config: {
      carriers: FAST_RELIABLE_US,
      content: { filterKeywords: ['free crypto'] },
      senders: [{ address: '+14155550100', type: 'long_code', mps: 1000 }],
      whatsapp: {
        templates: [
          { sid: `HX${'a'.repeat(32)}`, name: 'otp', status: 'approved' },
          { sid: `HX${'b'.repeat(32)}`, name: 'promo', status: 'paused' },
        ],
      },
    },
  });
});
afterAll(async () => {
  await sim.stop();
  await rx.close();
});
afterEach(async () => {
  await admin(sim, 'POST', '/sim/reset');
  rx.received.length = 0;
  rx.respond = () => ({ status: 204 });
});

async function finalOf(sid: string): Promise<InspectedMessage> {
  return waitFor(
    async () => (await inspected(sim)).find((m) => m.sid === sid)!,
    (m) => ['delivered', 'undelivered', 'failed', 'read'].includes(m.status),
    5_000,
  );
}

async function send(params: Record<string, string>) {
  const res = await createMessage(sim, {
    From: '+14155550100',
    StatusCallback: `${rx.url}/status`,
    ...params,
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.sid as string;
}

describe('carrier outcomes', () => {
  it('delivers through queued, sending, sent, delivered and calls back sent then delivered', async () => {
    const sid = await send({ To: '+14155550123', Body: 'hello' });
    const m = await finalOf(sid);
    expect(m.history.map((h) => h.status)).toEqual(['queued', 'sending', 'sent', 'delivered']);
    await waitFor(
      () => rx.received.filter((r) => r.params.MessageSid === sid).length,
      (n) => n === 2,
    );
    expect(rx.received.map((r) => r.params.MessageStatus)).toEqual(['sent', 'delivered']);
    expect(rx.received[1]!.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
  });

  it('filters a link through a public URL shortener with 30007', async () => {
    const m = await finalOf(await send({ To: '+14155550123', Body: 'Your code: https://bit.ly/abc123' }));
    expect(m).toMatchObject({ status: 'undelivered', errorCode: 30007 });
  });

  it('filters a configured keyword with 30007 but not an ordinary message', async () => {
    expect(await finalOf(await send({ To: '+14155550123', Body: 'Get FREE CRYPTO now' }))).toMatchObject({
      errorCode: 30007,
    });
    expect(
      await finalOf(await send({ To: '+14155550123', Body: 'See https://example.com/a' })),
    ).toMatchObject({ status: 'delivered' });
  });

  it('fails unregistered 10DLC (30034) and unverified toll-free (30032) traffic to US carriers', async () => {
    expect(await finalOf(await send({ From: '+14155550199', To: '+14155550123', Body: 'hi' }))).toMatchObject(
      { status: 'undelivered', errorCode: 30034 },
    );
    expect(await finalOf(await send({ From: '+18885550199', To: '+14155550123', Body: 'hi' }))).toMatchObject(
      { status: 'undelivered', errorCode: 30032 },
    );
  });

  it('fails every message to a carrier in outage, and recovers when it ends', async () => {
    const lookup = await sim.app.inject({
      method: 'GET',
      url: '/v2/PhoneNumbers/+14155550123?Fields=line_type_intelligence',
      headers: {
        authorization: `Basic ${Buffer.from(`${sim.accountSid}:${sim.authToken}`).toString('base64')}`,
      },
    });
    const carrierName = lookup.json().line_type_intelligence.carrier_name as string;
    const carrier = (
      (await admin(sim, 'GET', '/sim/state')).json.carriers as { id: string; name: string }[]
    ).find((c) => c.name === carrierName)!;
    await admin(sim, 'PATCH', `/sim/carriers/${carrier.id}`, { outage: true });
    expect(await finalOf(await send({ To: '+14155550123', Body: 'hi' }))).toMatchObject({
      status: 'undelivered',
      errorCode: 30008,
    });
    await admin(sim, 'PATCH', `/sim/carriers/${carrier.id}`, { outage: false });
    expect(await finalOf(await send({ To: '+14155550123', Body: 'hi' }))).toMatchObject({
      status: 'delivered',
    });
  });

  it('applies the unreachable rate per message: with rate 1 every message fails 30003', async () => {
    for (const id of ['att', 'tmobile', 'verizon', 'uscellular'])
      await admin(sim, 'PATCH', `/sim/carriers/${id}`, { unreachableRate: 1 });
    try {
      expect(await finalOf(await send({ To: '+14155550123', Body: 'hi' }))).toMatchObject({
        status: 'undelivered',
        errorCode: 30003,
      });
    } finally {
      for (const id of ['att', 'tmobile', 'verizon', 'uscellular'])
        await admin(sim, 'PATCH', `/sim/carriers/${id}`, { unreachableRate: 0 });
    }
  });
});

describe('callbacks', () => {
  it('records a receiver answering 500 as 11200 and a refused connection as 11205', async () => {
    rx.respond = () => ({ status: 500 });
    const sid = await send({ To: '+14155550123', Body: 'hi' });
    await finalOf(sid);
    const refused = (
      await createMessage(sim, {
        From: '+14155550100',
        To: '+14155550124',
        Body: 'x',
        StatusCallback: 'http://127.0.0.1:1/cb',
      })
    ).json.sid as string;
    await finalOf(refused);
    const alerts = await waitFor(
      async () =>
        (await admin(sim, 'GET', '/sim/alerts')).json.alerts as { errorCode: number; resourceSid: string }[],
      (a) => a.some((x) => x.resourceSid === refused) && a.some((x) => x.resourceSid === sid),
    );
    expect(alerts.filter((a) => a.resourceSid === sid).every((a) => a.errorCode === 11200)).toBe(true);
    expect(alerts.filter((a) => a.resourceSid === refused).every((a) => a.errorCode === 11205)).toBe(true);
    // Default policy retries a failed connect once (two attempts), but not a 5xx.
    const m = (await inspected(sim)).find((x) => x.sid === refused)!;
    expect(m.callbacks.filter((c) => c.status === 'sent').map((c) => c.attempt)).toEqual([1, 2]);
  });

  it('honours the #rc and #rp connection-override fragment and signs the URL without it', async () => {
    rx.respond = (r) => ({
      status:
        r.params.MessageStatus === 'sent' &&
        rx.received.filter((x) => x.params.MessageStatus === 'sent').length < 3
          ? 503
          : 204,
    });
    const res = await createMessage(sim, {
      From: '+14155550100',
      To: '+14155550123',
      Body: 'hi',
      StatusCallback: `${rx.url}/status?x=1#rc=3&rp=5xx`,
    });
    const sid = res.json.sid as string;
    await waitFor(
      () => rx.received.filter((r) => r.params.MessageStatus === 'sent').length,
      (n) => n === 3,
    );
    await waitFor(
      () => rx.received.filter((r) => r.params.MessageStatus === 'delivered').length,
      (n) => n === 1,
    );
    for (const r of rx.received) {
      expect(
        twilio.validateRequest(
          sim.authToken,
          r.headers['x-twilio-signature'] as string,
          `${rx.url}/status?x=1`,
          r.params,
        ),
      ).toBe(true);
    }
    expect(sid).toMatch(/^SM/);
  });

  it('a slow receiver past the read timeout is recorded as 11200', async () => {
    const slow = createSimulator({
      seed: 5,
      config: { carriers: FAST_RELIABLE_US, callbacks: { readTimeoutMs: 100, totalTimeoutMs: 200 } },
    });
    rx.respond = () => ({ status: 204, delayMs: 500 });
    const sid = (
      await createMessage(slow, {
        From: '+14155550100',
        To: '+14155550123',
        Body: 'x',
        StatusCallback: `${rx.url}/slow`,
      })
    ).json.sid as string;
    const alerts = await waitFor(
      async () =>
        (await admin(slow, 'GET', '/sim/alerts')).json.alerts as { errorCode: number; resourceSid: string }[],
      (a) => a.filter((x) => x.resourceSid === sid).length >= 2,
    );
    expect(alerts.every((a) => a.errorCode === 11200)).toBe(true);
    await slow.stop();
  });

  it('injects duplicate, reordered and dropped callbacks, and a blackhole', async () => {
    await admin(sim, 'POST', '/sim/faults', { callbackDuplicateRate: 1 });
    const dup = await send({ To: '+14155550123', Body: 'dup' });
    await waitFor(
      () => rx.received.filter((r) => r.params.MessageSid === dup).length,
      (n) => n === 4,
    );
    const tokens = rx.received
      .filter((r) => r.params.MessageSid === dup)
      .map((r) => `${r.params.MessageStatus}:${r.headers['i-twilio-idempotency-token']}`);
    expect(new Set(tokens).size).toBe(2);

    await admin(sim, 'POST', '/sim/faults', { callbackDuplicateRate: 0, callbackReorderRate: 1 });
    const re = await send({ To: '+14155550123', Body: 'reorder' });
    await waitFor(
      () => rx.received.filter((r) => r.params.MessageSid === re).length,
      (n) => n === 2,
    );
    expect(rx.received.filter((r) => r.params.MessageSid === re).map((r) => r.params.MessageStatus)).toEqual([
      'delivered',
      'sent',
    ]);

    await admin(sim, 'POST', '/sim/faults', { callbackReorderRate: 0, callbackDropRate: 1 });
    const dropped = await send({ To: '+14155550123', Body: 'drop' });
    expect((await finalOf(dropped)).callbacks.every((c) => c.disposition === 'dropped')).toBe(true);

    await admin(sim, 'POST', '/sim/faults', { callbackDropRate: 0, callbackBlackhole: true });
    const hole = await send({ To: '+14155550123', Body: 'hole' });
    await finalOf(hole);
    await new Promise((r) => setTimeout(r, 100));
    expect(
      rx.received.filter((r) => r.params.MessageSid === hole || r.params.MessageSid === dropped),
    ).toHaveLength(0);
  });
});

describe('REST faults', () => {
  it('answers a 429 storm with 20429 and processes none of those requests', async () => {
    await admin(sim, 'POST', '/sim/faults', { rest429: { rate: 1, count: 5 } });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++)
      codes.push(
        (await createMessage(sim, { From: '+14155550100', To: '+14155550123', Body: `s${i}` })).status,
      );
    expect(codes).toEqual([429, 429, 429, 429, 429, 201, 201, 201]);
    expect((await inspected(sim)).map((m) => m.body)).toEqual(['s5', 's6', 's7']);
  });

  it('answers a 5xx burst with Twilio 20500 / 20503 errors', async () => {
    await admin(sim, 'POST', '/sim/faults', { rest5xx: { rate: 1, count: 2, status: 503 } });
    const a = await createMessage(sim, { From: '+14155550100', To: '+14155550123', Body: 'x' });
    expect(a).toMatchObject({ status: 503, json: { code: 20503 } });
    await admin(sim, 'POST', '/sim/faults', { rest5xx: { rate: 1, count: 1, status: 500 } });
    expect(await createMessage(sim, { From: '+14155550100', To: '+14155550123', Body: 'x' })).toMatchObject({
      status: 500,
      json: { code: 20500 },
    });
  });

  it('loses the response of an accepted create: the client sees a reset, the message exists', async () => {
    await sim.listen(0);
    await admin(sim, 'POST', '/sim/faults', { responseLost: { rate: 1, count: 1, mode: 'reset' } });
    const auth = `Basic ${Buffer.from(`${sim.accountSid}:${sim.authToken}`).toString('base64')}`;
    const post = () =>
      fetch(`${sim.url}/2010-04-01/Accounts/${sim.accountSid}/Messages.json`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'To=%2B14155550123&From=%2B14155550100&Body=lost',
      });
    await expect(post()).rejects.toThrow();
    const msgs = await inspected(sim);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ body: 'lost', responseLost: true });
    expect((await post()).status).toBe(201);
  });
});

describe('inbound and opt-out', () => {
  it('posts a signed inbound webhook, and STOP makes later sends fail with 21610 until START', async () => {
    const number = '+14155550101';
    await admin(sim, 'PATCH', `/sim/senders/${encodeURIComponent(number)}`, { smsUrl: `${rx.url}/inbound` });
    const stop = await admin(sim, 'POST', '/sim/inbound', { from: '+14155550177', to: number, body: 'stop' });
    expect(stop.json).toMatchObject({ optOutType: 'STOP' });
    const hook = rx.received.find((r) => r.path === '/inbound')!;
    expect(hook.params).toMatchObject({
      Body: 'stop',
      From: '+14155550177',
      To: number,
      OptOutType: 'STOP',
      SmsStatus: 'received',
    });
    expect(
      twilio.validateRequest(
        sim.authToken,
        hook.headers['x-twilio-signature'] as string,
        `${rx.url}/inbound`,
        hook.params,
      ),
    ).toBe(true);

    const refused = await createMessage(sim, { From: number, To: '+14155550177', Body: 'hi' });
    expect(refused).toMatchObject({ status: 400, json: { code: 21610 } });
    // The block is per sender/recipient pair: another sender still reaches the recipient.
    expect((await createMessage(sim, { From: '+14155550100', To: '+14155550177', Body: 'hi' })).status).toBe(
      201,
    );
    await admin(sim, 'POST', '/sim/inbound', { from: '+14155550177', to: number, body: 'START' });
    expect((await createMessage(sim, { From: number, To: '+14155550177', Body: 'hi' })).status).toBe(201);
  });

  it('does not treat a multi-word message as an opt-out', async () => {
    const res = await admin(sim, 'POST', '/sim/inbound', {
      from: '+14155550178',
      to: '+14155550101',
      body: 'STOP PLEASE',
    });
    expect(res.json.optOutType).toBeNull();
    expect((await createMessage(sim, { From: '+14155550101', To: '+14155550178', Body: 'hi' })).status).toBe(
      201,
    );
  });
});

describe('WhatsApp', () => {
  const wa = 'whatsapp:+14155238886';
  const user = 'whatsapp:+14155550190';

  it('fails a free-form message outside the 24-hour window with 63016', async () => {
    expect(await finalOf(await send({ From: wa, To: user, Body: 'hello' }))).toMatchObject({
      status: 'failed',
      errorCode: 63016,
    });
  });

  it('sends a free-form message inside the window opened by an inbound message', async () => {
    await admin(sim, 'POST', '/sim/inbound', { from: user, to: wa, body: 'hi there' });
    const m = await finalOf(await send({ From: wa, To: user, Body: 'hello' }));
    expect(['delivered', 'read']).toContain(m.status);
  });

  it('sends an approved template outside the window, fails a paused one, refuses an unknown one', async () => {
    const other = 'whatsapp:+14155550191';
    const ok = await finalOf(
      await send({ From: wa, To: other, ContentSid: `HX${'a'.repeat(32)}`, ContentVariables: '{"1":"123"}' }),
    );
    expect(['delivered', 'read']).toContain(ok.status);
    expect(
      await finalOf(await send({ From: wa, To: other, ContentSid: `HX${'b'.repeat(32)}` })),
    ).toMatchObject({ status: 'failed', errorCode: 63041 });
    expect(
      await createMessage(sim, { From: wa, To: other, ContentSid: `HX${'c'.repeat(32)}` }),
    ).toMatchObject({ status: 400, json: { code: 21655 } });
  });
});
