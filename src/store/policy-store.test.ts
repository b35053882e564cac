import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backends, useTestDatabase } from '../../test/support/databases.ts';
import { testMessage } from '../../test/support/messages.ts';
import { getMessage, insertMessages } from './message-store.ts';
import { batchedOptOutLookup, optedOutRecipients } from './opt-out-store.ts';
import {
  isFirstContact,
  lastWhatsappInbound,
  readStickySenders,
  recordPolicyOutcomes,
  rememberContact,
  reserveCounter,
  setOptOut,
  touchWhatsappSession,
  writeStickySenders,
} from './policy-store.ts';

const T0 = 1_700_000_000_000;

describe.each(backends())('policy store on $name', (backend) => {
  const store = useTestDatabase(backend);

  it('reserves within a counter\u2019s limit only, atomically under concurrency, and starts again when the window expires', async () => {
    const key = `spend:${randomUUID()}`;
    const tries = await Promise.all(
      Array.from({ length: 10 }, () =>
        reserveCounter(store.db, { key, amount: 1, limit: 4, expiresAt: T0 + 60_000, now: T0 }),
      ),
    );
    expect(tries.filter((t) => t.reserved)).toHaveLength(4);
    expect(
      (await reserveCounter(store.db, { key, amount: 1, limit: 4, expiresAt: T0 + 60_000, now: T0 + 1 }))
        .reserved,
    ).toBe(false);
    const next = await reserveCounter(store.db, {
      key,
      amount: 1,
      limit: 4,
      expiresAt: T0 + 120_000,
      now: T0 + 60_000,
    });
    expect(next).toEqual({ reserved: true, value: 1 });
  });

  it('keeps opt-outs per scope and lets START undo a STOP', async () => {
    const r = `+1415555${String(Math.floor(Math.random() * 9000) + 1000)}`;
    await setOptOut(store.db, { scope: 'pool:a', recipient: r, optedOut: true, keyword: 'STOP', now: T0 });
    expect(await optedOutRecipients(store.db, [r], ['account', 'pool:a'])).toEqual(new Set([r]));
    expect(await optedOutRecipients(store.db, [r], ['account', 'pool:b'])).toEqual(new Set());
    await setOptOut(store.db, {
      scope: 'pool:a',
      recipient: r,
      optedOut: false,
      keyword: 'START',
      now: T0 + 1,
    });
    expect(await optedOutRecipients(store.db, [r], ['pool:a'])).toEqual(new Set());
  });

  it('reads the opt-out lookups of one tick in one query per scope set, and caches nothing', async () => {
    const r = Array.from({ length: 6 }, (_, i) => `+1646555${String(1000 + i)}`);
    const scope = `pool:${randomUUID()}`;
    await setOptOut(store.db, { scope, recipient: r[0]!, optedOut: true, keyword: 'STOP', now: T0 });
    await setOptOut(store.db, {
      scope: 'pool:other',
      recipient: r[1]!,
      optedOut: true,
      keyword: 'STOP',
      now: T0,
    });
    const reads: { recipients: readonly string[]; scopes: readonly string[] }[] = [];
    const lookup = batchedOptOutLookup(async (recipients, scopes) => {
      reads.push({ recipients, scopes });
      return optedOutRecipients(store.db, recipients, scopes);
    }, 4);
    const mine = ['account', scope];
    // Asked in one tick: six recipients in batches of at most four, and one of another scope set.
    const answers = await Promise.all([
      ...r.map((x) => lookup(x, mine)),
      lookup(r[1]!, ['account', 'pool:other']),
    ]);
    expect(answers).toEqual([true, false, false, false, false, false, true]);
    expect(reads.map((q) => [q.recipients.length, q.scopes])).toEqual([
      [4, mine],
      [2, mine],
      [1, ['account', 'pool:other']],
    ]);
    // Not cached: an opt-out stored after a lookup is seen by the next one.
    await setOptOut(store.db, {
      scope: 'account',
      recipient: r[2]!,
      optedOut: true,
      keyword: 'STOP',
      now: T0 + 1,
    });
    expect(await lookup(r[2]!, mine)).toBe(true);
    expect(reads).toHaveLength(4);
  });

  it('fails only the opt-out lookups whose read failed', async () => {
    let fail = true;
    const lookup = batchedOptOutLookup(async (recipients) => {
      if (fail) throw new Error('database is down');
      return new Set(recipients.filter((x) => x.endsWith('1')));
    });
    await expect(
      Promise.all([lookup('+15550001', ['account']), lookup('+15550002', ['account'])]),
    ).rejects.toThrow('database is down');
    fail = false;
    expect(await Promise.all([lookup('+15550001', ['account']), lookup('+15550002', ['account'])])).toEqual([
      true,
      false,
    ]);
  });

  it('never moves a WhatsApp session start backwards on an out-of-order inbound message', async () => {
    const r = `+1212555${String(Math.floor(Math.random() * 9000) + 1000)}`;
    await touchWhatsappSession(store.db, r, '+14155238886', T0 + 5_000);
    await touchWhatsappSession(store.db, r, '+14155238886', T0);
    expect(await lastWhatsappInbound(store.db, r, ['+14155238886'])).toBe(T0 + 5_000);
    expect(await lastWhatsappInbound(store.db, r, ['+19995550000'])).toBeNull();
  });

  it('remembers first contacts per tenant', async () => {
    const r = `+1303555${String(Math.floor(Math.random() * 9000) + 1000)}`;
    expect(await isFirstContact(store.db, 't1', r)).toBe(true);
    await rememberContact(store.db, 't1', r, T0);
    await rememberContact(store.db, 't1', r, T0 + 1);
    expect(await isFirstContact(store.db, 't1', r)).toBe(false);
    expect(await isFirstContact(store.db, 't2', r)).toBe(true);
  });

  it('records a policy outcome only while this worker holds the lease', async () => {
    const ids = [`msg_${randomUUID()}`, `msg_${randomUUID()}`, `msg_${randomUUID()}`];
    await insertMessages(
      store.db,
      ids.map((id) => testMessage(id, T0)),
    );
    await store.db.kysely
      .updateTable('messages')
      .set({ status: 'sending', status_rank: 1, lease_owner: 'w1', lease_expires_at: T0 + 30_000 })
      .where('id', 'in', ids.slice(0, 2))
      .execute();
    // An earlier attempt was ambiguous and reconciliation found nothing: a refusal still applies.
    await store.db.kysely
      .updateTable('messages')
      .set({ needs_reconcile: 1 })
      .where('id', '=', ids[0]!)
      .execute();
    const done = await recordPolicyOutcomes(store.db, [
      {
        kind: 'refuse',
        messageId: ids[0]!,
        owner: 'w1',
        reason: 'recipient_opted_out',
        message: 'opted out',
        now: T0 + 1,
      },
      {
        kind: 'defer',
        messageId: ids[1]!,
        owner: 'w1',
        reason: 'quiet_hours',
        until: T0 + 3_600_000,
        now: T0 + 1,
      },
      {
        kind: 'refuse',
        messageId: ids[2]!,
        owner: 'w1',
        reason: 'recipient_opted_out',
        message: 'x',
        now: T0 + 1,
      },
    ]);
    expect(done).toEqual(new Set(ids.slice(0, 2)));
    expect(await getMessage(store.db, 't1', ids[0]!)).toMatchObject({
      status: 'failed',
      error_code: 'SB_POLICY_REFUSED',
      policy_reason: 'recipient_opted_out',
      lease_owner: null,
      needs_reconcile: 0,
    });
    expect(await getMessage(store.db, 't1', ids[1]!)).toMatchObject({
      status: 'queued',
      policy_reason: 'quiet_hours',
      next_attempt_at: T0 + 3_600_000,
      attempts: 0,
    });
    expect((await getMessage(store.db, 't1', ids[2]!))?.status).toBe('queued');
  });

  it('writes a claim\u2019s sticky pins in one upsert: new keys inserted, a moved key updated, the last of a repeated key kept', async () => {
    const a = `t:${randomUUID()}:US`;
    const b = `t:${randomUUID()}:US`;
    await store.db.kysely.transaction().execute(async (trx) => {
      await writeStickySenders(trx, [{ key: a, poolId: 'p1', sender: '+14155550100' }], T0);
      await writeStickySenders(
        trx,
        [
          { key: a, poolId: 'p1', sender: '+14155550101' },
          { key: b, poolId: 'p1', sender: '+14155550102' },
          { key: b, poolId: 'p1', sender: '+14155550103' },
        ],
        T0 + 1,
      );
      await writeStickySenders(trx, [], T0 + 2);
    });
    const pins = await store.db.kysely.transaction().execute((trx) => readStickySenders(trx, [a, b, 'none']));
    expect(pins).toEqual(
      new Map([
        [a, '+14155550101'],
        [b, '+14155550103'],
      ]),
    );
  });
});
