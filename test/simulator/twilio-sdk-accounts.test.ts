import type twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.ts';
import { clientFor, FAST_CONFIG, FROM, SEED, US_CARRIER_NAMES, useSdkFixture } from './sdk-harness.ts';

// The twilio-node SDK against the simulator: subaccounts, API keys, numbers, Lookup, determinism.

const f = useSdkFixture();

describe('subaccounts and API keys', () => {
  it('creates a subaccount whose own f.client sends from its own number', async () => {
    const sub = await f.client.api.v2010.accounts.create({ friendlyName: 'tenant-b' });
    expect(sub.sid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(sub.sid).not.toBe(f.sim.accountSid);
    expect(sub.authToken).toEqual(expect.any(String));
    expect(sub.authToken.length).toBeGreaterThanOrEqual(8);
    expect(sub).toMatchObject({
      friendlyName: 'tenant-b',
      ownerAccountSid: f.sim.accountSid,
      status: 'active',
    });

    const subClient = clientFor(f.sim, sub.sid, sub.authToken);
    const numbers = await subClient.incomingPhoneNumbers.list();
    expect(numbers.length).toBeGreaterThanOrEqual(1);
    expect(numbers.every((n) => n.accountSid === sub.sid)).toBe(true);
    const own = numbers[0]!.phoneNumber;

    const msg = await subClient.messages.create({ from: own, to: '+14155550123', body: 'from the tenant' });
    expect(msg).toMatchObject({ accountSid: sub.sid, from: own, status: 'queued' });
    expect(msg.uri.startsWith(`/2010-04-01/Accounts/${sub.sid}/Messages/`)).toBe(true);

    // A subaccount cannot send from its parent's number; the parent reaches the subaccount's message by path.
    await expect(
      subClient.messages.create({ from: FROM, to: '+14155550123', body: 'x' }),
    ).rejects.toMatchObject({ code: 21606, status: 400 });
    const viaParent = await f.client.api.v2010.accounts(sub.sid).messages(msg.sid).fetch();
    expect(viaParent.sid).toBe(msg.sid);
    await expect(f.client.messages(msg.sid).fetch()).rejects.toMatchObject({ code: 20404, status: 404 });
  });

  it('authenticates an API key created through the SDK when the account SID is given', async () => {
    const key = await f.client.newKeys.create({ friendlyName: 'ci key' });
    expect(key.sid).toMatch(/^SK[0-9a-f]{32}$/);
    expect(key.secret).toEqual(expect.any(String));
    expect(key.friendlyName).toBe('ci key');
    expect((await f.client.keys.list()).map((k) => k.sid)).toContain(key.sid);

    const keyClient = clientFor(f.sim, key.sid, key.secret, { accountSid: f.sim.accountSid });
    const msg = await keyClient.messages.create({ from: FROM, to: '+14155550123', body: 'via API key' });
    expect(msg.accountSid).toBe(f.sim.accountSid);

    const badSecret = clientFor(f.sim, key.sid, 'not-the-secret', { accountSid: f.sim.accountSid });
    await expect(
      badSecret.messages.create({ from: FROM, to: '+14155550123', body: 'x' }),
    ).rejects.toMatchObject({ code: 20003, status: 401 });
  });
});

describe('phone numbers and short codes', () => {
  it("lists the account's long codes and toll-free numbers, and its short code separately", async () => {
    const numbers = await f.client.incomingPhoneNumbers.list();
    expect(numbers.map((n) => n.phoneNumber).sort()).toEqual(
      [
        '+12125550102',
        '+14155550100',
        '+14155550101',
        '+14155550199',
        '+18885550100',
        '+18885550199',
        '+447400100100',
      ].sort(),
    );
    for (const n of numbers) {
      expect(n.sid).toMatch(/^PN[0-9a-f]{32}$/);
      expect(n.accountSid).toBe(f.sim.accountSid);
      expect(n.capabilities).toMatchObject({ sms: true });
    }

    const shortCodes = await f.client.shortCodes.list();
    expect(shortCodes.map((s) => s.shortCode)).toEqual(['55501']);
    expect(shortCodes[0]!.sid).toMatch(/^SC[0-9a-f]{32}$/);
    expect(shortCodes[0]!.accountSid).toBe(f.sim.accountSid);
  });
});

describe('Lookup v2', () => {
  it('looks up a valid US number with line type intelligence from a US carrier', async () => {
    const result = await f.client.lookups.v2
      .phoneNumbers('+14155550123')
      .fetch({ fields: 'line_type_intelligence' });
    expect(result).toMatchObject({
      valid: true,
      countryCode: 'US',
      phoneNumber: '+14155550123',
      callingCountryCode: '1',
      nationalFormat: '(415) 555-0123',
    });
    expect(result.validationErrors).toEqual([]);
    expect(US_CARRIER_NAMES).toContain(result.lineTypeIntelligence.carrierName);
    // Every US carrier is configured with a landline rate of 0.
    expect(result.lineTypeIntelligence.type).toBe('mobile');
  });

  it('assigns the same carriers to the same numbers in two simulators with the same seed', async () => {
    const numbers = ['+14155550123', '+14155550124', '+12125550143', '+13125550100', '+14155551234'];
    const twin = await startSimulator({ seed: SEED });
    try {
      const twinClient = clientFor(twin);
      const carriersIn = (c: twilio.Twilio) =>
        Promise.all(
          numbers.map(
            async (n) =>
              (await c.lookups.v2.phoneNumbers(n).fetch({ fields: 'line_type_intelligence' }))
                .lineTypeIntelligence.carrierName,
          ),
        );
      const mine = await carriersIn(f.client);
      expect(mine.every((name) => US_CARRIER_NAMES.includes(name!))).toBe(true);
      expect(await carriersIn(twinClient)).toEqual(mine);
    } finally {
      await twin.stop();
    }
  });

  it('reports an invalid number as not valid, without line type intelligence', async () => {
    const result = await f.client.lookups.v2
      .phoneNumbers('+1555')
      .fetch({ fields: 'line_type_intelligence' });
    expect(result.valid).toBe(false);
    expect(result.countryCode).toBeNull();
    expect(result.validationErrors.length).toBeGreaterThan(0);
    expect(result.lineTypeIntelligence).toBeNull();
  });
});

describe('determinism', () => {
  async function sidsWithSeed(seed: number): Promise<string[]> {
    const s = await startSimulator({ seed, config: FAST_CONFIG });
    try {
      const c = clientFor(s);
      const sids: string[] = [];
      for (const [to, body] of [
        ['+14155550123', 'one'],
        ['+14155550124', 'two'],
        ['+12125550143', 'three'],
      ] as const) {
        sids.push((await c.messages.create({ from: FROM, to, body })).sid);
      }
      const sub = await c.api.v2010.accounts.create({ friendlyName: 'det' });
      sids.push(sub.sid);
      return sids;
    } finally {
      await s.stop();
    }
  }

  it('gives identical SIDs for the same seed and requests, and different SIDs for another seed', async () => {
    const first = await sidsWithSeed(99);
    const second = await sidsWithSeed(99);
    const other = await sidsWithSeed(100);
    expect(second).toEqual(first);
    expect(new Set(first).size).toBe(first.length);
    for (let i = 0; i < first.length; i++) expect(other[i]).not.toBe(first[i]);
  });
});
