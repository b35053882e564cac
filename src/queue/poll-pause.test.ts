import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { PollPause } from './poll-pause.ts';

/** How long a pause lasts on the fake clock (advancing 1 ms at a time), up to `limit`. */
async function measure(clock: FakeClock, pause: Promise<void>, limit = 10_000): Promise<number> {
  let done = false;
  void pause.then(() => {
    done = true;
  });
  const start = clock.now();
  for (let i = 0; i <= limit; i++) {
    await Promise.resolve();
    if (done) return clock.now() - start;
    clock.advance(1);
  }
  throw new Error('the pause never ended');
}

describe('PollPause', () => {
  it('pauses the base time while polls find work', async () => {
    const clock = new FakeClock();
    const pause = new PollPause(25, 400, clock);
    for (let i = 0; i < 3; i++) expect(await measure(clock, pause.wait(true))).toBe(25);
    expect(pause.backingOff).toBe(false);
  });

  it('doubles the pause after each empty poll up to the cap, and drops back once work turns up', async () => {
    const clock = new FakeClock();
    const pause = new PollPause(25, 150, clock);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push(await measure(clock, pause.wait(false)));
    expect(waits).toEqual([25, 50, 100, 150, 150]);
    expect(pause.backingOff).toBe(true);
    expect(await measure(clock, pause.wait(true))).toBe(25);
    expect(pause.backingOff).toBe(false);
  });

  it('ends a pause at once when woken, and starts again from the base pause', async () => {
    const clock = new FakeClock();
    const pause = new PollPause(25, 1_000, clock);
    for (let i = 0; i < 6; i++) await measure(clock, pause.wait(false));
    const waiting = pause.wait(false);
    clock.advance(10);
    pause.wake();
    expect(await measure(clock, waiting)).toBe(0);
    expect(pause.backingOff).toBe(false);
    expect(await measure(clock, pause.wait(false))).toBe(25);
  });

  it('skips the next pause when woken while polling', async () => {
    const clock = new FakeClock();
    const pause = new PollPause(25, 1_000, clock);
    pause.wake();
    expect(await measure(clock, pause.wait(false))).toBe(0);
    expect(await measure(clock, pause.wait(false))).toBe(25);
  });

  it('never pauses past a time at which known work falls due', async () => {
    const clock = new FakeClock();
    const pause = new PollPause(25, 1_000, clock);
    for (let i = 0; i < 6; i++) await measure(clock, pause.wait(false));
    // Announced while sleeping: the current pause is cut short.
    const waiting = pause.wait(false);
    pause.wakeBy(clock.now() + 70);
    expect(await measure(clock, waiting)).toBe(70);
    // Announced while polling: the next pause is.
    pause.wakeBy(clock.now() + 130);
    pause.wakeBy(clock.now() + 300);
    expect(await measure(clock, pause.wait(false))).toBe(130);
    expect(await measure(clock, pause.wait(false))).toBe(170);
  });

  it('holds off at least as long as asked, even when woken', async () => {
    const clock = new FakeClock();
    const pause = new PollPause(5, 50, clock);
    pause.wake();
    expect(await measure(clock, pause.wait(false, 1_000))).toBe(1_000);
  });
});
