import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimConfigInput, type Simulator, startSimulator } from '../../src/simulator/index.ts';

// End-to-end: the official twilio-node SDK is the client, pointed at a simulator on a real
// port through its own extension point (each domain's `baseUrl`, edge and region unset).

const SEED = 7;
/** A registered 10DLC long code of the default account, sped up so nothing waits in its queue. */
const FROM = '+14155550100';
const US_CARRIER_NAMES = ['AT&T Wireless', 'T-Mobile USA, Inc.', 'Verizon Wireless', 'U.S. Cellular'];
const FINAL_STATUSES = ['delivered', 'undelivered', 'failed', 'read'];

const FAST_RELIABLE_US = Object.fromEntries(
  ['att', 'tmobile', 'verizon', 'uscellular'].map((id) => [
    id,
    {
      latencyMedianMs: 20,
      latencyP95Ms: 40,
      unreachableRate: 0,
      unknownNumberRate: 0,
      landlineRate: 0,
      unknownErrorRate: 0,
    },
  ]),
);

const FAST_CONFIG: SimConfigInput = {
  carriers: FAST_RELIABLE_US,
  senders: [{ address: FROM, type: 'long_code', mps: 1000 }],
};

/** A twilio-node client that talks to the simulator. */
function clientFor(
  sim: Simulator,
  username: string = sim.accountSid,
  password: string = sim.authToken,
  opts: twilio.ClientOpts = {},
): twilio.Twilio {
  const client = twilio(username, password, opts);
  client.api.baseUrl = sim.url;
  client.lookups.baseUrl = sim.url;
  return client;
}

