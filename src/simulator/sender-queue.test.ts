import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { SenderQueues } from './sender-queue.ts';

function item(
  clock: FakeClock,
  log: { id: number; at: number; what: string }[],
  id: number,
  segments = 1,
  validityMs = 3_600_000,
) {
  return {
    segments,
    enqueuedAt: clock.now(),
    expiresAt: clock.now() + validityMs,
    depart: () => log.push({ id, at: clock.now(), what: 'depart' }),
    expire: () => log.push({ id, at: clock.now(), what: 'expire' }),
  };
}

describe('SenderQueues', () => {
  it('spaces departures at the sender MPS, in arrival order', () => {
    const clock = new FakeClock(0);
    const q = new SenderQueues(clock);
    const log: { id: number; at: number; what: string }[] = [];
    for (let i = 0; i < 10; i++) q.enqueue('+1', 5, item(clock, log, i));
    clock.advance(5_000);
    expect(log.map((l) => l.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(log.map((l) => l.at)).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  });

  it('counts throughput in segments, so a three-segment message takes three slots', () => {
    const clock = new FakeClock(0);
    const q = new SenderQueues(clock);
    const log: { id: number; at: number; what: string }[] = [];
    q.enqueue('+1', 1, item(clock, log, 1, 3));
    q.enqueue('+1', 1, item(clock, log, 2, 1));
    clock.advance(10_000);
    expect(log.map((l) => l.at)).toEqual([0, 3000]);
  });

  it('expires a message that waited past its validity period without using a slot', () => {
    const clock = new FakeClock(0);
    const q = new SenderQueues(clock);
    const log: { id: number; at: number; what: string }[] = [];
    q.enqueue('+1', 1, item(clock, log, 1));
    q.enqueue('+1', 1, item(clock, log, 2, 1, 500));
    q.enqueue('+1', 1, item(clock, log, 3));
    clock.advance(5_000);
    expect(log).toEqual([
      { id: 1, at: 0, what: 'depart' },
      { id: 2, at: 1000, what: 'expire' },
      { id: 3, at: 1000, what: 'depart' },
    ]);
  });

  it('keeps senders independent of each other', () => {
    const clock = new FakeClock(0);
    const q = new SenderQueues(clock);
    const log: { id: number; at: number; what: string }[] = [];
    q.enqueue('+1', 1, item(clock, log, 1));
    q.enqueue('+1', 1, item(clock, log, 2));
    q.enqueue('+2', 1, item(clock, log, 3));
    clock.advance(0);
    expect(log.map((l) => l.id).sort()).toEqual([1, 3]);
  });

  it('reports the backlog in seconds of sending', () => {
    const clock = new FakeClock(0);
    const q = new SenderQueues(clock);
    const log: { id: number; at: number; what: string }[] = [];
    for (let i = 0; i < 11; i++) q.enqueue('+1', 2, item(clock, log, i));
    // one departed at once (next slot in 0.5 s), ten wait: 0.5 + 10 / 2
    expect(q.backlogSeconds('+1', 2)).toBeCloseTo(5.5, 5);
  });
});
