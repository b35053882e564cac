import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newSid, statusEvent } from '../../test/support/callback-events.ts';
import { backends, openTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import { waitFor } from '../../test/support/sim-client.ts';
import { createMetrics } from '../observability/index.ts';
import { type CallbackTransition, type Db, insertCallbackEvents, insertMessages } from '../store/index.ts';
import { startCallbackApplier } from './callback-applier.ts';

const T0 = 1_700_000_000_000;

function silentLogger() {
  return { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn() };
}

describe.each(backends())('callback applier on $name', (backend) => {
  let db: Db;
  let closeDb: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close: closeDb } = await openTestDatabase(backend));
  });
  afterAll(async () => {
    await closeDb();
  });

  async function submitted(n: number) {
    const out: { id: string; sid: string }[] = [];
    for (let i = 0; i < n; i++) out.push({ id: `msg_${randomUUID()}`, sid: newSid() });
    await insertMessages(
      db,
      out.map(({ id }) => testMessage(id, T0, { purpose: 'marketing', body: 'b' })),
    );
    for (const m of out) {
      await db.kysely
        .updateTable('messages')
        .set({ status: 'submitted', status_rank: 2, provider_sid: m.sid })
        .where('id', '=', m.id)
        .execute();
    }
    return out;
  }

  const event = (sid: string, status: string, receivedAt = T0 + 3000) => statusEvent(sid, status, receivedAt);

  const statusesOf = async (ids: string[]) =>
    (await db.kysely.selectFrom('messages').select(['id', 'status']).where('id', 'in', ids).execute()).map(
      (r) => r.status,
    );

  it('applies everything waiting in one cycle, batch after batch, and reports the transitions', async () => {
    const msgs = await submitted(35);
    await insertCallbackEvents(
      db,
      msgs.flatMap((m) => [event(m.sid, 'sent'), event(m.sid, 'delivered', T0 + 5000)]),
    );
    const seen: CallbackTransition[] = [];
    const metrics = createMetrics();
    // A long interval: only the first cycle runs during the test.
    const applier = startCallbackApplier(
      { db, metrics, clock: () => T0 + 10_000, onTransitions: (t) => void seen.push(...t) },
      { intervalMs: 60_000, batch: 10 },
    );
    try {
      await waitFor(
        () => seen.length,
        (n) => n >= 70,
        10_000,
      );
    } finally {
      await applier.stop();
    }
    expect(await statusesOf(msgs.map((m) => m.id))).toEqual(Array(35).fill('delivered'));
    expect(seen.filter((t) => t.to === 'delivered')).toHaveLength(35);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sb_status_transitions_total\{status="delivered"\} 35/);
    expect(text).toMatch(/sb_delivery_latency_seconds_count\{status="delivered"\} 35/);
  });

  it('lets the event loop run between batches of a backlog', async () => {
    const msgs = await submitted(30);
    await insertCallbackEvents(
      db,
      msgs.map((m) => event(m.sid, 'delivered')),
    );
    // A chain of immediates stands for requests waiting on the event loop.
    const order: string[] = [];
    let ticking = true;
    const tick = () => {
      if (!ticking) return;
      order.push('tick');
      setImmediate(tick);
    };
    setImmediate(tick);
    const applier = startCallbackApplier(
      { db, clock: () => T0 + 10_000, onTransitions: () => void order.push('batch') },
      { intervalMs: 60_000, batch: 10 },
    );
    try {
      await waitFor(
        () => order.filter((o) => o === 'batch').length,
        (n) => n >= 3,
        10_000,
      );
    } finally {
      ticking = false;
      await applier.stop();
    }
    const batches = order.flatMap((o, i) => (o === 'batch' ? [i] : []));
    expect(batches).toHaveLength(3);
    for (let k = 1; k < batches.length; k++) {
      expect(order.slice(batches[k - 1]! + 1, batches[k]!)).toContain('tick');
    }
  });

  /** Waits until the applier has kept the callbacks of these SIDs aside as orphans. */
  const untilOrphaned = (sids: string[]) =>
    waitFor(
      () =>
        db.kysely.selectFrom('callback_events').select('orphan').where('provider_sid', 'in', sids).execute(),
      (rows) => rows.length === sids.length && rows.every((r) => r.orphan === 1),
    );

  it('re-matches an orphan on a later cycle once its message exists and it is old enough', async () => {
    const sid = newSid();
    let now = T0;
    await insertCallbackEvents(db, [event(sid, 'delivered', T0)]);
    const logger = silentLogger();
    const applier = startCallbackApplier(
      { db, clock: () => now, logger: logger as unknown as Logger },
      { intervalMs: 60_000, batch: 50, orphanRetryAfterMs: 5_000 },
    );
    try {
      await untilOrphaned([sid]);
      const [m] = await submitted(1);
      await db.kysely.updateTable('messages').set({ provider_sid: sid }).where('id', '=', m!.id).execute();
      now = T0 + 6_000;
      applier.wake();
      await waitFor(
        () => statusesOf([m!.id]),
        (s) => s[0] === 'delivered',
      );
    } finally {
      await applier.stop();
    }
    expect(logger.warn).toHaveBeenCalledWith({ orphaned: 1 }, expect.any(String));
  });

  it('reaches an orphan past the first page: each interval matches the next page again', async () => {
    const sids = Array.from({ length: 7 }, () => newSid());
    let now = T0;
    await insertCallbackEvents(
      db,
      sids.map((sid) => event(sid, 'delivered', T0)),
    );
    const applier = startCallbackApplier(
      { db, clock: () => now, logger: silentLogger() as unknown as Logger },
      { intervalMs: 5, batch: 2, orphanRetryAfterMs: 1_000 },
    );
    try {
      await untilOrphaned(sids);
      // The last one's message appears; earlier orphans (of this test and others) never match.
      const [m] = await submitted(1);
      await db.kysely
        .updateTable('messages')
        .set({ provider_sid: sids[6]! })
        .where('id', '=', m!.id)
        .execute();
      // One page of two per second of the applier's clock: it gets there within a few pages.
      await waitFor(
        async () => {
          now += 1_000;
          applier.wake();
          return statusesOf([m!.id]);
        },
        (s) => s[0] === 'delivered',
      );
    } finally {
      await applier.stop();
    }
  });

  describe('with no other orphans in front', () => {
    // A database of its own: the other tests' orphans, which never match, would otherwise fill
    // the first page and end the pass before it reached these. The helpers above read `db`.
    let outer: Db;
    let closeOwn: () => Promise<void>;
    beforeAll(async () => {
      outer = db;
      // A backend object of its own too: closing drops only what that object created.
      const own = backends().find((b) => b.name === backend.name)!;
      ({ db, close: closeOwn } = await openTestDatabase(own));
    });
    afterAll(async () => {
      db = outer;
      await closeOwn();
    });

    it('matches a run of orphans page after page in one pass, not a page per interval', async () => {
      const sids = Array.from({ length: 9 }, () => newSid());
      let now = T0;
      await insertCallbackEvents(
        db,
        sids.map((sid) => event(sid, 'delivered', T0)),
      );
      const pages: number[] = [];
      const applier = startCallbackApplier(
        {
          db,
          clock: () => now,
          logger: silentLogger() as unknown as Logger,
          onTransitions: (t) => void pages.push(t.length),
        },
        { intervalMs: 5, batch: 2, orphanRetryAfterMs: 1_000 },
      );
      try {
        await untilOrphaned(sids);
        const msgs = await submitted(sids.length);
        for (const [i, m] of msgs.entries()) {
          await db.kysely
            .updateTable('messages')
            .set({ provider_sid: sids[i]! })
            .where('id', '=', m.id)
            .execute();
        }
        // One due pass, and the clock stops there: a page per interval would match two of nine.
        now = T0 + 1_500;
        applier.wake();
        await waitFor(
          () => statusesOf(msgs.map((m) => m.id)),
          (s) => s.every((x) => x === 'delivered'),
        );
      } finally {
        await applier.stop();
      }
      // The pass at start-up read the first page (too young then) and left the cursor after
      // it: this pass went on from there to the end, then round to the first page.
      expect(pages).toEqual([2, 2, 2, 1, 2]);
    });
  });

  it('survives a failing transition hook', async () => {
    const [m] = await submitted(1);
    await insertCallbackEvents(db, [event(m!.sid, 'sent')]);
    const logger = silentLogger();
    const applier = startCallbackApplier(
      {
        db,
        logger: logger as unknown as Logger,
        onTransitions: () => {
          throw new Error('subscriber gone');
        },
      },
      { intervalMs: 5, batch: 10 },
    );
    try {
      await waitFor(
        () => statusesOf([m!.id]),
        (s) => s[0] === 'sent',
      );
      await waitFor(
        () => logger.error.mock.calls.length,
        (n) => n >= 1,
      );
    } finally {
      await applier.stop();
    }
  });

  it('stops at once, without waiting for the interval', async () => {
    const applier = startCallbackApplier({ db }, { intervalMs: 600_000, batch: 10 });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await applier.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('callback applier without a database', () => {
  it('keeps going when a pass fails, pausing instead of spinning', async () => {
    let calls = 0;
    const broken = {
      dialect: 'sqlite',
      close: async () => {},
      kysely: {
        transaction: () => {
          calls++;
          throw new Error('database is down');
        },
      },
    } as unknown as Db;
    const logger = silentLogger();
    const applier = startCallbackApplier(
      { db: broken, logger: logger as unknown as Logger },
      { intervalMs: 1, batch: 10 },
    );
    await new Promise((r) => setTimeout(r, 300));
    await applier.stop();
    expect(calls).toBe(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
  });
});
