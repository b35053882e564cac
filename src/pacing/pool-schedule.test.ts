import { describe, expect, it } from 'vitest';
import { poolSchema } from '../config/index.ts';
import type { MessageRow, PacingRow } from '../store/index.ts';
import { numberKey, poolClaimPlan, poolKey } from './pool-schedule.ts';

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

const row = (id: string, orderKey: string | null = null) => ({ id, order_key: orderKey }) as MessageRow;

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
    const slots = plan.assign(
      Array.from({ length: 30 }, (_, i) => row(`m${i}`)),
      state,
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
    const slots = plan.assign(
      [row('a', 't:+1'), row('b', 't:+1'), row('c', 't:+1')],
      freshState(plan.keys, 0),
    );
    expect(new Set(slots.map((s) => s.sender)).size).toBe(1);
  });

  it('allows the configured burst back to back, then paces', () => {
    const plan = poolClaimPlan(pool({ numbers: [{ address: '+14155550100', mps: 10 }], burst: 3 }), 0, 1_000);
    const slots = plan.assign(
      Array.from({ length: 5 }, (_, i) => row(`m${i}`)),
      freshState(plan.keys, 0),
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
  });
});