/** Re-reads until the value is accepted; fails after the time limit with the last value seen. */
async function poll<T>(read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) {
      throw new Error(`not reached within ${timeoutMs} ms; last value: ${JSON.stringify(v)?.slice(0, 400)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/** The part of a twilio-node list page the paging test walks through. */
interface SdkPage {
  instances: { sid: string }[];
  nextPageUrl?: string;
  nextPage(): Promise<SdkPage> | undefined;
}

/** A message as the simulator's admin API (`GET /sim/messages`) shows it. */
interface SimMessageView {
  sid: string;
  accountSid: string;
  body: string;
  status: string;
}

async function simMessages(sim: Simulator): Promise<SimMessageView[]> {
  const res = await fetch(`${sim.url}/sim/messages`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: SimMessageView[] }).messages;
}

/** One webhook request as the receiver saw it. */
interface ReceivedRequest {
  /** The URL as the receiver reconstructs it from the Host header and request target. */
  url: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
}

interface Receiver {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/** A loopback HTTP server that records form-encoded webhooks and answers 204. */
async function startReceiver(): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: `http://${req.headers.host}${req.url}`,
        headers: req.headers,
        params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The callbacks received for a message. */
function callbacksOf(rx: Receiver, sid: string): ReceivedRequest[] {
  return rx.received.filter((r) => r.params.MessageSid === sid);
}

/** Waits until each message has had its final-status callback; returns all their callbacks. */
async function finalCallbacks(rx: Receiver, sids: string[]): Promise<ReceivedRequest[]> {
  await poll(
    () =>
      sids.filter(
        (sid) => !callbacksOf(rx, sid).some((r) => FINAL_STATUSES.includes(r.params.MessageStatus!)),
      ),
    (missing) => missing.length === 0,
  );
  return rx.received.filter((r) => sids.includes(r.params.MessageSid!));
}

function signatureOf(r: ReceivedRequest): string {
  const sig = r.headers['x-twilio-signature'];
  expect(typeof sig).toBe('string');
  return sig as string;
}

let sim: Simulator;
let client: twilio.Twilio;
let rx: Receiver;

beforeAll(async () => {
  rx = await startReceiver();
  sim = await startSimulator({ seed: SEED, config: FAST_CONFIG });
  client = clientFor(sim);
});

afterAll(async () => {
  await sim?.stop();
  await rx?.close();
});

describe('Messages through the twilio SDK', () => {
  it('creates a message the SDK reads as a queued Message with Twilio fields', async () => {
    const before = Date.now();
    const msg = await client.messages.create({ from: FROM, to: '+14155550123', body: 'hello from the SDK' });
    expect(msg.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(msg.status).toBe('queued');
    expect(msg.numSegments).toBe('1');
    expect(msg.numMedia).toBe('0');
    expect(msg.accountSid).toBe(sim.accountSid);
    expect(msg.apiVersion).toBe('2010-04-01');
    expect(msg.direction).toBe('outbound-api');
    expect(msg).toMatchObject({ from: FROM, to: '+14155550123', body: 'hello from the SDK' });
    expect(msg.errorCode).toBeNull();
    expect(msg.dateSent).toBeNull();
    // The SDK parses Twilio's RFC 2822 dates; they carry whole seconds only.
    expect(msg.dateCreated).toBeInstanceOf(Date);
    expect(msg.dateCreated.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(msg.dateCreated.getTime()).toBeLessThanOrEqual(Date.now());
    expect(msg.dateUpdated).toBeInstanceOf(Date);
    expect(msg.uri).toBe(`/2010-04-01/Accounts/${sim.accountSid}/Messages/${msg.sid}.json`);
    expect(msg.subresourceUris).toMatchObject({
      media: `/2010-04-01/Accounts/${sim.accountSid}/Messages/${msg.sid}/Media.json`,
    });
  });

  it('counts segments as Twilio bills them for GSM-7 and UCS-2 bodies', async () => {
    const segmentsOf = async (body: string) =>
      (await client.messages.create({ from: FROM, to: '+14155550124', body })).numSegments;
    expect(await segmentsOf('a'.repeat(160))).toBe('1');
    expect(await segmentsOf('a'.repeat(161))).toBe('2');
    // An emoji is two UTF-16 code units and makes the whole body UCS-2 (70 units a single segment).
    expect(await segmentsOf(`😀${'a'.repeat(68)}`)).toBe('1');
    expect(await segmentsOf(`😀${'a'.repeat(70)}`)).toBe('2');
    expect(await segmentsOf('ж'.repeat(134))).toBe('2');
    expect(await segmentsOf('ж'.repeat(135))).toBe('3');
  });

  it('fetches a message by SID and sees it progress to delivered', async () => {
    const created = await client.messages.create({ from: FROM, to: '+14155550131', body: 'track me' });
    const fetched = await client.messages(created.sid).fetch();
    expect(fetched).toMatchObject({
      sid: created.sid,
      accountSid: sim.accountSid,
      from: FROM,
      to: '+14155550131',
      body: 'track me',
    });
    expect(fetched.dateCreated.getTime()).toBe(created.dateCreated.getTime());

    const delivered = await poll(
      () => client.messages(created.sid).fetch(),
      (m) => m.status === 'delivered',
    );
    expect(delivered.errorCode).toBeNull();
    expect(delivered.dateSent).toBeInstanceOf(Date);
    expect(delivered.dateUpdated.getTime()).toBeGreaterThanOrEqual(delivered.dateCreated.getTime());
    expect(delivered.price).toMatch(/^-\d+\.\d+$/);
    expect(delivered.priceUnit).toBe('USD');
  });
});

describe('listing messages through the twilio SDK', () => {
  const to = '+12125550143';
  const expectedNewestFirst: string[] = [];

  beforeAll(async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      created.push((await client.messages.create({ from: FROM, to, body: `page test ${i}` })).sid);
      // Decoys that the To and the From filter must each leave out.
      if (i === 2) await client.messages.create({ from: FROM, to: '+13125550100', body: 'other recipient' });
      if (i === 4) await client.messages.create({ from: '+18885550100', to, body: 'other sender' });
    }
    expectedNewestFirst.push(...created.reverse());
  });

  it('lists with To and From filters newest first across several pages without duplicates', async () => {
    const listed = await client.messages.list({ to, from: FROM, pageSize: 2 });
    const sids = listed.map((m) => m.sid);
    expect(sids).toEqual(expectedNewestFirst);
    expect(new Set(sids).size).toBe(7);
    expect(listed.every((m) => m.to === to && m.from === FROM)).toBe(true);
  });

  it('follows next_page_uri page by page until the last page', async () => {
    const pages: string[][] = [];
    let page: SdkPage = await client.messages.page({ to, from: FROM, pageSize: 2 });
    pages.push(page.instances.map((m) => m.sid));
    expect(
      page.nextPageUrl?.startsWith(`${sim.url}/2010-04-01/Accounts/${sim.accountSid}/Messages.json?`),
    ).toBe(true);
    for (let next = page.nextPage(); next !== undefined; next = page.nextPage()) {
      page = await next;
      pages.push(page.instances.map((m) => m.sid));
      expect(pages.length).toBeLessThan(10);
    }
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    expect(pages.flat()).toEqual(expectedNewestFirst);
  });

  it('stops at limit even when more pages exist', async () => {
    const listed = await client.messages.list({ to, from: FROM, pageSize: 2, limit: 5 });
    expect(listed.map((m) => m.sid)).toEqual(expectedNewestFirst.slice(0, 5));
  });

  it('filters by dateSentAfter and dateSentBefore on the time the message was sent', async () => {
    const dateTo = '+14155550186';
    const sendBatch = async (label: string) => {
      const sids: string[] = [];
      for (let i = 0; i < 2; i++)
        sids.push((await client.messages.create({ from: FROM, to: dateTo, body: `${label} ${i}` })).sid);
      const sent = await Promise.all(
        sids.map((sid) =>
          poll(
            () => client.messages(sid).fetch(),
            (m) => m.dateSent instanceof Date,
          ),
        ),
      );
      return { sids, sent };
    };
    const early = await sendBatch('early');
    // Twilio dates have whole seconds; the next whole second after the early batch splits the two batches.
    const cutoff = Math.max(...early.sent.map((m) => m.dateSent.getTime())) + 1000;
    await poll(
      () => Date.now(),
      (now) => now >= cutoff,
    );
    const late = await sendBatch('late');
    expect(Math.min(...late.sent.map((m) => m.dateSent.getTime()))).toBeGreaterThanOrEqual(cutoff);

    const after = await client.messages.list({ to: dateTo, dateSentAfter: new Date(cutoff) });
    expect(after.map((m) => m.sid)).toEqual([...late.sids].reverse());
    const before = await client.messages.list({ to: dateTo, dateSentBefore: new Date(cutoff - 1000) });
    expect(before.map((m) => m.sid)).toEqual([...early.sids].reverse());
  });
});

describe('errors raised by the twilio SDK', () => {
  it('rejects an invalid To with RestException 21211 and HTTP 400', async () => {
    const attempt = client.messages.create({ from: FROM, to: '+1555', body: 'x' });
    await expect(attempt).rejects.toBeInstanceOf(twilio.RestException);
    await expect(attempt).rejects.toMatchObject({
      code: 21211,
      status: 400,
      moreInfo: 'https://www.twilio.com/docs/errors/21211',
    });
  });

  it('rejects a From the account does not own with 21606', async () => {
    await expect(
      client.messages.create({ from: '+14155559999', to: '+14155550123', body: 'x' }),
    ).rejects.toMatchObject({ code: 21606, status: 400 });
  });

  it('rejects a missing To with 21604 and a missing Body with 21602', async () => {
    await expect(client.messages.create({ from: FROM, to: '', body: 'x' })).rejects.toMatchObject({
      code: 21604,
      status: 400,
    });
    await expect(client.messages.create({ from: FROM, to: '+14155550123' })).rejects.toMatchObject({
      code: 21602,
      status: 400,
    });
  });

  it('rejects a wrong auth token with 20003 and HTTP 401', async () => {
    const wrong = clientFor(sim, sim.accountSid, 'f'.repeat(32));
    await expect(wrong.messages.create({ from: FROM, to: '+14155550123', body: 'x' })).rejects.toMatchObject({
      code: 20003,
      status: 401,
    });
    await expect(wrong.messages.list({ limit: 1 })).rejects.toMatchObject({ code: 20003, status: 401 });
  });

  it('answers a fetch of an unknown message SID with 20404 and HTTP 404', async () => {
    await expect(client.messages(`SM${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({
      code: 20404,
      status: 404,
    });
  });
});

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
    const statusCallback = `${rx.url}/status?tenant=a&x=1`;
    const sends = [
      { from: FROM, to: '+14155550131' },
      { from: FROM, to: '+14155550142' },
      // Unregistered 10DLC and unverified toll-free senders: US carriers answer undelivered.
      { from: '+14155550199', to: '+14155550153' },
      { from: '+18885550199', to: '+14155550164' },
    ];
    const sids: string[] = [];
    for (const s of sends)
      sids.push((await client.messages.create({ ...s, body: 'signed', statusCallback })).sid);

    const callbacks = await finalCallbacks(rx, sids);
    expect(callbacks.length).toBeGreaterThanOrEqual(sids.length * 2);
    for (const r of callbacks) {
      expect(r.url).toBe(statusCallback);
      expect(r.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
      const signature = signatureOf(r);
      expect(twilio.validateRequest(sim.authToken, signature, r.url, r.params)).toBe(true);
      expect(twilio.validateRequest('0'.repeat(32), signature, r.url, r.params)).toBe(false);
      expect(
        twilio.validateRequest(sim.authToken, signature, r.url, { ...r.params, MessageStatus: 'forged' }),
      ).toBe(false);
      expect(
        twilio.validateRequest(sim.authToken, signature, `${rx.url}/status?tenant=b&x=1`, r.params),
      ).toBe(false);
    }
  });

  it("carries Twilio's callback parameters with ErrorCode only on failed or undelivered", async () => {
    const statusCallback = `${rx.url}/params?tenant=a&x=1`;
    const delivered = await client.messages.create({
      from: FROM,
      to: '+14155550175',
      body: 'ok',
      statusCallback,
    });
    const unregistered = await client.messages.create({
      from: '+18885550199',
      to: '+14155550175',
      body: 'blocked',
      statusCallback,
    });
    const callbacks = await finalCallbacks(rx, [delivered.sid, unregistered.sid]);
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
      expect(p.AccountSid).toBe(sim.accountSid);
      expect(p.ApiVersion).toBe('2010-04-01');
      // The URL's query string is part of the URL, not of the form parameters.
      expect(p).not.toHaveProperty('tenant');
      expect('ErrorCode' in p).toBe(p.MessageStatus === 'failed' || p.MessageStatus === 'undelivered');
    }
    expect(callbacksOf(rx, delivered.sid).map((r) => r.params.MessageStatus)).toEqual(['sent', 'delivered']);
    const blocked = callbacksOf(rx, unregistered.sid);
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
    const statusCallback = `${rx.url}/rotated?tenant=a&x=1`;
    const msg = await fresh.messages.create({
      from: FROM,
      to: '+14155550123',
      body: 'rotated',
      statusCallback,
    });
    const callbacks = await finalCallbacks(rx, [msg.sid]);
    expect(callbacks.length).toBeGreaterThanOrEqual(1);
    for (const r of callbacks) {
      expect(twilio.validateRequest(newToken, signatureOf(r), r.url, r.params)).toBe(true);
      expect(twilio.validateRequest(oldToken, signatureOf(r), r.url, r.params)).toBe(false);
    }
  });
});

describe('subaccounts and API keys', () => {
  it('creates a subaccount whose own client sends from its own number', async () => {
    const sub = await client.api.v2010.accounts.create({ friendlyName: 'tenant-b' });
    expect(sub.sid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(sub.sid).not.toBe(sim.accountSid);
    expect(sub.authToken).toEqual(expect.any(String));
    expect(sub.authToken.length).toBeGreaterThanOrEqual(8);
    expect(sub).toMatchObject({
      friendlyName: 'tenant-b',
      ownerAccountSid: sim.accountSid,
      status: 'active',
    });

    const subClient = clientFor(sim, sub.sid, sub.authToken);
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
    const viaParent = await client.api.v2010.accounts(sub.sid).messages(msg.sid).fetch();
    expect(viaParent.sid).toBe(msg.sid);
    await expect(client.messages(msg.sid).fetch()).rejects.toMatchObject({ code: 20404, status: 404 });
  });

  it('authenticates an API key created through the SDK when the account SID is given', async () => {
    const key = await client.newKeys.create({ friendlyName: 'ci key' });
    expect(key.sid).toMatch(/^SK[0-9a-f]{32}$/);
    expect(key.secret).toEqual(expect.any(String));
    expect(key.friendlyName).toBe('ci key');
    expect((await client.keys.list()).map((k) => k.sid)).toContain(key.sid);

    const keyClient = clientFor(sim, key.sid, key.secret, { accountSid: sim.accountSid });
    const msg = await keyClient.messages.create({ from: FROM, to: '+14155550123', body: 'via API key' });
    expect(msg.accountSid).toBe(sim.accountSid);

    const badSecret = clientFor(sim, key.sid, 'not-the-secret', { accountSid: sim.accountSid });
    await expect(
      badSecret.messages.create({ from: FROM, to: '+14155550123', body: 'x' }),
    ).rejects.toMatchObject({ code: 20003, status: 401 });
  });
});

describe('phone numbers and short codes', () => {
  it("lists the account's long codes and toll-free numbers, and its short code separately", async () => {
    const numbers = await client.incomingPhoneNumbers.list();
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
      expect(n.accountSid).toBe(sim.accountSid);
      expect(n.capabilities).toMatchObject({ sms: true });
    }

    const shortCodes = await client.shortCodes.list();
    expect(shortCodes.map((s) => s.shortCode)).toEqual(['55501']);
    expect(shortCodes[0]!.sid).toMatch(/^SC[0-9a-f]{32}$/);
    expect(shortCodes[0]!.accountSid).toBe(sim.accountSid);
  });
});

describe('Lookup v2', () => {
  it('looks up a valid US number with line type intelligence from a US carrier', async () => {
    const result = await client.lookups.v2
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
      const mine = await carriersIn(client);
      expect(mine.every((name) => US_CARRIER_NAMES.includes(name!))).toBe(true);
      expect(await carriersIn(twinClient)).toEqual(mine);
    } finally {
      await twin.stop();
    }
  });

  it('reports an invalid number as not valid, without line type intelligence', async () => {
    const result = await client.lookups.v2.phoneNumbers('+1555').fetch({ fields: 'line_type_intelligence' });
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
