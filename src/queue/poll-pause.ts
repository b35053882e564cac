/** The timers a pause runs on (the process's by default; a fake clock in tests). */
export interface PauseTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's timers, with time read from `now` (an injected clock). */
export function processTimers(now: () => number = Date.now): PauseTimers {
  return {
    now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

/**
 * The pause of a loop that polls the database for work. While polls find work it is the base
 * pause; each empty poll doubles it up to a cap, so an idle gateway stops opening a
 * transaction every few milliseconds. `wake` ends it at once when new work is known to have
 * arrived (an in-process producer), and `wakeBy` when known work falls due (a retry's time),
 * so backing off never delays work the process knows of.
 */
export class PollPause {
  private idleMs: number;
  private woken = false;
  /** Times at which known work falls due, beyond the current pause. */
  private dueTimes: number[] = [];
  private current: { handle: unknown; endsAt: number; resolve: () => void } | null = null;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly timers: PauseTimers = processTimers(),
  ) {
    this.idleMs = baseMs;
  }

  /** Whether empty polls have stretched the pause beyond its base. */
  get backingOff(): boolean {
    return this.idleMs > this.baseMs;
  }

  /**
   * Waits before the next poll: the base pause after a poll that found work, else the
   * stretched one; never past a known due time, and not at all after a `wake` that came
   * while polling. `atLeastMs` holds off regardless (after a failure, say).
   */
  wait(foundWork: boolean, atLeastMs = 0): Promise<void> {
    let ms: number;
    if (this.woken) {
      this.woken = false;
      ms = 0;
    } else if (foundWork) {
      this.idleMs = this.baseMs;
      ms = this.baseMs;
    } else {
      ms = this.idleMs;
      this.idleMs = Math.min(this.maxMs, this.idleMs * 2);
    }
    const now = this.timers.now();
    this.dueTimes = this.dueTimes.filter((t) => t > now);
    for (const t of this.dueTimes) ms = Math.min(ms, t - now);
    ms = Math.max(ms, atLeastMs);
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.sleep(now + ms, resolve));
  }

  /** Ends the current pause now (or skips the next one) and starts again from the base pause. */
  wake(): void {
    this.idleMs = this.baseMs;
    if (this.current) this.end();
    else this.woken = true;
  }

  /** Makes sure a poll happens by `at` (ms since epoch), when known work falls due. */
  wakeBy(at: number): void {
    if (this.current && at < this.current.endsAt) {
      const { resolve } = this.current;
      this.timers.clearTimeout(this.current.handle);
      this.sleep(at, resolve);
    } else {
      this.dueTimes.push(at);
    }
  }

  private sleep(endsAt: number, resolve: () => void): void {
    const handle = this.timers.setTimeout(() => this.end(), Math.max(0, endsAt - this.timers.now()));
    this.current = { handle, endsAt, resolve };
  }

  private end(): void {
    const current = this.current;
    if (!current) return;
    this.current = null;
    this.timers.clearTimeout(current.handle);
    current.resolve();
  }
}
