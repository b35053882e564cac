import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';
import { basicAuth, createMessage, inspected } from '../support/sim-client.ts';

let sim: Simulator;
beforeAll(() => {
  sim = createSimulator({ seed: 3, config: { api: { maxBodyBytes: 4096 } } });
});
afterAll(() => sim.stop());

const path = () => `/2010-04-01/Accounts/${sim.accountSid}/Messages.json`;

function expectTwilioError(res: { statusCode: number; json: () => unknown }, status: number, code: number) {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toMatchObject({ code, status, more_info: `https://www.twilio.com/docs/errors/${code}` });
  expect(typeof (res.json() as { message: unknown }).message).toBe('string');
}

describe('simulator bad input', () => {
  it('answers 401 / 20003 without credentials', async () => {
    const res = await sim.app.inject({ method: 'POST', url: path(), payload: 'To=%2B14155550123' });
    expectTwilioError(res, 401, 20003);
  });

  it('answers 401 / 20003 for an unknown account or a wrong token', async () => {
    const unknown = basicAuth('AC00000000000000000000000000000000', 'x'.repeat(32));
    expectTwilioError(
      await sim.app.inject({ method: 'GET', url: path(), headers: { authorization: unknown } }),
      401,
      20003,
    );
    const wrong = basicAuth(sim.accountSid, 'not-the-token');
    expectTwilioError(
      await sim.app.inject({ method: 'GET', url: path(), headers: { authorization: wrong } }),
      401,
      20003,
    );
  });

  it('answers 404 / 20404 for an account in the path that does not exist', async () => {
    const res = await sim.app.inject({
      method: 'GET',
      url: '/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages.json',
      headers: { authorization: basicAuth(sim.accountSid, sim.authToken) },
    });
    expectTwilioError(res, 404, 20404);
  });

  it('answers 404 / 20404 for an unknown route, with or without credentials', async () => {
    expectTwilioError(await sim.app.inject({ method: 'GET', url: '/2010-04-01/Nope.json' }), 404, 20404);
    expectTwilioError(await sim.app.inject({ method: 'DELETE', url: '/' }), 404, 20404);
  });

  it('treats a malformed form body as missing parameters (21604), never a 500', async () => {
    for (const payload of ['%%%&&&==', 'To', '=&=&', '\u0000\u0001binary', '{"To":"+14155550123"}']) {
      const res = await sim.app.inject({
        method: 'POST',
        url: path(),
        headers: {
          authorization: basicAuth(sim.accountSid, sim.authToken),
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload,
      });
      expect(res.statusCode, payload).toBeLessThan(500);
      expect(res.statusCode, payload).toBeGreaterThanOrEqual(400);
    }
  });

  it('ignores a JSON body as Twilio does: the API reads only forms', async () => {
    const res = await sim.app.inject({
      method: 'POST',
      url: path(),
      headers: {
        authorization: basicAuth(sim.accountSid, sim.authToken),
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ To: '+14155550123', From: '+14155550100', Body: 'hi' }),
    });
    expectTwilioError(res, 400, 21604);
  });

  it('answers 413 in Twilio shape for an oversized body and accepts nothing', async () => {
    const before = (await inspected(sim)).length;
    const res = await sim.app.inject({
      method: 'POST',
      url: path(),
      headers: {
        authorization: basicAuth(sim.accountSid, sim.authToken),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `To=%2B14155550123&From=%2B14155550100&Body=${'a'.repeat(10_000)}`,
    });
    expectTwilioError(res, 413, 413);
    expect((await inspected(sim)).length).toBe(before);
  });

  it.each([
    [{ From: '+14155550100', Body: 'hi' }, 21604],
    [{ To: '+14155550123', Body: 'hi' }, 21603],
    [{ To: '+14155550123', From: '+14155550100' }, 21602],
    [{ To: 'not-a-number', From: '+14155550100', Body: 'hi' }, 21211],
    [{ To: '+1415', From: '+14155550100', Body: 'hi' }, 21211],
    [{ To: '+14155550100', From: '+14155550100', Body: 'hi' }, 21211],
    [{ To: '+14155550123', From: '+19995550100', Body: 'hi' }, 21606],
    [{ To: '+14155550123', From: '+14155550100', Body: 'x'.repeat(1601) }, 21617],
    [{ To: '+5352345678', From: '+14155550100', Body: 'hi' }, 21408],
    [{ To: '+14155550123', From: '+14155550100', Body: 'hi', StatusCallback: 'ftp://x' }, 21609],
    [{ To: '+14155550123', From: '+14155550100', Body: 'hi', MediaUrl: 'nope' }, 21620],
    [{ To: '+14155550123', From: '+14155550100', Body: 'hi', ValidityPeriod: '0' }, 90007],
    [{ To: '+447400123456', From: '55501', Body: 'hi' }, 21606],
    [{ To: '+14155550123', From: 'SWITCHBD', Body: 'hi' }, 21606],
    [{ To: '+14155550123', From: '+14155550100', ContentVariables: '{}', Body: 'hi' }, 21654],
  ])('rejects %o with Twilio code %i and accepts nothing', async (params, code) => {
    const before = (await inspected(sim)).length;
    const res = await createMessage(sim, params);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code, status: 400 });
    expect((await inspected(sim)).length).toBe(before);
  });

  it('rejects more than ten media URLs with 21623', async () => {
    const res = await createMessage(sim, {
      To: '+14155550123',
      From: '+14155550100',
      MediaUrl: Array.from({ length: 11 }, (_, i) => `https://cdn.example.com/${i}.jpg`),
    });
    expect(res.json).toMatchObject({ code: 21623 });
  });

  it('rejects an admin call with a bad body with a 400, not a 500', async () => {
    const res = await sim.app.inject({
      method: 'POST',
      url: '/sim/faults',
      payload: { rest429: { rate: 7 } },
    });
    expect(res.statusCode).toBe(400);
    const broken = await sim.app.inject({
      method: 'POST',
      url: '/sim/inbound',
      headers: { 'content-type': 'application/json' },
      payload: '{"from":',
    });
    expect(broken.statusCode).toBe(400);
  });
});
