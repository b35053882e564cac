import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type GatewayConfigInput, hashApiKey, loadGatewayConfig } from '../../src/config/index.ts';
import { type Gateway, startGateway } from '../../src/main.ts';
import { createLogger } from '../../src/observability/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { backends } from '../support/databases.ts';
import { type ApiMessage, E2E_API_KEY, freePorts, tempDir } from '../support/gateway-process.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

const ADMIN_KEY = 'sk_e2e_admin_key_0123456789abcdef';
const TX = '+14155550100';
const CHAT = ['+14155550101', '+12125550102', '+13125550103'];
const PROMO = '+18885550100';
const MMS = '+14155550104';
const UNREGISTERED = '+14155550199';
const WHATSAPP = 'whatsapp:+14155238886';
const ALPHA = 'SWITCHBD';
/** A distinct valid UK mobile number per index. */
const uk = (i: number) => `+4474001234${String(10 + i)}`;
const CONTENT_SID = 'HX0123456789abcdef0123456789abcdef';
const approved10dlc = {
  kind: '10dlc',
  id: 'CM00000000000000000000000000000000',
  status: 'approved',
} as const;

/** A distinct valid US mobile number per index (NYC area code, so its time zone is New York). */
const nyc = (i: number) => `+1212555${String(1000 + i).padStart(4, '0')}`;
/** A distinct valid Denver number per index (no sender of the pools shares its area code). */
const denver = (i: number) => `+1303555${String(1000 + i).padStart(4, '0')}`;

/** The local time in New York as HH:MM, `deltaMs` from `at`. */
function newYorkClock(at: number, deltaMs: number): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: 'America/New_York',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(at + deltaMs));
}

function gatewayConfig(port: number, sim: Simulator, dbUrl: string, over: Partial<GatewayConfigInput> = {}) {
  const base: GatewayConfigInput = {
    server: { port, host: '127.0.0.1' },
    database: dbUrl,
    twilio: { accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url },
    tenants: [{ id: 'default', apiKeySha256: [hashApiKey(E2E_API_KEY)] }],
    admin: { apiKeySha256: [hashApiKey(ADMIN_KEY)] },
    dispatch: { pollMs: 10, leaseMs: 5_000, retry: { baseMs: 50, capMs: 200, maxAttempts: 3 } },
    pools: [
      {
        id: 'promo',
        senderType: 'toll_free',
        // Lists OTP too: the router must still never send an OTP through a marketing pool.
        purposes: ['marketing', 'otp'],
        countries: ['US'],
        priority: 1,
        numbers: [
          {
            address: PROMO,
            mps: 50,
            registration: { kind: 'toll_free_verification', id: 'TF1', status: 'approved' },
          },
        ],
      },
      {
        id: 'tx',
        senderType: 'long_code',
        purposes: ['otp', 'transactional'],
        countries: ['US'],
        priority: 50,
        numbers: [{ address: TX, mps: 50, registration: approved10dlc }],
      },
      {
        id: 'chat',
        senderType: 'long_code',
        purposes: ['conversational'],
        countries: ['US'],
        geomatch: 'area_code',
        numbers: CHAT.map((address) => ({ address, mps: 50, registration: approved10dlc })),
      },
      {
        id: 'mms',
        senderType: 'long_code',
        channel: 'mms',
        purposes: ['transactional', 'marketing'],
        countries: ['US'],
        numbers: [{ address: MMS, mps: 50, registration: approved10dlc }],
      },
      {
        id: 'unregistered',
        senderType: 'long_code',
        purposes: ['transactional'],
        countries: ['CA'],
        numbers: [{ address: UNREGISTERED, mps: 50 }],
      },
      {
        id: 'wa',
        senderType: 'whatsapp',
        channel: 'whatsapp',
        purposes: ['transactional', 'conversational', 'otp'],
        countries: ['*'],
        numbers: [{ address: WHATSAPP, mps: 50 }],
      },
      {
        id: 'intl',
        senderType: 'alphanumeric',
        purposes: ['transactional'],
        countries: ['GB'],
        numbers: [{ address: ALPHA, mps: 50 }],
      },
    ],
    templates: [
      {
        id: 'order-update',
        purpose: 'transactional',
        versions: [
          {
            version: 1,
            locale: 'en',
            status: 'approved',
            body: 'Order {{1}} is on its way',
            contentSid: CONTENT_SID,
          },
        ],
      },
      {
        id: 'otp-code',
        purpose: 'otp',
        versions: [
          { version: 1, locale: 'en', status: 'approved', body: 'Your code is {{code}}' },
          { version: 2, locale: 'en', status: 'pending', body: 'Code: {{code}}' },
          { version: 1, locale: 'es', status: 'approved', body: 'Tu codigo es {{code}}' },
        ],
      },
    ],
    policy: {
      content: { urlAllowlist: ['example.com'] },
      quietHours: { enabled: false },
      media: { timeoutMs: 1_000 },
      spikeProtection: { homeCountries: ['US', 'CA'], perMinute: 3 },
      caps: { dailySpendUsd: { US: 0.02 }, prices: { US: 0.0079 } },
    },
  };
  return { ...base, ...over };
}

