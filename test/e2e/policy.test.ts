import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import { inspected, waitFor } from '../support/sim-client.ts';
import { ADMIN_KEY, denver, nyc, TX, usePolicyGateway, WHATSAPP } from './policy-harness.ts';

describe.each(backends())('policies through the full pipeline on $name', (backend) => {
  const h = usePolicyGateway(backend);
  const { call, send, settled, atSim, inbound } = h;

  it('refuses a shortener link at intake with its reason, and the provider never sees it', async () => {
    const before = (await inspected(h.sim)).length;
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
    expect((await inspected(h.sim)).length).toBe(before + 1);
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

    await h.restart();
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
        h.gw.db.kysely
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
    const before = (await inspected(h.sim)).length;
    const res = await send({ to: '+14165550123', body: 'hello Toronto', purpose: 'transactional' });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'SB_POLICY_REFUSED', reason: 'sender_unregistered' });
    expect((await inspected(h.sim)).length).toBe(before);
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
});
