import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { backends } from '../support/databases.ts';
import { ADMIN_KEY, type Answer, newYorkClock, nyc, uk, usePolicyGateway } from './policy-harness.ts';

describe.each(backends())('limits, templates and config through the full pipeline on $name', (backend) => {
  const h = usePolicyGateway(backend);
  const { call, send, get, settled, atSim } = h;

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
    const stored = await h.gw.db.kysely
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
    const metrics = await h.gw.app.inject({ method: 'GET', url: '/metrics' });
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
      h.configFile,
      stringify(h.config()).replace('urlAllowlist:\n', 'urlAllowlist: 17\n  bogus:\n'),
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
    h.writeConfig({
      policy: { ...h.config().policy, content: { urlAllowlist: ['example.org'] } },
    });
    const ok = await call('POST', '/v1/admin/config/reload', undefined, ADMIN_KEY);
    expect(ok.status).toBe(200);
    const now = await send({ to: nyc(99), body: 'see https://example.com/x', purpose: 'transactional' });
    expect(now.json.error).toMatchObject({ reason: 'url_not_allowed' });
    h.writeConfig();
    await h.gw.reload();
  });

  // Last: moving the clock forward books pacing slots in the future for the pool it sends from.
  it('defers marketing inside the recipient\u2019s quiet hours and sends it when they end', async () => {
    const now = Date.now();
    h.writeConfig({
      policy: {
        ...h.config().policy,
        quietHours: {
          enabled: true,
          start: newYorkClock(now, -5 * 60_000),
          end: newYorkClock(now, 60 * 60_000),
        },
        caps: {},
      },
    });
    await h.gw.reload();
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

    h.offset = due - Date.now() + 1_000; // the quiet hours are over
    try {
      const sent = await settled(res.json.id);
      expect(sent.providerSid).not.toBeNull();
      expect(await atSim(nyc(50))).toHaveLength(1);
    } finally {
      h.offset = 0;
      h.writeConfig();
      await h.gw.reload();
    }
  });
});
