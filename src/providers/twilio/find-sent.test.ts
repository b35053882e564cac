import { afterEach, describe, expect, it } from 'vitest';
import type { Provider } from '../provider.ts';
import {
  type FakeAnswer,
  type FakeTwilio,
  type ReceivedRequest,
  startFakeTwilio,
} from './fake-twilio-server.ts';
import { MAX_LOOKUP_PAGES } from './find-sent.ts';
import { createTwilioProvider } from './index.ts';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const LIST_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const TO = '+14155552671';
const FROM = '+14155550100';
const SINCE = Date.parse('2026-03-02T10:00:00Z');

/** A Message resource as Twilio lists it, created `offsetMs` after SINCE. */
const message = (n: number, offsetMs: number, extra: object = {}) => ({
  sid: `SM${String(n).padStart(32, '0')}`,
  status: 'queued',
  to: TO,
  from: FROM,
  body: `message ${n}`,
  date_created: new Date(SINCE + offsetMs).toUTCString().replace('GMT', '+0000'),
  date_sent: null,
  ...extra,
});
const page = (messages: object[], next: string | null): FakeAnswer => ({
  status: 200,
  json: { messages, next_page_uri: next, page: 0, page_size: 100 },
});

describe('findSent', () => {
  let fake: FakeTwilio | null = null;
  let provider: Provider | null = null;
  afterEach(async () => {
    await provider?.close();
    await fake?.close();
    provider = null;
    fake = null;
  });
  const start = async (answer: (request: ReceivedRequest, index: number) => FakeAnswer, prefix = '') => {
    fake = await startFakeTwilio(answer);
    provider = createTwilioProvider(
      {},
      {
        accountSid: ACCOUNT_SID,
        authToken: 'secret-token',
        baseUrl: `${fake.url}${prefix}`,
        maxConcurrency: 1,
      },
    );
    return { fake, provider };
  };

  it('asks for the pair without a DateSent filter, so queued messages are found too', async () => {
    const { fake, provider } = await start(() => page([message(1, 1_000, { date_sent: null })], null));
    const found = await provider.findSent({ to: TO, from: FROM, since: SINCE });
    expect(found).toEqual([
      {
        sid: message(1, 0).sid,
        status: 'queued',
        to: TO,
        from: FROM,
        body: 'message 1',
        dateCreated: SINCE + 1_000,
      },
    ]);
    const url = new URL(fake.requests[0]!.url, 'http://x');
    expect(url.pathname).toBe(LIST_PATH);
    expect(Object.fromEntries(url.searchParams)).toEqual({ To: TO, From: FROM, PageSize: '100' });
    expect(fake.requests[0]!.headers.authorization).toMatch(/^Basic /);
  });

  it('follows relative next_page_uri until a page reaches past the skew margin, newest first', async () => {
    const next = (token: string) =>
      `${LIST_PATH}?To=${encodeURIComponent(TO)}&PageSize=100&Page=1&PageToken=${token}`;
    const { fake, provider } = await start(
      (_, i) =>
        [
          page([message(5, 20_000), message(4, 10_000)], next('PA4')),
          // 3 is inside the 60 s margin before `since`, 2 outside; the page is the last one read.
          page([message(3, -30_000), message(2, -90_000)], next('PA2')),
          page([message(1, -120_000)], null),
        ][i]!,
      '/twilio',
    );
    const found = await provider.findSent({ to: TO, from: FROM, since: SINCE });
    expect(found.map((m) => m.body)).toEqual(['message 5', 'message 4', 'message 3']);
    expect(fake.requests.map((r) => r.url.split('?')[0])).toEqual([
      `/twilio${LIST_PATH}`,
      `/twilio${LIST_PATH}`,
    ]);
    expect(fake.requests[1]!.url).toContain('PageToken=PA4');
  });

  it('sorts by date_created even when a page is out of order', async () => {
    const { provider } = await start(() => page([message(1, 1_000), message(2, 5_000)], null));
    const found = await provider.findSent({ to: TO, from: FROM, since: SINCE });
    expect(found.map((m) => m.body)).toEqual(['message 2', 'message 1']);
  });

  it(`refuses a partial answer after ${MAX_LOOKUP_PAGES} pages`, async () => {
    const { fake, provider } = await start((_, i) =>
      page([message(i, 60_000 - i)], `${LIST_PATH}?PageToken=PA${i}`),
    );
    await expect(provider.findSent({ to: TO, from: FROM, since: SINCE })).rejects.toMatchObject({
      code: 'SB_PROVIDER_UNAVAILABLE',
    });
    expect(fake.requests).toHaveLength(MAX_LOOKUP_PAGES);
  });

  it('does not follow a next page on another origin', async () => {
    const { fake, provider } = await start(() =>
      page([message(1, 1_000)], `https://elsewhere.example.com${LIST_PATH}?PageToken=PA1`),
    );
    await expect(provider.findSent({ to: TO, from: FROM, since: SINCE })).rejects.toMatchObject({
      code: 'SB_PROVIDER_UNAVAILABLE',
    });
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    [429, 20429, 'SB_PROVIDER_RATE_LIMITED'],
    [500, 20500, 'SB_PROVIDER_UNAVAILABLE'],
    [401, 20003, 'SB_PROVIDER_UNAVAILABLE'],
    [404, 20404, 'SB_PROVIDER_UNAVAILABLE'],
  ] as const)('throws on HTTP %i (%i) as %s', async (status, code, sbCode) => {
    const { provider } = await start(() => ({ status, json: { code, message: 'no', status } }));
    await expect(provider.findSent({ to: TO, from: FROM, since: SINCE })).rejects.toMatchObject({
      code: sbCode,
      retryable: true,
    });
  });

  it('throws SB_PROVIDER_UNAVAILABLE on a malformed page or date', async () => {
    const answers: FakeAnswer[] = [
      { status: 200, text: 'not json' },
      { status: 200, json: { items: [] } },
      page([message(1, 0, { date_created: 'yesterday' })], null),
    ];
    const { provider } = await start((_, i) => answers[i]!);
    for (let i = 0; i < answers.length; i++) {
      await expect(provider.findSent({ to: TO, from: FROM, since: SINCE })).rejects.toMatchObject({
        code: 'SB_PROVIDER_UNAVAILABLE',
      });
    }
  });

  it('throws SB_PROVIDER_UNAVAILABLE when the connection drops', async () => {
    const { provider } = await start(() => 'reset');
    await expect(provider.findSent({ to: TO, from: FROM, since: SINCE })).rejects.toMatchObject({
      code: 'SB_PROVIDER_UNAVAILABLE',
    });
  });
});
