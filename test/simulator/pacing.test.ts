import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { admin, createMessage, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

describe('per-sender throughput at the carrier', () => {
  let sim: Simulator;
  beforeAll(() => {
    sim = createSimulator({
      seed: 11,
      config: {
        senders: [{ address: '+14155550100', type: 'long_code', mps: 5 }],
        carriers: FAST_RELIABLE_US,
      },
    });
  });
  afterAll(() => sim.stop());

  it('spaces 50 messages from one 5 MPS number about 200 ms apart, in order', async () => {
    const sids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await createMessage(sim, {
        To: `+1415555${String(1000 + i)}`,
        From: '+14155550100',
        Body: `pacing ${i}`,
      });
      expect(res.status).toBe(201);
      sids.push(res.json.sid as string);
    }
    const msgs = await waitFor(
      () => inspected(sim),
      (m) => m.filter((x) => x.sentAt !== null).length === 50,
      15_000,
      100,
    );
    const byCarrierTime = msgs.filter((m) => sids.includes(m.sid)).sort((a, b) => a.sentAt! - b.sentAt!);
    expect(byCarrierTime.map((m) => m.sid)).toEqual(sids);
    const gaps = byCarrierTime.slice(1).map((m, i) => m.sentAt! - byCarrierTime[i]!.sentAt!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(195);
    expect(mean).toBeLessThan(215);
    // Never faster than the MPS allows (timer granularity: a millisecond).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(199);
    const stats = (await admin(sim, 'GET', '/sim/stats')).json as {
      senders: Record<string, { maxPerSecond: number }>;
    };
    expect(stats.senders['+14155550100']!.maxPerSecond).toBeLessThanOrEqual(5);
  }, 20_000);
});

describe('sender queue limits', () => {
  it('answers 21611 when the sender queue already holds more than its limit', async () => {
    const clock = new FakeClock();
    const sim = createSimulator({
      seed: 1,
      clock,
      config: {
        api: { queueMaxSeconds: 5 },
        senders: [{ address: '+14155550100', type: 'long_code', mps: 1 }],
      },
    });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await createMessage(sim, { To: '+14155550123', From: '+14155550100', Body: `q${i}` });
      codes.push(res.status === 201 ? 201 : (res.json.code as number));
    }
    expect(codes.slice(0, 5)).toEqual([201, 201, 201, 201, 201]);
    expect(codes.slice(6)).toEqual([21611, 21611]);
    await sim.stop();
  });

  it('fails a message with 30036 when it waits longer than its ValidityPeriod', async () => {
    const clock = new FakeClock();
    const sim = createSimulator({
      seed: 1,
      clock,
      config: {
        senders: [{ address: '+14155550100', type: 'long_code', mps: 1 }],
        carriers: FAST_RELIABLE_US,
      },
    });
    for (let i = 0; i < 5; i++)
      await createMessage(sim, {
        To: '+14155550123',
        From: '+14155550100',
        Body: `v${i}`,
        ValidityPeriod: '2',
      });
    clock.advance(10_000);
    const msgs = await inspected(sim);
    expect(msgs.map((m) => m.errorCode)).toEqual([null, null, null, 30036, 30036]);
    expect(msgs.slice(3).every((m) => m.status === 'failed' && m.sentAt === null)).toBe(true);
    await sim.stop();
  });
});
