import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallbackApplier, callbackRoutes, startCallbackApplier } from '../../src/callbacks/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { type Db, STATUS_RANK } from '../../src/store/index.ts';
import { backends, openTestDatabase } from '../support/databases.ts';
import { enqueue, simDispatcher, testPool } from '../support/dispatch-harness.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

const SENDER = '+14155550100';

describe.each(backends())('status callbacks from the simulator on $name', (backend) => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let sim: Simulator;
  let app: FastifyInstance;
  let applier: CallbackApplier;
  let gatewayUrl = '';

  beforeAll(async () => {
    ({ db, close: closeDb } = await openTestDatabase(backend));
    sim = await startSimulator({
      seed: 11,
      config: { senders: [{ address: SENDER, type: 'long_code', mps: 10_000 }], carriers: FAST_RELIABLE_US },
    });
    app = Fastify();
    // The gateway already has the next token; Twilio still signs with the one it replaces.
    await app.register(
      callbackRoutes(
        { db },
        {
          publicUrl: () => gatewayUrl,
          authToken: 'next-token-after-rotation',
          previousAuthToken: sim.authToken,
        },
      ),
    );
    gatewayUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    applier = startCallbackApplier({ db }, { intervalMs: 10, batch: 100, orphanRetryAfterMs: 200 });
  });
  afterAll(async () => {
    // The simulator first: no callback may still be on its way when the gateway closes.
    await sim.stop();
    await app.close();
    await applier.stop();
    await closeDb();
  });

  it('ends every message delivered despite duplicate and reordered callbacks, each stored once', async () => {
    await admin(sim, 'POST', '/sim/faults', { callbackDuplicateRate: 0.3, callbackReorderRate: 0.5 });
    const pool = testPool({ id: 'cb', numbers: [{ address: SENDER, mps: 2_000 }] });
    const ids = await enqueue(db, pool.id, 150, {}, 'cb');
    const { dispatcher, stop } = simDispatcher(db, sim, [pool], {
      statusCallbackUrl: (id) => `${gatewayUrl}/webhooks/twilio/status?mid=${encodeURIComponent(id)}`,
    });
    dispatcher.start();
    const rows = await waitFor(
      () =>
        db.kysely
          .selectFrom('messages')
          .select(['id', 'status', 'provider_sid', 'sent_at', 'final_at'])
          .where('id', 'in', ids)
          .execute(),
      (r) => r.every((m) => m.status === 'delivered'),
      30_000,
      50,
    );
    await stop();

    expect(rows.every((m) => m.provider_sid && m.sent_at !== null && m.final_at !== null)).toBe(true);

    // Every status the simulator delivered to us is stored exactly once and applied (a
    // reordered `sent` arrives after the final status, so wait for the stragglers).
    const deliveredToUs = async () => {
      const keys = (await inspected(sim)).flatMap((m) =>
        m.callbacks.filter((c) => c.httpStatus === 204).map((c) => `${m.sid}:${c.status}`),
      );
      return { attempts: keys.length, distinct: new Set(keys) };
    };
    const storedKeys = async () =>
      (
        await db.kysely
          .selectFrom('callback_events')
          .select(['provider_sid', 'status', 'applied_at'])
          .where('message_id', 'in', ids)
          .execute()
      ).map((e) => ({ key: `${e.provider_sid}:${e.status}`, applied: e.applied_at !== null }));
    const { sim: simSide, ours } = await waitFor(
      async () => ({ sim: await deliveredToUs(), ours: await storedKeys() }),
      ({ sim: s, ours: o }) => o.length === s.distinct.size && o.every((e) => e.applied),
      10_000,
      50,
    );
    expect(new Set(ours.map((e) => e.key))).toEqual(simSide.distinct);
    expect(ours.length).toBe(simSide.distinct.size);
    // The duplicates really happened.
    expect(simSide.attempts).toBeGreaterThan(simSide.distinct.size);

    const events = await db.kysely
      .selectFrom('message_events')
      .select(['message_id', 'status'])
      .where('message_id', 'in', ids)
      .where('source', '=', 'callback')
      .orderBy('id')
      .execute();
    const byMessage = new Map<string, string[]>();
    for (const e of events) byMessage.set(e.message_id, [...(byMessage.get(e.message_id) ?? []), e.status]);
    for (const history of byMessage.values()) {
      const ranks = history.map((s) => STATUS_RANK[s as keyof typeof STATUS_RANK]);
      expect(ranks).toEqual([...new Set(ranks)].sort((a, b) => a - b));
      expect(history.at(-1)).toBe('delivered');
    }
    expect(byMessage.size).toBe(150);
  });
});
