import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.ts';
import type { Provider, SendRequest } from '../provider.ts';
import { describeProviderConformance } from '../provider-conformance.ts';
import { type FakeAnswer, type FakeTwilio, startFakeTwilio } from './fake-twilio-server.ts';
import { createTwilioProvider, type TwilioProviderOptions } from './index.ts';
import { MAX_RESPONSE_BYTES } from './twilio-client.ts';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const MESSAGE_SID = `SM${'fedcba9876543210'.repeat(2)}`;

describeProviderConformance('twilio against the simulator', async () => {
  // No status callbacks: this suite is about the REST exchange only.
  const sim = await startSimulator({ seed: 11, config: { callbacks: { statuses: [] } } });
  let connections = 0;
  sim.app.server.on('connection', () => {
    connections++;
  });
  const admin = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const res = await sim.app.inject({ method, url, ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json() as { messages?: { sid: string }[] };
  };
  let recipients = 0;
  return {
    makeProvider: (variant = {}) =>
      createTwilioProvider(
        {},
        {
          accountSid: sim.accountSid,
          authToken: variant.badCredentials ? 'not-the-auth-token' : sim.authToken,
          baseUrl: sim.url,
          maxConcurrency: variant.maxConcurrency ?? 4,
          ...(variant.timeoutMs ? { timeoutMs: variant.timeoutMs } : {}),
        },
      ),
    from: '+14155550100',
    nextRecipient: () => `+1415555${2000 + recipients++}`,
    invalidRecipient: { to: '+1555', providerCode: 21211 },
    rateLimitedProviderCode: 20429,
    statusCallback: 'https://switchboard.example.com/webhooks/twilio/status',
    sidPattern: /^SM[0-9a-fA-F]{32}$/,
    faults: {
      rateLimit: async (count) => void (await admin('POST', '/sim/faults', { rest429: { rate: 1, count } })),
      serverError: async (status, count) =>
        void (await admin('POST', '/sim/faults', { rest5xx: { rate: 1, count, status } })),
      loseResponse: async (mode, count) =>
        void (await admin('POST', '/sim/faults', { responseLost: { rate: 1, count, mode } })),
      clear: async () => void (await admin('DELETE', '/sim/faults')),
    },
    heldSids: async (to, from) => {
      const q = new URLSearchParams({ to, from, direction: 'outbound-api' });
      return ((await admin('GET', `/sim/messages?${q.toString()}`)).messages ?? []).map((m) => m.sid);
    },
    connectionsOpened: () => connections,
    teardown: () => sim.stop(),
  };
});

describe('twilio provider on the wire', () => {
  let fake: FakeTwilio | null = null;
  let provider: Provider | null = null;
  afterEach(async () => {
    await provider?.close();
    await fake?.close();
    provider = null;
    fake = null;
  });

  const start = async (
    answer: (index: number) => FakeAnswer,
    options: Partial<TwilioProviderOptions> = {},
    logger?: pino.Logger,
  ) => {
    fake = await startFakeTwilio((_, i) => answer(i));
    provider = createTwilioProvider(logger ? { logger } : {}, {
      accountSid: ACCOUNT_SID,
      authToken: 'secret-token',
      baseUrl: fake.url,
      maxConcurrency: 2,
      ...options,
    });
    return { fake, provider };
  };
  const created = (): FakeAnswer => ({ status: 201, json: { sid: MESSAGE_SID, status: 'queued' } });
  const request = (overrides: Partial<SendRequest> = {}): SendRequest => ({
    messageId: 'msg_1',
    to: '+14155552671',
    from: '+14155550100',
    body: 'Your code is 424242',
    mediaUrls: [],
    contentSid: null,
    contentVariables: null,
    statusCallback: 'https://gw.example.com/webhooks/twilio/status?messageId=msg_1',
    ...overrides,
  });

  it('posts a form-encoded create with Basic auth, repeated MediaUrl keys and every set parameter', async () => {
    const { fake, provider } = await start(created);
    const result = await provider.send(
      request({
        mediaUrls: ['https://cdn.example.com/a.png', 'https://cdn.example.com/b.png'],
        contentSid: `HX${'0'.repeat(32)}`,
        contentVariables: '{"1":"Ada"}',
      }),
    );
    expect(result).toEqual({
      kind: 'accepted',
      providerSid: MESSAGE_SID,
      providerStatus: 'queued',
      httpStatus: 201,
    });
    const [sent] = fake.requests;
    expect(sent).toMatchObject({ method: 'POST', url: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json` });
    expect(sent!.headers).toMatchObject({
      authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:secret-token`).toString('base64')}`,
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    });
    const form = new URLSearchParams(sent!.body);
    expect([...form.keys()]).toEqual([
      'To',
      'From',
      'Body',
      'MediaUrl',
      'MediaUrl',
      'ContentSid',
      'ContentVariables',
      'StatusCallback',
    ]);
    expect(form.getAll('MediaUrl')).toEqual([
      'https://cdn.example.com/a.png',
      'https://cdn.example.com/b.png',
    ]);
    expect(form.get('To')).toBe('+14155552671');
    expect(form.get('ContentVariables')).toBe('{"1":"Ada"}');
    expect(form.get('StatusCallback')).toBe('https://gw.example.com/webhooks/twilio/status?messageId=msg_1');
  });

  it('leaves Body out when the message has none', async () => {
    const { fake, provider } = await start(created);
    await provider.send(request({ body: null, contentSid: `HX${'0'.repeat(32)}` }));
    expect(new URLSearchParams(fake.requests[0]!.body).has('Body')).toBe(false);
  });

  it('keeps a path prefix of the base URL', async () => {
    fake = await startFakeTwilio(created);
    provider = createTwilioProvider(
      {},
      {
        accountSid: ACCOUNT_SID,
        authToken: 'secret-token',
        baseUrl: `${fake.url}/twilio/`,
        maxConcurrency: 1,
      },
    );
    await provider.send(request());
    expect(fake.requests[0]!.url).toBe(`/twilio/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
  });

  it('never sends a create twice when the connection drops after the request was written', async () => {
    // The second create goes over the reused keep-alive connection, which the server then resets.
    const { fake, provider } = await start((i) => (i === 0 ? created() : 'reset'));
    expect((await provider.send(request())).kind).toBe('accepted');
    const result = await provider.send(request());
    expect(result).toMatchObject({ kind: 'unknown', httpStatus: null, providerCode: null });
    expect(result.kind !== 'accepted' && result.error.code).toBe('SB_PROVIDER_OUTCOME_UNKNOWN');
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  it('fails as retryable when the connection is refused, since nothing reached Twilio', async () => {
    const closed = await startFakeTwilio(created);
    await closed.close();
    provider = createTwilioProvider(
      {},
      { accountSid: ACCOUNT_SID, authToken: 'secret-token', baseUrl: closed.url, maxConcurrency: 1 },
    );
    const result = await provider.send(request());
    expect(result).toMatchObject({ kind: 'failed', httpStatus: null, providerCode: null });
    expect(result.kind === 'failed' && result.error.code).toBe('SB_PROVIDER_UNAVAILABLE');
    expect(result.kind === 'failed' && result.error.retryable).toBe(true);
  });

  it('treats a 2xx without a SID as an unknown outcome', async () => {
    const { provider } = await start(() => ({ status: 201, text: '<html>ok</html>' }));
    const result = await provider.send(request());
    expect(result.kind).toBe('unknown');
    expect(result.kind !== 'accepted' && result.error.code).toBe('SB_PROVIDER_OUTCOME_UNKNOWN');
  });

  it('reads a response with a byte-order mark, and ends one over the size cap as an unknown outcome', async () => {
    const json = JSON.stringify({ sid: MESSAGE_SID, status: 'queued' });
    const { fake, provider } = await start((i) =>
      i === 1
        ? { status: 201, text: `${json}${' '.repeat(MAX_RESPONSE_BYTES)}` }
        : { status: 201, text: `\uFEFF${json}` },
    );
    expect(await provider.send(request())).toMatchObject({ kind: 'accepted', providerSid: MESSAGE_SID });
    // Over the cap: the create was written, so whether it exists is unknown (reconciled, never re-sent).
    const result = await provider.send(request());
    expect(result).toMatchObject({ kind: 'unknown', httpStatus: null });
    expect(result.kind !== 'accepted' && result.error.code).toBe('SB_PROVIDER_OUTCOME_UNKNOWN');
    // The pool goes on working after the aborted exchange.
    expect((await provider.send(request())).kind).toBe('accepted');
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
  });

  it('logs neither the body nor a full phone number, and masks numbers in Twilio messages', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const to = '+14155552671';
    const { provider } = await start(
      () => ({
        status: 400,
        json: { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, status: 400 },
      }),
      {},
      logger,
    );
    const result = await provider.send(request({ to }));
    expect(result).toMatchObject({ kind: 'failed', providerCode: 21211, httpStatus: 400 });
    expect(result.kind === 'failed' && result.error.message).toMatch(/^The 'To' number \+1\d\*+71 is not/);
    const log = lines.join('');
    expect(log).toContain('msg_1');
    expect(log).not.toContain(to);
    expect(log).not.toContain('+14155550100');
    expect(log).not.toContain('424242');
  });

  it('refuses a read timeout under 2 s and other unusable options', () => {
    const base = {
      accountSid: ACCOUNT_SID,
      authToken: 'x',
      baseUrl: 'http://127.0.0.1:1',
      maxConcurrency: 1,
    };
    expect(() => createTwilioProvider({}, { ...base, timeoutMs: 1_999 })).toThrow(
      expect.objectContaining({ code: 'SB_CONFIG_INVALID', field: 'timeoutMs' }),
    );
    expect(() => createTwilioProvider({}, { ...base, maxConcurrency: 0 })).toThrow(
      expect.objectContaining({ field: 'maxConcurrency' }),
    );
    expect(() => createTwilioProvider({}, { ...base, baseUrl: 'api.twilio.com' })).toThrow(
      expect.objectContaining({ field: 'baseUrl' }),
    );
  });
});
