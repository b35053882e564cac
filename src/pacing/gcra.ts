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
