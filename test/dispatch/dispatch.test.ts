import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchPolicy } from '../../src/queue/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Db } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import { enqueue, simDispatcher, testPool } from '../support/dispatch-harness.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

const SENDER = '+14155550100';

describe.each(backends())('dispatch on $name', (backend) => {
  let db: Db;
  let sim: Simulator;
  beforeAll(async () => {
    db = await backend.open();
    sim = await startSimulator({
      seed: 21,
      config: {
        senders: [{ address: SENDER, type: 'long_code', mps: 10_000 }],
        carriers: FAST_RELIABLE_US,
        callbacks: { statuses: [] },
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await db.close();
    await backend.cleanup();
  });

  async function statuses() {
    return db.kysely
      .selectFrom('messages')
      .select(['id', 'status', 'provider_sid', 'error_code', 'attempts', 'provider_error_code'])
      .execute();
  }

  it('sends every queued message exactly once and records its provider SID', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({ id: 'fast', numbers: [{ address: SENDER, mps: 2_000 }] });
    const ids = await enqueue(db, pool.id, 300, {}, 'once');
    const { dispatcher, stop } = simDispatcher(db, sim, [pool]);
    dispatcher.start();
    await waitFor(
      statuses,
      (rows) => rows.filter((r) => ids.includes(r.id)).every((r) => r.status === 'submitted'),
      20_000,
      50,
    );
    await stop();
    const atSim = await inspected(sim);
    expect(atSim).toHaveLength(300);
    expect(new Set(atSim.map((m) => m.body)).size).toBe(300);
    const rows = (await statuses()).filter((r) => ids.includes(r.id));
    expect(new Set(rows.map((r) => r.provider_sid)).size).toBe(300);
    expect(new Set(atSim.map((m) => m.sid))).toEqual(new Set(rows.map((r) => r.provider_sid)));
  });

  it('records each attempt ahead of its paced slot but calls the provider only at the slot', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({ id: 'lead', numbers: [{ address: SENDER, mps: 10 }] });
    const ids = await enqueue(db, pool.id, 8, {}, 'lead');
    // A long lead: without the wait for the slot, calls would go out up to 400 ms early.
    const { dispatcher, stop, metrics } = simDispatcher(db, sim, [pool], { prepareLeadMs: 400 });
    dispatcher.start();
    const rows = await waitFor(
      statuses,
      (r) => r.filter((x) => ids.includes(x.id)).every((x) => x.status === 'submitted'),
      20_000,
      50,
    );
    await stop();
    const attempts = await db.kysely
      .selectFrom('message_attempts')
      .select(['message_id', 'started_at'])
      .where('message_id', 'in', ids)
      .execute();
    expect(attempts).toHaveLength(8);
    // An attempt starts at its slot (or later, when its write ran late): the provider was never
    // called before that, though the attempt was recorded up to 400 ms ahead.
    const calledAt = new Map((await inspected(sim)).map((m) => [m.sid, m.createdAt]));
    const sidOf = new Map(rows.map((r) => [r.id, r.provider_sid]));
    for (const a of attempts) {
      expect(calledAt.get(sidOf.get(a.message_id)!)).toBeGreaterThanOrEqual(Number(a.started_at));
    }
    // And the calls kept the pace: 8 at 10 MPS (burst 1) take at least 600 ms.
    const calls = [...calledAt.values()];
    expect(Math.max(...calls) - Math.min(...calls)).toBeGreaterThanOrEqual(590);
    const lateness = (await metrics.sendLateness.get()).values.find(
      (v) => v.metricName === 'sb_dispatch_send_lateness_seconds_count',
    );
    expect(lateness?.value).toBe(8);
  });

  it('spreads calls that an event-loop stall made late back out to the number\u2019s pace', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({ id: 'stall', numbers: [{ address: SENDER, mps: 10 }] });
    const ids = await enqueue(db, pool.id, 12, {}, 'stall');
    const { dispatcher, stop } = simDispatcher(db, sim, [pool]);
    dispatcher.start();
    await waitFor(statuses, (r) => r.some((x) => ids.includes(x.id) && x.status === 'submitted'), 10_000, 5);
    // The event loop stalls for 700 ms: the slots of about seven messages pass meanwhile.
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // busy: nothing else runs
    }
    await waitFor(
      statuses,
      (r) => r.filter((x) => ids.includes(x.id)).every((x) => x.status === 'submitted'),
      20_000,
      50,
    );
    await stop();
    const calls = (await inspected(sim)).map((m) => m.createdAt).sort((a, b) => a - b);
    expect(calls).toHaveLength(12);
    // At 10 MPS with burst 1 the spacing allows two calls back to back, never three: any three
    // calls in a row span an interval (100 ms; 20 ms off for timer and HTTP jitter).
    for (let i = 0; i + 2 < calls.length; i++) expect(calls[i + 2]! - calls[i]!).toBeGreaterThanOrEqual(80);
  });

  it('fails a permanently rejected message at once with the provider code', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({ id: 'perm', numbers: [{ address: SENDER, mps: 1_000 }] });
    const [id] = await enqueue(db, pool.id, 1, { recipient: '+5352345678', country: 'CU' }, 'perm');
    const { dispatcher, stop } = simDispatcher(db, sim, [pool]);
    dispatcher.start();
    const rows = await waitFor(statuses, (r) => r.find((x) => x.id === id)?.status === 'failed', 10_000);
    await stop();
    expect(rows.find((x) => x.id === id)).toMatchObject({
      error_code: 'SB_PROVIDER_REJECTED',
      provider_error_code: 21408,
      attempts: 1,
    });
  });

  it('runs the policy check only for messages it sends, never for one it dead-letters', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({ id: 'checked', numbers: [{ address: SENDER, mps: 1_000 }] });
    const [exhausted] = await enqueue(db, pool.id, 1, {}, 'exhausted');
    const [fresh] = await enqueue(db, pool.id, 1, {}, 'fresh');
    await db.kysely
      .updateTable('messages')
      .set({ attempts: 6, error_code: 'SB_PROVIDER_UNAVAILABLE' })
      .where('id', '=', exhausted!)
      .execute();
    const checked: string[] = [];
    const policy: DispatchPolicy = {
      pools: [pool],
      selector: () => undefined,
      check: async (row) => {
        checked.push(row.id);
        return { kind: 'send', body: row.body, mediaUrls: [], contentSid: null, contentVariables: null };
      },
    };
    const { dispatcher, stop } = simDispatcher(db, sim, [pool], {}, undefined, policy);
    dispatcher.start();
    await waitFor(
      statuses,
      (rows) =>
        rows.some((r) => r.id === exhausted && r.status === 'dead') &&
        rows.some((r) => r.id === fresh && r.status === 'submitted'),
      10_000,
      50,
    );
    await stop();
    // The check reserves caps and counters: a dead letter must not use them up.
    expect(checked).toEqual([fresh]);
    // Dead-lettered with the last error it had (no message stored: its code).
    const dead = await db.kysely
      .selectFrom('messages')
      .select(['error_code', 'error_message'])
      .where('id', '=', exhausted!)
      .executeTakeFirstOrThrow();
    expect(dead).toEqual({
      error_code: 'SB_QUEUE_RETRIES_EXHAUSTED',
      error_message: 'gave up after 6 attempts: SB_PROVIDER_UNAVAILABLE',
    });
  });

  it('claims new work at once when told of it, however long it has been idle', async () => {
    await admin(sim, 'POST', '/sim/reset');
    const pool = testPool({ id: 'idle', numbers: [{ address: SENDER, mps: 1_000 }] });
    // Empty claims double the pause from 10 ms; left alone it would reach a minute.
    const { dispatcher, stop } = simDispatcher(db, sim, [pool], { maxIdlePollMs: 60_000 });
    dispatcher.start();
    try {
      // Idle for 1.5 s: the pause under way is then 1.28 s long, ending about 1 s later.
      await new Promise((r) => setTimeout(r, 1_500));
      const [id] = await enqueue(db, pool.id, 1, {}, 'idle');
      const told = Date.now();
      dispatcher.notifyWork();
      await waitFor(statuses, (r) => r.find((x) => x.id === id)?.status === 'submitted', 10_000, 10);
      expect(Date.now() - told).toBeLessThan(800);
    } finally {
      await stop();
    }
  });

  it('reconciles lost responses instead of resending: no duplicates at the simulator', async () => {
    await admin(sim, 'POST', '/sim/reset');
    await admin(sim, 'POST', '/sim/faults', { responseLost: { rate: 0.3, mode: 'reset' } });
    const pool = testPool({ id: 'lost', numbers: [{ address: SENDER, mps: 1_000 }] });
    const ids = await enqueue(db, pool.id, 100, {}, 'lost');
    const { dispatcher, stop, metrics } = simDispatcher(db, sim, [pool]);
    dispatcher.start();
    await waitFor(
      statuses,
      (rows) => rows.filter((r) => ids.includes(r.id)).every((r) => r.status === 'submitted'),
      20_000,
      50,
    );
    await stop();
    await admin(sim, 'DELETE', '/sim/faults');
    const atSim = await inspected(sim);
    expect(atSim.some((m) => m.responseLost)).toBe(true);
    expect(atSim).toHaveLength(100);
    expect(new Set(atSim.map((m) => m.body)).size).toBe(100);
    const adopted = (await metrics.reconciliations.get()).values.find((v) => v.labels.result === 'adopted');
    expect(adopted?.value).toBeGreaterThan(0);
  });
});
