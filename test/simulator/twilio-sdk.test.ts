import twilio from 'twilio';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientFor, FROM, poll, type SdkPage, useSdkFixture } from './sdk-harness.ts';

// End-to-end: the official twilio-node SDK is the client, pointed at a simulator on a real
// port through its own extension point (each domain's `baseUrl`, edge and region unset).
// Messages: create, fetch, list and the errors the SDK raises.

const f = useSdkFixture();

describe('Messages through the twilio SDK', () => {
  it('creates a message the SDK reads as a queued Message with Twilio fields', async () => {
    const before = Date.now();
    const msg = await f.client.messages.create({
      from: FROM,
      to: '+14155550123',
      body: 'hello from the SDK',
    });
    expect(msg.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(msg.status).toBe('queued');
    expect(msg.numSegments).toBe('1');
    expect(msg.numMedia).toBe('0');
    expect(msg.accountSid).toBe(f.sim.accountSid);
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
    expect(msg.uri).toBe(`/2010-04-01/Accounts/${f.sim.accountSid}/Messages/${msg.sid}.json`);
    expect(msg.subresourceUris).toMatchObject({
      media: `/2010-04-01/Accounts/${f.sim.accountSid}/Messages/${msg.sid}/Media.json`,
    });
  });

  it('counts segments as Twilio bills them for GSM-7 and UCS-2 bodies', async () => {
    const segmentsOf = async (body: string) =>
      (await f.client.messages.create({ from: FROM, to: '+14155550124', body })).numSegments;
    expect(await segmentsOf('a'.repeat(160))).toBe('1');
    expect(await segmentsOf('a'.repeat(161))).toBe('2');
    // An emoji is two UTF-16 code units and makes the whole body UCS-2 (70 units a single segment).
    expect(await segmentsOf(`😀${'a'.repeat(68)}`)).toBe('1');
    expect(await segmentsOf(`😀${'a'.repeat(70)}`)).toBe('2');
    expect(await segmentsOf('ж'.repeat(134))).toBe('2');
    expect(await segmentsOf('ж'.repeat(135))).toBe('3');
  });

  it('fetches a message by SID and sees it progress to delivered', async () => {
    const created = await f.client.messages.create({ from: FROM, to: '+14155550131', body: 'track me' });
    const fetched = await f.client.messages(created.sid).fetch();
    expect(fetched).toMatchObject({
      sid: created.sid,
      accountSid: f.sim.accountSid,
      from: FROM,
      to: '+14155550131',
      body: 'track me',
    });
    expect(fetched.dateCreated.getTime()).toBe(created.dateCreated.getTime());

    const delivered = await poll(
      () => f.client.messages(created.sid).fetch(),
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
      created.push((await f.client.messages.create({ from: FROM, to, body: `page test ${i}` })).sid);
      // Decoys that the To and the From filter must each leave out.
      if (i === 2)
        await f.client.messages.create({ from: FROM, to: '+13125550100', body: 'other recipient' });
      if (i === 4) await f.client.messages.create({ from: '+18885550100', to, body: 'other sender' });
    }
    expectedNewestFirst.push(...created.reverse());
  });

  it('lists with To and From filters newest first across several pages without duplicates', async () => {
    const listed = await f.client.messages.list({ to, from: FROM, pageSize: 2 });
    const sids = listed.map((m) => m.sid);
    expect(sids).toEqual(expectedNewestFirst);
    expect(new Set(sids).size).toBe(7);
    expect(listed.every((m) => m.to === to && m.from === FROM)).toBe(true);
  });

  it('follows next_page_uri page by page until the last page', async () => {
    const pages: string[][] = [];
    let page: SdkPage = await f.client.messages.page({ to, from: FROM, pageSize: 2 });
    pages.push(page.instances.map((m) => m.sid));
    expect(
      page.nextPageUrl?.startsWith(`${f.sim.url}/2010-04-01/Accounts/${f.sim.accountSid}/Messages.json?`),
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
    const listed = await f.client.messages.list({ to, from: FROM, pageSize: 2, limit: 5 });
    expect(listed.map((m) => m.sid)).toEqual(expectedNewestFirst.slice(0, 5));
  });

  it('filters by dateSentAfter and dateSentBefore on the time the message was sent', async () => {
    const dateTo = '+14155550186';
    const sendBatch = async (label: string) => {
      const sids: string[] = [];
      for (let i = 0; i < 2; i++)
        sids.push((await f.client.messages.create({ from: FROM, to: dateTo, body: `${label} ${i}` })).sid);
      const sent = await Promise.all(
        sids.map((sid) =>
          poll(
            () => f.client.messages(sid).fetch(),
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

    const after = await f.client.messages.list({ to: dateTo, dateSentAfter: new Date(cutoff) });
    expect(after.map((m) => m.sid)).toEqual([...late.sids].reverse());
    const before = await f.client.messages.list({ to: dateTo, dateSentBefore: new Date(cutoff - 1000) });
    expect(before.map((m) => m.sid)).toEqual([...early.sids].reverse());
  });
});

describe('errors raised by the twilio SDK', () => {
  it('rejects an invalid To with RestException 21211 and HTTP 400', async () => {
    const attempt = f.client.messages.create({ from: FROM, to: '+1555', body: 'x' });
    await expect(attempt).rejects.toBeInstanceOf(twilio.RestException);
    await expect(attempt).rejects.toMatchObject({
      code: 21211,
      status: 400,
      moreInfo: 'https://www.twilio.com/docs/errors/21211',
    });
  });

  it('rejects a From the account does not own with 21606', async () => {
    await expect(
      f.client.messages.create({ from: '+14155559999', to: '+14155550123', body: 'x' }),
    ).rejects.toMatchObject({ code: 21606, status: 400 });
  });

  it('rejects a missing To with 21604 and a missing Body with 21602', async () => {
    await expect(f.client.messages.create({ from: FROM, to: '', body: 'x' })).rejects.toMatchObject({
      code: 21604,
      status: 400,
    });
    await expect(f.client.messages.create({ from: FROM, to: '+14155550123' })).rejects.toMatchObject({
      code: 21602,
      status: 400,
    });
  });

  it('rejects a wrong auth token with 20003 and HTTP 401', async () => {
    const wrong = clientFor(f.sim, f.sim.accountSid, 'f'.repeat(32));
    await expect(wrong.messages.create({ from: FROM, to: '+14155550123', body: 'x' })).rejects.toMatchObject({
      code: 20003,
      status: 401,
    });
    await expect(wrong.messages.list({ limit: 1 })).rejects.toMatchObject({ code: 20003, status: 401 });
  });

  it('answers a fetch of an unknown message SID with 20404 and HTTP 404', async () => {
    await expect(f.client.messages(`SM${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({
      code: 20404,
      status: 404,
    });
  });
});
