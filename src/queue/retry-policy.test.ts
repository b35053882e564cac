import { describe, expect, it } from 'vitest';
import { nextDelay } from './retry-policy.ts';

const policy = { baseMs: 250, capMs: 30_000, maxAttempts: 8 };

describe('nextDelay', () => {
  it('stays between the base and three times the last delay', () => {
    for (let i = 0; i < 1000; i++) {
      const d = nextDelay(policy, 1000, Math.random);
      expect(d).toBeGreaterThanOrEqual(250);
      expect(d).toBeLessThanOrEqual(3000);
    }
  });

  it('never exceeds the cap', () => {
    expect(nextDelay(policy, 1_000_000, () => 0.999)).toBe(30_000);
  });

  it('spreads retries of messages that failed together instead of synchronizing them', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const delays = Array.from({ length: 200 }, () => nextDelay(policy, 2000, random));
    const buckets = new Set(delays.map((d) => Math.floor(d / 500)));
    expect(buckets.size).toBeGreaterThanOrEqual(10);
  });
});
