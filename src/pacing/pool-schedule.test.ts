import { describe, expect, it } from 'vitest';
import { poolSchema } from '../config/index.ts';
import type { MessageRow, PacingRow } from '../store/index.ts';
import { numberKey, poolClaimPlan, poolKey, type SlotAssignment } from './pool-schedule.ts';

const pool = (over: object = {}) =>
  poolSchema.parse({
    id: 'p',
    senderType: 'long_code',
    purposes: ['transactional'],
    countries: ['US'],
    numbers: [
      { address: '+14155550100', mps: 10 },
      { address: '+14155550101', mps: 10 },
    ],
    ...over,
  });

function freshState(keys: string[], now: number): Map<string, PacingRow> {
  return new Map(keys.map((k) => [k, { key: k, tat: 0, rateFactor: 1, updatedAt: now }]));
}

const row = (id: string, orderKey: string | null = null, over: Partial<MessageRow> = {}) =>
  ({
    id,
    order_key: orderKey,
    purpose: 'transactional',
    tenant_id: 't',
    user_id: null,
    recipient: '+12125550123',
    country: 'US',
    ...over,
  }) as MessageRow;

/** The placed slots of an assignment (every one must be placed). */
function placed(result: { slots: (SlotAssignment | null)[] }): SlotAssignment[] {
  return result.slots.map((s) => {
    expect(s).not.toBeNull();
    return s!;
  });
}

