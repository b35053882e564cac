import type { Clock } from '../../src/simulator/index.ts';

/** A manual clock: timers fire only when the test advances time. */
export class FakeClock implements Clock {
  private t: number;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): { unref: () => void; id: number } {
    const id = this.nextId++;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return { unref: () => {}, id };
  }

  clearTimeout(handle: unknown): void {
    const id = (handle as { id?: number } | null)?.id;
    this.timers = this.timers.filter((x) => x.id !== id);
  }

  /** Advances time, firing due timers in order (timers they schedule fire too if due). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