describe.each(backends())('policies through the full pipeline on $name', (backend) => {
  let sim: Simulator;
  let gw: Gateway;
  let dir: ReturnType<typeof tempDir>;
  let configFile: string;
  let dbUrl: string;
  let port: number;
  let offset = 0;
  const clock = () => Date.now() + offset;
  const logger = createLogger({ level: 'silent' });

  const writeConfig = (over: Partial<GatewayConfigInput> = {}) =>
    writeFileSync(configFile, stringify(gatewayConfig(port, sim, dbUrl, over)));
  const start = async () =>
    startGateway(loadGatewayConfig({ configFile }, {}), {
      logger,
      clock,
      reloadConfig: () => loadGatewayConfig({ configFile }, {}),
    });
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    key = E2E_API_KEY,
  ): Promise<{ status: number; json: T }> => {
    const res = await gw.app.inject({
      method: method as 'GET',
      url: path,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: (res.body ? res.json() : {}) as T };
  };
  type Answer = ApiMessage & {
    channel: string;
    policyReason: string | null;
    notBefore: string | null;
    template: { id: string; version: number } | null;
    error?: { code: string; reason?: string; field?: string; message: string };
  };
  const send = (body: Record<string, unknown>) => call<Answer>('POST', '/v1/messages', body);
  const get = async (id: string) => (await call<Answer>('GET', `/v1/messages/${id}`)).json;
  const settled = (
    id: string,
    ok: (m: Answer) => boolean = (m) => m.status !== 'queued' && m.status !== 'sending',
  ) => waitFor(() => get(id), ok, 20_000, 25);
  const atSim = async (to: string) =>
    (await inspected(sim)).filter((m) => m.to === to || m.to === `whatsapp:${to}`);
  const inbound = (from: string, to: string, body: string) =>
    admin(sim, 'POST', '/sim/inbound', { from, to, body });

  beforeAll(async () => {
    dir = tempDir('sb-policy-');
    configFile = join(dir.path, 'switchboard.yaml');
    dbUrl = await backend.url();
    [port] = (await freePorts(1)) as [number];
    const inboundUrl = `http://127.0.0.1:${port}/webhooks/twilio/inbound`;
    sim = await startSimulator({
      seed: 77,
      config: {
        senders: [
          ...[TX, ...CHAT, MMS].map((address) => ({
            address,
            type: 'long_code' as const,
            mps: 1_000,
            smsUrl: inboundUrl,
          })),
          {
            address: UNREGISTERED,
            type: 'long_code' as const,
            mps: 1_000,
            registered: false,
            smsUrl: inboundUrl,
          },
          { address: PROMO, type: 'toll_free' as const, mps: 1_000, smsUrl: inboundUrl },
          { address: WHATSAPP, type: 'whatsapp' as const, mps: 1_000, smsUrl: inboundUrl },
          { address: ALPHA, type: 'alphanumeric' as const, country: 'GB', mps: 1_000 },
        ],
        carriers: FAST_RELIABLE_US,
        whatsapp: { templates: [{ sid: CONTENT_SID, name: 'order_update', language: 'en' }] },
      },
    });
    writeConfig();
    gw = await start();
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    await backend.cleanup();
    dir?.remove();
  }, 60_000);

  it('refuses a shortener link at intake with its reason, and the provider never sees it', async () => {
    const before = (await inspected(sim)).length;
    const res = await send({ to: nyc(1), body: 'Your order: https://bit.ly/3xYz', purpose: 'transactional' });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({
      code: 'SB_POLICY_REFUSED',
      reason: 'url_shortener',
      field: 'body',
    });
    const own = await send({
      to: nyc(1),
      body: 'Your order: https://shop.example.com/o/1',
      purpose: 'transactional',
    });
    expect(own.status).toBe(202);
    await settled(own.json.id);
    expect((await inspected(sim)).length).toBe(before + 1);
  });

  it('never routes an OTP to a pool that carries marketing, even one listed first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send({ to: nyc(10 + i), body: `code ${i}`, purpose: 'otp' });
      expect(res.status).toBe(202);
      expect(res.json.pool).toBe('tx');
      ids.push(res.json.id);
    }
    for (const id of ids) expect((await settled(id)).sender).toBe(TX);
    const marketing = await send({ to: nyc(15), body: 'Sale! Reply STOP to opt out', purpose: 'marketing' });
    expect(marketing.json.pool).toBe('promo');
  });

  it('keeps one sender for ten conversational messages to one user, across a restart', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await send({
        to: nyc(20 + (i % 2)),
        body: `chat ${i}`,
        purpose: 'conversational',
        userId: 'user-42',
      });
      expect(res.status).toBe(202);
      ids.push(res.json.id);
    }
    const senders = new Set<string | null>();
    for (const id of ids) senders.add((await settled(id)).sender);
    expect(senders.size).toBe(1);
    const [sender] = [...senders];
    // Geomatch: a New York recipient gets the pool's New York number.
    expect(sender).toBe('+12125550102');
    // Users elsewhere in the country spread over the pool's numbers.
    const others = new Set<string | null>();
    for (let u = 0; u < 12; u++) {
      const res = await send({
        to: denver(u),
        body: `hello ${u}`,
        purpose: 'conversational',
        userId: `other-${u}`,
      });
      others.add((await settled(res.json.id)).sender);
    }
    expect(others.size).toBeGreaterThan(1);

    await gw.stop();
    gw = await start();
    const after = await send({
      to: nyc(20),
      body: 'after restart',
      purpose: 'conversational',
      userId: 'user-42',
    });
    expect((await settled(after.json.id)).sender).toBe(sender);
  });

  it('refuses sends to a recipient who replied STOP, without calling the provider, until START', async () => {
    const r = nyc(40);
    const first = await send({ to: r, body: 'first', purpose: 'transactional' });
    expect((await settled(first.json.id)).status).not.toBe('failed');
    const stop = await inbound(r, TX, 'STOP');
    expect(stop.status).toBe(200);
    // The webhook answered once the event was stored; the opt-out is applied right after.
    await waitFor(
      () =>
        gw.db.kysely
          .selectFrom('opt_outs')
          .select(['scope', 'opted_out'])
          .where('recipient', '=', r)
          .execute(),
      (rows) => rows.length === 1,
      5_000,
    );
    const res = await send({ to: r, body: 'after stop', purpose: 'transactional' });
    const refused = await settled(res.json.id);
    expect(refused).toMatchObject({
      status: 'failed',
      errorCode: 'SB_POLICY_REFUSED',
      policyReason: 'recipient_opted_out',
      attempts: 0,
      providerSid: null,
    });
    expect((await atSim(r)).map((m) => m.body)).not.toContain('after stop');

    const help = await inbound(r, TX, 'help');
    expect(help.json.replies).toEqual([
      expect.objectContaining({ from: TX, to: r, body: expect.stringContaining('Reply STOP') }),
    ]);

    await inbound(r, TX, 'START');
    const again = await waitFor(
      async () => settled((await send({ to: r, body: 'after start', purpose: 'transactional' })).json.id),
      (m) => m.status !== 'failed',
      10_000,
      100,
    );
    expect(again.providerSid).not.toBeNull();
  });

  it('refuses a message whose only sender is an unregistered US number', async () => {
    const before = (await inspected(sim)).length;
    const res = await send({ to: '+14165550123', body: 'hello Toronto', purpose: 'transactional' });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'SB_POLICY_REFUSED', reason: 'sender_unregistered' });
    expect((await inspected(sim)).length).toBe(before);
  });

  it('falls back to SMS for a WhatsApp message outside the 24-hour window, and uses WhatsApp inside it', async () => {
    const r = nyc(60);
    const outside = await send({
      to: `whatsapp:${r}`,
      channel: 'whatsapp',
      body: 'your parcel',
      purpose: 'transactional',
    });
    expect(outside.status).toBe(202);
    const fell = await settled(outside.json.id);
    expect(fell).toMatchObject({
      channel: 'sms',
      pool: 'tx',
      policyReason: 'whatsapp_fallback_sms',
      sender: TX,
    });
    expect((await atSim(r)).map((m) => m.from)).toEqual([TX]);

    await inbound(`whatsapp:${r}`, WHATSAPP, 'hi there');
    const inside = await waitFor(
      async () =>
        settled(
          (await send({ to: `whatsapp:${r}`, channel: 'whatsapp', body: 'reply', purpose: 'conversational' }))
            .json.id,
        ),
      (m) => m.channel === 'whatsapp' && m.providerSid !== null,
      10_000,
      100,
    );
    expect(inside.sender).toBe(WHATSAPP);
  });

  it('sends an approved WhatsApp Content template outside the session window, with its ContentSid', async () => {
    const r = nyc(65);
    const res = await send({
      to: `whatsapp:${r}`,
      channel: 'whatsapp',
      purpose: 'transactional',
      template: { id: 'order-update', variables: { '1': 'A-17' } },
    });
    expect(res.status).toBe(202);
    const m = await settled(res.json.id);
    expect(m).toMatchObject({ channel: 'whatsapp', sender: WHATSAPP, policyReason: null });
    expect(m.providerSid).not.toBeNull();
    expect((await atSim(r)).map((x) => x.from)).toEqual([WHATSAPP]);
  });

  it('defers marketing and sends OTP over SMS while the brownout switches are on', async () => {
    await call('PUT', '/v1/admin/brownout', { deferMarketing: true, otpWhatsappToSms: true }, ADMIN_KEY);
    try {
      const promo = await send({
        to: nyc(66),
        body: 'Flash sale. Reply STOP to opt out',
        purpose: 'marketing',
      });
      expect(promo.json).toMatchObject({ status: 'queued', policyReason: 'brownout_deferred' });
      expect(Date.parse(promo.json.notBefore!) - Date.now()).toBeGreaterThan(30_000);
      const otp = await send({
        to: `whatsapp:${nyc(67)}`,
        channel: 'whatsapp',
        body: 'code 4242',
        purpose: 'otp',
      });
      expect(otp.json).toMatchObject({ channel: 'sms', pool: 'tx', policyReason: 'brownout_otp_sms' });
      expect((await settled(otp.json.id)).sender).toBe(TX);
      await new Promise((r) => setTimeout(r, 200));
      expect(await atSim(nyc(66))).toHaveLength(0);
    } finally {
      await call('PUT', '/v1/admin/brownout', { deferMarketing: false, otpWhatsappToSms: false }, ADMIN_KEY);
    }
  });

  it('renders only approved template versions and stores the template and a hash, not the body', async () => {
    const res = await send({
      to: nyc(70),
      purpose: 'otp',
      template: { id: 'otp-code', variables: { code: '123456' } },
    });
    expect(res.status).toBe(202);
    expect(res.json.body).toBeNull();
    expect(res.json.template).toEqual({
      id: 'otp-code',
      version: 1,
      locale: expect.any(String),
      variables: { code: '123456' },
    });
    await settled(res.json.id);
    expect((await atSim(nyc(70))).map((m) => m.body)).toEqual(['Your code is 123456']);

    const pending = await send({
      to: nyc(71),
      purpose: 'otp',
      template: { id: 'otp-code', version: 2, variables: { code: '1' } },
    });
    expect(pending.json.error).toMatchObject({ reason: 'template_not_approved' });
    const missing = await send({
      to: nyc(71),
      purpose: 'otp',
      template: { id: 'otp-code', variables: { pin: '1' } },
    });
    expect(missing.json.error).toMatchObject({ reason: 'template_variables_mismatch' });
    const spanish = await send({
      to: nyc(72),
      purpose: 'otp',
      template: { id: 'otp-code', locale: 'es-MX', variables: { code: '9' } },
    });
    await settled(spanish.json.id);
    expect((await atSim(nyc(72))).map((m) => m.body)).toEqual(['Tu codigo es 9']);
    const stored = await gw.db.kysely
      .selectFrom('messages')
      .select(['body', 'body_hash', 'template_id', 'template_version', 'template_locale'])
      .where('id', '=', spanish.json.id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({
      body: null,
      body_hash: createHash('sha256').update('Tu codigo es 9').digest('hex'),
      template_id: 'otp-code',
      template_version: 1,
      template_locale: 'es',
    });
  });

  it('fails an MMS whose media URL is unreachable, and sends media as text under the brownout switch', async () => {
    const bad = await send({
      to: nyc(80),
      channel: 'mms',
      body: 'see picture',
      mediaUrls: ['https://127.0.0.1:1/pic.png'],
      purpose: 'transactional',
    });
    expect(bad.status).toBe(202);
    expect(await settled(bad.json.id)).toMatchObject({
      status: 'failed',
      policyReason: 'media_invalid',
      attempts: 0,
    });
    expect(await atSim(nyc(80))).toHaveLength(0);

    const forbidden = await call('PUT', '/v1/admin/brownout', { mmsAsText: true });
    expect(forbidden.status).toBe(403);
    const unknown = await call<{ error: { code: string; field?: string } }>(
      'PUT',
      '/v1/admin/brownout',
      { mmsAsText: true, nope: true },
      ADMIN_KEY,
    );
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 'SB_INTAKE_INVALID_FIELD', field: 'nope' });
    // Switches a change leaves out keep their state (no defaults applied to them).
    await call('PUT', '/v1/admin/brownout', { deferMarketing: true }, ADMIN_KEY);
    const both = await call('PUT', '/v1/admin/brownout', { mmsAsText: true }, ADMIN_KEY);
    expect(both.json).toMatchObject({ switches: { deferMarketing: true, mmsAsText: true } });
    const on = await call('PUT', '/v1/admin/brownout', { deferMarketing: false }, ADMIN_KEY);
    expect(on.json).toMatchObject({ switches: { mmsAsText: true } });
    try {
      const text = await send({
        to: nyc(81),
        channel: 'mms',
        body: 'see picture',
        mediaUrls: ['https://127.0.0.1:1/pic.png'],
        purpose: 'transactional',
      });
      expect(text.json).toMatchObject({ channel: 'sms', policyReason: 'mms_as_text' });
      expect((await settled(text.json.id)).providerSid).not.toBeNull();
    } finally {
      await call('PUT', '/v1/admin/brownout', { mmsAsText: false }, ADMIN_KEY);
    }
  });

  it('defers marketing past the daily spend cap instead of dropping it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send({
        to: nyc(90 + i),
        body: `Offer ${i}. Reply STOP to opt out`,
        purpose: 'marketing',
      });
      ids.push(res.json.id);
    }
    // $0.02 a day at $0.0079 a segment: two one-segment messages fit (one went out earlier).
    const outcomes = await Promise.all(
      ids.map((id) => settled(id, (m) => m.providerSid !== null || m.policyReason === 'daily_spend_cap')),
    );
    const deferred = outcomes.filter((m) => m.policyReason === 'daily_spend_cap');
    expect(outcomes.length - deferred.length).toBeGreaterThanOrEqual(1);
    expect(deferred.length).toBeGreaterThanOrEqual(1);
    const nextDay = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
    for (const m of deferred) {
      expect(m.status).toBe('queued');
      expect(Date.parse(m.notBefore!)).toBe(nextDay);
    }
  });

  it('blocks a country after a spike and raises the alert metric; an operator lifts the block', async () => {
    const results: Answer[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send({ to: uk(i), body: `uk ${i}`, purpose: 'transactional' });
      if (res.status === 202) results.push(await settled(res.json.id));
      else results.push({ ...res.json, status: String(res.status) } as Answer);
    }
    const blocked = results.filter(
      (m) => m.policyReason === 'country_blocked' || m.error?.reason === 'country_blocked',
    );
    expect(blocked.length).toBeGreaterThanOrEqual(2);
    expect(results.slice(0, 3).every((m) => m.providerSid)).toBe(true);
    const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/sb_country_blocked\{country="GB"\} 1/);
    const state = await call<{ blockedCountries: string[] }>('GET', '/v1/admin/policy', undefined, ADMIN_KEY);
    expect(state.json.blockedCountries).toContain('GB');
    const lifted = await call<{ blockedCountries: string[] }>(
      'DELETE',
      '/v1/admin/country-blocks/GB',
      undefined,
      ADMIN_KEY,
    );
    expect(lifted.json.blockedCountries).not.toContain('GB');
  });

  it('rejects a broken config reload with the file, line and reason, and keeps the running config', async () => {
    writeFileSync(
      configFile,
      stringify(gatewayConfig(port, sim, dbUrl)).replace('urlAllowlist:\n', 'urlAllowlist: 17\n  bogus:\n'),
    );
    const res = await call<{ error: { code: string; message: string } }>(
      'POST',
      '/v1/admin/config/reload',
      undefined,
      ADMIN_KEY,
    );
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('SB_ADMIN_RELOAD_REJECTED');
    expect(res.json.error.message).toMatch(/switchboard\.yaml:\d+/);
    expect(res.json.error.message).toMatch(/urlAllowlist/);
    // Still in force: the shortener is still refused, the own domain still allowed.
    expect((await send({ to: nyc(99), body: 'https://bit.ly/x', purpose: 'transactional' })).status).toBe(
      422,
    );
    writeConfig({
      policy: { ...gatewayConfig(port, sim, dbUrl).policy, content: { urlAllowlist: ['example.org'] } },
    });
    const ok = await call('POST', '/v1/admin/config/reload', undefined, ADMIN_KEY);
    expect(ok.status).toBe(200);
    const now = await send({ to: nyc(99), body: 'see https://example.com/x', purpose: 'transactional' });
    expect(now.json.error).toMatchObject({ reason: 'url_not_allowed' });
    writeConfig();
    await gw.reload();
  });

  // Last: moving the clock forward books pacing slots in the future for the pool it sends from.
  it('defers marketing inside the recipient\u2019s quiet hours and sends it when they end', async () => {
    const now = Date.now();
    writeConfig({
      policy: {
        ...gatewayConfig(port, sim, dbUrl).policy,
        quietHours: {
          enabled: true,
          start: newYorkClock(now, -5 * 60_000),
          end: newYorkClock(now, 60 * 60_000),
        },
        caps: {},
      },
    });
    await gw.reload();
    const res = await send({
      to: nyc(50),
      body: 'Weekend sale. Reply STOP to opt out',
      purpose: 'marketing',
    });
    expect(res.status).toBe(202);
    expect(res.json.policyReason).toBe('quiet_hours');
    const due = Date.parse(res.json.notBefore!);
    expect(due - now).toBeGreaterThan(55 * 60_000);
    expect(due - now).toBeLessThanOrEqual(61 * 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(res.json.id)).status).toBe('queued');
    expect(await atSim(nyc(50))).toHaveLength(0);

    offset = due - Date.now() + 1_000; // the quiet hours are over
    try {
      const sent = await settled(res.json.id);
      expect(sent.providerSid).not.toBeNull();
      expect(await atSim(nyc(50))).toHaveLength(1);
    } finally {
      offset = 0;
      writeConfig();
      await gw.reload();
    }
  });
});
