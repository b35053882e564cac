import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

describe('metrics', () => {
  it('reads the queue gauges and the kept-aside callbacks from the stats source at scrape time, once a second', async () => {
    let now = 1_700_000_000_000;
    let calls = 0;
    const metrics = createMetrics(
      async () => {
        calls++;
        return { depth: 42, oldestDueAt: now - 7_500, inFlight: 3, keptAside: 11 };
      },
      () => now,
    );
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^queue_depth 42$/m);
    expect(text).toMatch(/^queue_lag_seconds 7\.5$/m);
    expect(text).toMatch(/^queue_in_flight 3$/m);
    expect(text).toMatch(/^sb_callbacks_kept_aside 11$/m);
    // Four gauges, one query.
    expect(calls).toBe(1);
    now += 1_001;
    await metrics.registry.metrics();
    expect(calls).toBe(2);
  });

  it('does not keep a failed stats read: the next scrape reads again', async () => {
    let calls = 0;
    const metrics = createMetrics(
      async () => {
        calls++;
        if (calls === 1) throw new Error('database unavailable');
        return { depth: 5, oldestDueAt: null, inFlight: 0, keptAside: 0 };
      },
      () => 1_700_000_000_000,
    );
    await expect(metrics.registry.metrics()).rejects.toThrow('database unavailable');
    expect(await metrics.registry.metrics()).toMatch(/^queue_depth 5$/m);
    expect(calls).toBe(2);
  });
});
