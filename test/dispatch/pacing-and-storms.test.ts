import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Db } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import { enqueue, simDispatcher, testPool } from '../support/dispatch-harness.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

const [sqlite] = backends();

/** The most events in any one-second window. */
function maxPerSecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let lo = 0;
  let best = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= 1000) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('pacing and retry storms (SQLite)', () => {
  let db: Db;
  let sim: Simulator;
  beforeAll(async () => {
    db = await sqlite!.open();
    sim = await startSimulator({
      seed: 8,
      config: {
        senders: ['+14155550100', '+14155550101', '+12125550102', '+14155550199'].map((address) => ({
          address,
          type: 'long_code' as const,
          mps: 1_000,
        })),
        carriers: FAST_RELIABLE_US,
        callbacks: { statuses: [] },
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await db.close();
    await sqlite!.cleanup();
  });

  it('a 20 MPS pool sends 600 messages with no one-second window above MPS + burst and no 429', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const burst = 2;
    const pool = testPool({
      id: 'p20',
      mps: 20,
      burst,
      numbers: [
        { address: '+14155550100', mps: 10 },
        { address: '+14155550101', mps: 10 },
      ],
    });
    const ids = await enqueue(db, pool.id, 600, {}, 'pace');
    const { dispatcher, stop, metrics } = simDispatcher(db, sim, [pool]);
    const started = Date.now();
    dispatcher.start();
    const rows = () =>
      db.kysely.selectFrom('messages').select(['id', 'status']).where('pool_id', '=', pool.id).execute();
    await waitFor(
      rows,
      (r) => r.filter((x) => ids.includes(x.id) && x.status === 'submitted').length === 600,
      45_000,
      200,
    );
    const elapsed = (Date.now() - started) / 1000;
    await stop();
    const atSim = await inspected(sim);
    expect(atSim).toHaveLength(600);
    const times = atSim.map((m) => m.createdAt);
    // The schedule allows MPS + burst in any second; a send whose timer fires a few ms late
    // (measured: the first of the burst, 2 ms) lets a window reach one more at the simulator.
    const timerJitter = 1;
    expect(maxPerSecond(times)).toBeLessThanOrEqual(20 + burst + timerJitter);
    for (const n of ['+14155550100', '+14155550101']) {
      expect(maxPerSecond(atSim.filter((m) => m.from === n).map((m) => m.createdAt))).toBeLessThanOrEqual(
        10 + burst + timerJitter,
      );
    }
    expect(elapsed).toBeGreaterThan(600 / 20 - 2);
    expect(elapsed).toBeLessThan(600 / 20 + 5);
    const limited = await metrics.rateLimited.get();
    expect(limited.values.reduce((s, v) => s + v.value, 0)).toBe(0);
  }, 60_000);

  it('ends a 429 storm and a 5xx burst with every message delivered or dead-lettered with its reason, retries spread out', async () => {
    await admin(sim, 'POST', '/sim/reset');
    await admin(sim, 'POST', '/sim/faults', {
      rest429: { rate: 0.6, durationMs: 2_500 },
      rest5xx: { rate: 0.2, durationMs: 2_500, status: 503 },
    });
    const pool = testPool({ id: 'storm', numbers: [{ address: '+12125550102', mps: 500 }] });
    const ids = await enqueue(db, pool.id, 200, {}, 'storm');
    const { dispatcher, stop, metrics } = simDispatcher(db, sim, [pool], {
      retry: { baseMs: 100, capMs: 1_500, maxAttempts: 5 },
    });
    dispatcher.start();
    const rows = () =>
      db.kysely
        .selectFrom('messages')
        .select(['id', 'status', 'error_code', 'error_message', 'attempts'])
        .where('pool_id', '=', pool.id)
        .execute();
    const final = await waitFor(
      rows,
      (r) =>
        r.filter((x) => ids.includes(x.id)).every((x) => x.status === 'submitted' || x.status === 'dead'),
      40_000,
      100,
    );
    await stop();
    const dead = final.filter((r) => r.status === 'dead');
    for (const d of dead) {
      expect(d.error_code).toBe('SB_QUEUE_RETRIES_EXHAUSTED');
      expect(d.error_message).toMatch(/gave up after \d+ attempts/);
    }
    const atSim = await inspected(sim);
    // Exactly one message at the simulator per submitted row; none for dead-lettered ones.
    expect(atSim).toHaveLength(final.filter((r) => r.status === 'submitted').length);
    expect(new Set(atSim.map((m) => m.body)).size).toBe(atSim.length);
    const retries = (await metrics.retries.get()).values.reduce((s, v) => s + v.value, 0);
    expect(retries).toBeGreaterThan(50);

    // Retry times spread: the attempts' start times after the first do not bunch into waves.
    const attempts = await db.kysely
      .selectFrom('message_attempts')
      .select(['started_at', 'attempt'])
      .where('message_id', 'in', ids)
      .where('attempt', '>', 1)
      .execute();
    const buckets = new Map<number, number>();
    for (const a of attempts)
      buckets.set(Math.floor(a.started_at / 100), (buckets.get(Math.floor(a.started_at / 100)) ?? 0) + 1);
    const busiest = Math.max(...buckets.values());
    expect(buckets.size).toBeGreaterThan(10);
    expect(busiest / attempts.length).toBeLessThan(0.25);
  }, 60_000);
});
