import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newSid, statusEvent } from '../../test/support/callback-events.ts';
import { backends, useTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import { applyCallbackEvents, countOrphans, insertCallbackEvents, rematchOrphans } from './callback-store.ts';
import { insertMessages } from './message-store.ts';
import { indexDefinition } from './schema-dump.ts';

const T0 = 1_700_000_000_000;

const newMessage = (id: string) => testMessage(id, T0);

/** Callbacks that match no message: kept aside, counted, and matched again a page at a time. */
describe.each(backends())('kept-aside callbacks on $name', (backend) => {
  const store = useTestDatabase(backend);

  const message = (id: string) =>
    store.db.kysely.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('indexes unapplied callbacks by kind, then orphan or not, so no poller walks what it does not take', async () => {
    const def = await indexDefinition(store.db, 'callbacks_unapplied');
    expect(def).toMatch(/\(kind, orphan, id\)/);
    expect(def).toMatch(/WHERE \(?applied_at IS NULL\)?/i);
    if (store.db.sqlite) {
      // Each poller's question is one range of the index, in arrival order: the inbound poller
      // never walks unapplied status callbacks, nor the status applier the orphans.
      const plan = (query: string) =>
        (store.db.sqlite!.prepare(`explain query plan ${query}`).all() as { detail: string }[])
          .map((p) => p.detail)
          .join('\n');
      for (const [kind, orphan] of [
        ['inbound', 0],
        ['status', 0],
        ['status', 1],
      ] as const) {
        const steps = plan(`select id from callback_events where kind = '${kind}' and orphan = ${orphan}
                             and applied_at is null order by id limit 200`);
        expect(steps).toContain('callbacks_unapplied (kind=? AND orphan=?)');
        expect(steps).not.toContain('TEMP B-TREE');
      }
    }
  });

  it('keeps a callback for an unknown SID as an orphan and applies it once that message appears', async () => {
    const sid = newSid();
    const before = await countOrphans(store.db);
    await insertCallbackEvents(store.db, [statusEvent(sid, 'delivered', T0)]);
    expect(await applyCallbackEvents(store.db, { limit: 50, now: T0 + 100 })).toMatchObject({
      applied: 0,
      orphaned: 1,
    });
    expect(await countOrphans(store.db)).toBe(before + 1);
    // Never taken again as a fresh callback: no hot loop.
    expect(await applyCallbackEvents(store.db, { limit: 50, now: T0 + 60_000 })).toEqual({
      applied: 0,
      orphaned: 0,
      transitions: [],
    });
    const rematch = (now: number) =>
      rematchOrphans(store.db, { afterId: 0, limit: 50, now, orphanRetryAfterMs: 1000 });
    // Matched again, still nothing: it stays an orphan, unchanged.
    expect(await rematch(T0 + 60_000)).toMatchObject({ applied: 0, orphaned: before + 1, nextAfterId: null });

    const id = `msg_${randomUUID()}`;
    await insertMessages(store.db, [newMessage(id)]);
    await store.db.kysely
      .updateTable('messages')
      .set({ status: 'submitted', status_rank: 2, provider_sid: sid })
      .where('id', '=', id)
      .execute();
    // Too young to be matched again.
    expect(await rematch(T0 + 500)).toMatchObject({ applied: 0 });
    const r = await rematch(T0 + 2000);
    expect(r).toMatchObject({ applied: 1 });
    expect(r.transitions).toEqual([
      { messageId: id, from: 'submitted', to: 'delivered', providerErrorCode: null, at: T0, createdAt: T0 },
    ]);
    expect(await countOrphans(store.db)).toBe(before);
    expect(
      await store.db.kysely
        .selectFrom('callback_events')
        .select(['orphan', 'applied_at'])
        .where('provider_sid', '=', sid)
        .executeTakeFirst(),
    ).toEqual({ orphan: 0, applied_at: T0 + 2000 });
    expect((await message(id)).status).toBe('delivered');
  });

  it('matches orphans again a page at a time, from where the last page ended', async () => {
    const sids = Array.from({ length: 5 }, () => newSid());
    await insertCallbackEvents(
      store.db,
      sids.map((sid) => statusEvent(sid, 'delivered', T0)),
    );
    expect(await applyCallbackEvents(store.db, { limit: 50, now: T0 + 100 })).toMatchObject({ orphaned: 5 });
    // The fourth one's message appears.
    const id = `msg_${randomUUID()}`;
    await insertMessages(store.db, [newMessage(id)]);
    await store.db.kysely
      .updateTable('messages')
      .set({ status: 'submitted', status_rank: 2, provider_sid: sids[3]! })
      .where('id', '=', id)
      .execute();
    const ids = (
      await store.db.kysely
        .selectFrom('callback_events')
        .select('id')
        .where('provider_sid', 'in', sids)
        .orderBy('id')
        .execute()
    ).map((r) => r.id);
    // Start the pass just before these five (other tests' orphans come earlier).
    let afterId = ids[0]! - 1;
    const pages: { applied: number; nextAfterId: number | null }[] = [];
    for (let k = 0; k < 3; k++) {
      const r = await rematchOrphans(store.db, {
        afterId,
        limit: 2,
        now: T0 + 5_000,
        orphanRetryAfterMs: 1000,
      });
      pages.push({ applied: r.applied, nextAfterId: r.nextAfterId });
      if (r.nextAfterId === null) break;
      afterId = r.nextAfterId;
    }
    // Two, then two (the fourth applied), then the last: a short page ends the pass.
    expect(pages).toEqual([
      { applied: 0, nextAfterId: ids[1] },
      { applied: 1, nextAfterId: ids[3] },
      { applied: 0, nextAfterId: null },
    ]);
    expect((await message(id)).status).toBe('delivered');
  });
});