describe('poolClaimPlan', () => {
  it('claims only what fits the horizon at the pool rate', () => {
    const plan = poolClaimPlan(pool(), 1_000, 1_000);
    expect(plan.capacity(freshState(plan.keys, 1_000), 10_000)).toBe(20);
    const capped = poolClaimPlan(pool({ mps: 5 }), 1_000, 1_000);
    expect(capped.capacity(freshState(capped.keys, 1_000), 10_000)).toBe(5);
    // The simulation stops at the claim limit instead of filling the whole horizon.
    expect(plan.capacity(freshState(plan.keys, 1_000), 7)).toBe(7);
  });

  it('spreads messages over the numbers and never exceeds either number or pool rate', () => {
    const plan = poolClaimPlan(pool({ mps: 15 }), 0, 2_000);
    const state = freshState(plan.keys, 0);
    const slots = placed(
      plan.assign(
        Array.from({ length: 30 }, (_, i) => row(`m${i}`)),
        state,
      ),
    );
    for (const address of ['+14155550100', '+14155550101']) {
      const times = slots.filter((s) => s.sender === address).map((s) => s.at);
      for (let i = 1; i < times.length; i++)
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100 - 1e-9);
    }
    const all = slots.map((s) => s.at).sort((a, b) => a - b);
    for (let i = 1; i < all.length; i++)
      expect(all[i]! - all[i - 1]!).toBeGreaterThanOrEqual(1000 / 15 - 1e-9);
    expect(new Set(slots.map((s) => s.sender)).size).toBe(2);
  });

  it('keeps ordered traffic for one recipient on one number', () => {
    const plan = poolClaimPlan(pool(), 0, 1_000);
    const slots = placed(
      plan.assign([row('a', 't:+1'), row('b', 't:+1'), row('c', 't:+1')], freshState(plan.keys, 0)),
    );
    expect(new Set(slots.map((s) => s.sender)).size).toBe(1);
  });

  it('allows the configured burst back to back, then paces', () => {
    const plan = poolClaimPlan(pool({ numbers: [{ address: '+14155550100', mps: 10 }], burst: 3 }), 0, 1_000);
    const slots = placed(
      plan.assign(
        Array.from({ length: 5 }, (_, i) => row(`m${i}`)),
        freshState(plan.keys, 0),
      ),
    );
    expect(slots.map((s) => Math.round(s.at))).toEqual([0, 0, 0, 100, 200]);
  });

  it('slows a pool by its rate factor and recovers it over time', () => {
    const plan = poolClaimPlan(pool(), 10_000, 1_000);
    const state = freshState(plan.keys, 10_000);
    state.get(poolKey('p'))!.rateFactor = 0.5;
    expect(plan.capacity(state, 10_000)).toBe(10);
    const later = poolClaimPlan(pool(), 15_000, 1_000);
    const state2 = freshState(later.keys, 10_000);
    state2.get(poolKey('p'))!.rateFactor = 0.5;
    expect(later.capacity(state2, 10_000)).toBe(20);
    expect(state2.get(numberKey('+14155550100'))!.tat).toBe(0);
    // Each slot says the factor it was paced at, so the dispatcher's own spacing follows it.
    const slowed = placed(later.assign([row('s1'), row('s2')], state2));
    expect(slowed.map((s) => s.rateFactor)).toEqual([1, 1]);
    const braked = freshState(plan.keys, 10_000);
    braked.get(poolKey('p'))!.rateFactor = 0.25;
    expect(placed(plan.assign([row('s3')], braked)).map((s) => s.rateFactor)).toEqual([0.25]);
  });

  it('keeps a conversational recipient on its pinned number and pins a new one once', () => {
    const plan = poolClaimPlan(pool(), 0, 1_000);
    const chat = (id: string) => row(id, null, { purpose: 'conversational', user_id: 'u1' });
    const pins = new Map([['t:u1:US', '+14155550101']]);
    const first = plan.assign([chat('a'), chat('b'), chat('c')], freshState(plan.keys, 0), pins);
    expect(placed(first).map((s) => s.sender)).toEqual(['+14155550101', '+14155550101', '+14155550101']);
    expect(first.newPins).toEqual([]);
    // A pin to a number that left the pool is replaced, and the new pin is reported once.
    const moved = plan.assign(
      [chat('d'), chat('e')],
      freshState(plan.keys, 0),
      new Map([['t:u1:US', '+19995550000']]),
    );
    const senders = placed(moved).map((s) => s.sender);
    expect(senders[0]).toBe(senders[1]);
    expect(moved.newPins).toEqual([{ key: 't:u1:US', poolId: 'p', sender: senders[0] }]);
  });

  it('sends only from the sendable numbers, preferring the geomatch tier', () => {
    const p = pool();
    const plan = poolClaimPlan(p, 0, 1_000, {
      selector: { sendable: [p.numbers[1]!], preferred: () => [p.numbers[1]!] },
    });
    const slots = placed(plan.assign([row('a'), row('b'), row('c')], freshState(plan.keys, 0)));
    expect(new Set(slots.map((s) => s.sender))).toEqual(new Set(['+14155550101']));
    expect(slots.every((s) => s.registered)).toBe(true);
  });

  it('returns a message bound to a full number to the queue instead of placing it beyond the wait limit', () => {
    const p = pool({ numbers: [{ address: '+14155550100', mps: 1 }], burst: 1 });
    const plan = poolClaimPlan(p, 0, 1_000, { maxWaitMs: 2_500 });
    const { slots } = plan.assign(
      Array.from({ length: 5 }, (_, i) => row(`m${i}`, 't:+1')),
      freshState(plan.keys, 0),
    );
    expect(slots.map((s) => (s === null ? null : Math.round(s.at)))).toEqual([0, 1000, 2000, null, null]);
  });

  it('prefers the geomatch tier and spills free traffic over to the pool once it is busy', () => {
    const p = pool();
    const local = [p.numbers[0]!];
    const plan = poolClaimPlan(p, 0, 1_000, { selector: { sendable: p.numbers, preferred: () => local } });
    const slots = placed(
      plan.assign(
        Array.from({ length: 8 }, (_, i) => row(`m${i}`)),
        freshState(plan.keys, 0),
      ),
    );
    // The local number takes what it can within a quarter of the horizon (10 MPS: 0..300 ms).
    expect(slots.slice(0, 3).map((s) => s.sender)).toEqual(['+14155550100', '+14155550100', '+14155550100']);
    expect(slots.filter((s) => s.sender === '+14155550101').length).toBeGreaterThan(0);
  });
});
