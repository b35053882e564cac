import { describe, expect, it } from 'vitest';
import { CallSpacing } from './gcra.ts';

/** A pool of two numbers at `mps`, with its burst. */
const pool = (mps: number, burst: number) => ({
  numbers: [
    { address: '+1', mps },
    { address: '+2', mps },
  ],
  burst,
});

describe('call spacing', () => {
  it('never delays calls on their slots, even a few milliseconds late', () => {
    const spacing = new CallSpacing();
    // 10 MPS: slots 100 ms apart, each call up to 5 ms late.
    const waits = [0, 103, 200, 305, 401, 500].map((at) => spacing.reserve(pool(10, 1), '+1', at));
    expect(waits).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('spreads a bunch of late calls at the number\u2019s pace, one more back to back than the burst', () => {
    const spacing = new CallSpacing();
    expect(spacing.reserve(pool(10, 1), '+1', 0)).toBe(0);
    // Six slots passed during a stall; their calls all come at 700.
    const waits = Array.from({ length: 6 }, () => spacing.reserve(pool(10, 1), '+1', 700));
    expect(waits).toEqual([0, 0, 100, 200, 300, 400]);
    // Another number keeps its own pace, and a sender the pool does not list is not paced here.
    expect(spacing.reserve(pool(10, 1), '+2', 700)).toBe(0);
    expect(Array.from({ length: 4 }, () => spacing.reserve(pool(10, 1), '+9', 700))).toEqual([0, 0, 0, 0]);
    // With a burst of 3, four go back to back.
    const burst = new CallSpacing();
    expect(Array.from({ length: 5 }, () => burst.reserve(pool(10, 3), '+1', 0))).toEqual([0, 0, 0, 0, 100]);
    // At 1,000 MPS, 5 ms of calls plus the burst (six) go together: timer jitter is never spread.
    const fast = new CallSpacing();
    const fastWaits = Array.from({ length: 8 }, () => fast.reserve(pool(1_000, 1), '+1', 0));
    expect(fastWaits).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
  });

  it('spreads late calls at the slowed pace while the pool is slowed down after 429s', () => {
    const spacing = new CallSpacing();
    // 10 MPS at half rate (the brake's factor 0.5 on the slots): 200 ms apart, not 100.
    expect(spacing.reserve(pool(10, 1), '+1', 0, 0.5)).toBe(0);
    const waits = Array.from({ length: 5 }, () => spacing.reserve(pool(10, 1), '+1', 1_000, 0.5));
    expect(waits).toEqual([0, 0, 200, 400, 600]);
    // A factor out of range is clamped: above 1 is full rate, nothing (NaN) or 0 the schedule's floor (0.05).
    const clamped = new CallSpacing();
    expect(Array.from({ length: 3 }, () => clamped.reserve(pool(10, 1), '+1', 0, 4))).toEqual([0, 0, 100]);
    const floor = new CallSpacing();
    expect(Array.from({ length: 3 }, () => floor.reserve(pool(10, 1), '+1', 0, Number.NaN))).toEqual([
      0, 0, 2_000,
    ]);
  });

  it('adds a delay no longer than the lateness, which does not grow while calls stay on their slots', () => {
    const spacing = new CallSpacing();
    // 10 MPS, slots every 100 ms: a stall makes the calls of slots 100–300 come at 350.
    expect(spacing.reserve(pool(10, 1), '+1', 0)).toBe(0);
    expect([350, 350, 350].map((at) => spacing.reserve(pool(10, 1), '+1', at))).toEqual([0, 0, 100]);
    // The calls after it come on their slots: each waits the lateness less one interval, no more.
    expect([400, 500, 600, 700].map((at) => spacing.reserve(pool(10, 1), '+1', at))).toEqual([
      150, 150, 150, 150,
    ]);
  });
});
