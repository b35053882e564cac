import type { PoolConfig } from '../config/index.ts';

/** GCRA state for one key: its theoretical arrival time (ms). */
export interface GcraState {
  tat: number;
}

/**
 * Generic Cell Rate Algorithm, as a schedule: the earliest time at which one more event may
 * happen for a key paced at one event per `intervalMs`, allowing `burst` events back to back.
 * Smooth, not windowed: no boundary lets two windows' worth through at once.
 */
export function earliestStart(state: GcraState, now: number, intervalMs: number, burst: number): number {
  const tolerance = (Math.max(1, burst) - 1) * intervalMs;
  return Math.max(now, state.tat - tolerance);
}

/** Books the event at `start` (≥ earliestStart), advancing the key's theoretical arrival time. */
export function book(state: GcraState, start: number, intervalMs: number): void {
  state.tat = Math.max(state.tat, start) + intervalMs;
}

/** The lowest a pool is slowed to after repeated 429s (share of its numbers' MPS). */
export const MIN_RATE_FACTOR = 0.05;

/** Calls this close together are never spread: timers fire at 1 ms granularity, a few ms late under load. */
const TIMER_SLACK_MS = 5;

/**
 * GCRA over the provider calls this process actually makes, per sender number. The shared
 * schedule spaces the slots, but a call can leave late (an event-loop stall, a slow attempt
 * write) and the calls of every slot that passed meanwhile would then leave back to back: a
 * 700 ms stall at 10 MPS sent six within 13–29 ms (test/dispatch). Checked just before each
 * call, this spreads them out again at the number's MPS. It allows more calls back to back than
 * the pool's burst: one more, or as many as fit in 5 ms at a high MPS, so that calls on their
 * slots, late by timer jitter, are never delayed. The delay it adds is the longest lateness
 * less that slack, and stays so until the number's traffic pauses; it never grows.
 */
export class CallSpacing {
  private readonly senders = new Map<string, GcraState>();
  /** Each pool's numbers by address, with their MPS (a reloaded config brings new pool objects). */
  private readonly numbers = new WeakMap<object, ReadonlyMap<string, number>>();

  /**
   * How long (ms) a call from `sender` of `pool` must wait from `now` to keep the number's
   * pace (its MPS times `rateFactor`, below 1 while the pool is slowed down after 429s: late
   * calls then catch up no faster than the slowed pace); books that time. 0 for a sender the
   * pool does not list.
   */
  reserve(pool: Pick<PoolConfig, 'numbers' | 'burst'>, sender: string, now: number, rateFactor = 1): number {
    let byAddress = this.numbers.get(pool);
    if (!byAddress) {
      byAddress = new Map(pool.numbers.map((n) => [n.address, n.mps]));
      this.numbers.set(pool, byAddress);
    }
    const mps = byAddress.get(sender);
    if (mps === undefined) return 0;
    let state = this.senders.get(sender);
    if (!state) {
      state = { tat: now };
      this.senders.set(sender, state);
    }
    // Clamped to the schedule's own range (not a number: its floor).
    const factor = rateFactor > MIN_RATE_FACTOR ? Math.min(1, rateFactor) : MIN_RATE_FACTOR;
    const interval = 1000 / (mps * factor);
    const slack = Math.max(1, Math.ceil(TIMER_SLACK_MS / interval));
    const start = earliestStart(state, now, interval, pool.burst + slack);
    book(state, start, interval);
    return start - now;
  }
}
