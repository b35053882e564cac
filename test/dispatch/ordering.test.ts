import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Db } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import { enqueue, simDispatcher, testPool } from '../support/dispatch-harness.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

describe.each(backends())('ordering on $name', (backend) => {
  let db: Db;
  let sim: Simulator;
  beforeAll(async () => {
    db = await backend.open();
    sim = await startSimulator({
      seed: 31,
      config: {
        senders: ['+14155550100', '+14155550101', '+12125550102'].map((address) => ({
          address,
          type: 'long_code' as const,
          mps: 10_000,
        })),
        carriers: FAST_RELIABLE_US,
        callbacks: { statuses: [] },
        faults: { latencyMs: 15 },
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await db.close();
    await backend.cleanup();
  });

  it('sends OTPs to one recipient in order, never two in flight, while marketing runs in parallel', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({
      id: `ord-${backend.name}`,
      numbers: ['+14155550100', '+14155550101', '+12125550102'].map((address) => ({ address, mps: 1_000 })),
    });
    const recipient = '+14155557777';
    const otp = await enqueue(
      db,
      pool.id,
      12,
      { purpose: 'otp', recipient, orderKey: `t1:${recipient}` },
      'otp',
    );
    const mkt = await enqueue(db, pool.id, 60, { purpose: 'marketing' }, 'mkt');
    const { dispatcher, stop } = simDispatcher(db, sim, [pool]);
    dispatcher.start();
    const rows = () =>
      db.kysely.selectFrom('messages').select(['id', 'status']).where('pool_id', '=', pool.id).execute();
    await waitFor(rows, (r) => r.every((x) => x.status === 'submitted'), 30_000, 50);
    await stop();

    const atSim = await inspected(sim);
    const otpAtSim = atSim
      .filter((m) => m.to === recipient)
      .sort((a, b) => a.createdAt - b.createdAt || a.sid.localeCompare(b.sid));
    expect(otpAtSim.map((m) => m.body)).toEqual(otp.map((_, i) => `otp message ${i}`));
    // One sender for the recipient keeps the provider's per-sender FIFO in order too.
    expect(new Set(otpAtSim.map((m) => m.from)).size).toBe(1);

    // Never two in flight: each attempt starts after the previous one finished.
    const attempts = await db.kysely
      .selectFrom('message_attempts')
      .select(['message_id', 'started_at', 'finished_at'])
      .where('message_id', 'in', otp)
      .orderBy('started_at')
      .execute();
    expect(attempts).toHaveLength(12);
    for (let i = 1; i < attempts.length; i++)
      expect(attempts[i]!.started_at).toBeGreaterThanOrEqual(attempts[i - 1]!.finished_at!);

    // Marketing overlapped: some attempts started before others finished.
    const mktAttempts = await db.kysely
      .selectFrom('message_attempts')
      .select(['started_at', 'finished_at'])
      .where('message_id', 'in', mkt)
      .orderBy('started_at')
      .execute();
    const overlapping = mktAttempts.filter(
      (a, i) => i > 0 && a.started_at < mktAttempts[i - 1]!.finished_at!,
    ).length;
    expect(overlapping).toBeGreaterThan(10);
  }, 40_000);
});
