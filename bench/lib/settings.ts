import { envNumber } from './env.ts';

/** The measured seconds per phase of a full run; shorter BENCH_SECONDS scale sizes down. */
export const FULL_SECONDS = 8;

/**
 * Run length. `BENCH_SECONDS` (default 8) is the measured time of each load phase; quick
 * runs (e.g. `BENCH_SECONDS=2 node --import tsx bench/run-all.ts`, or `bench/quick.sh`)
 * also shrink every count derived with `scaled`. `BENCH_WARMUP_SECONDS` defaults to a
 * quarter of it, between 0.5 and 2 s.
 */
export function runLength(): { seconds: number; warmupSeconds: number; quick: boolean } {
  const seconds = envNumber('BENCH_SECONDS', FULL_SECONDS, 600);
  if (seconds <= 0) throw new Error('BENCH_SECONDS must be positive');
  const warmupSeconds = envNumber('BENCH_WARMUP_SECONDS', Math.min(2, Math.max(0.5, seconds / 4)), 600);
  return { seconds, warmupSeconds, quick: seconds < FULL_SECONDS };
}

/** `full` for a full run, proportionally less for a shorter one, never under `min`. */
export function scaled(full: number, min: number, seconds: number): number {
  return Math.max(min, Math.round(full * Math.min(1, seconds / FULL_SECONDS)));
}

/** An integer setting from the environment. */
export function envInt(name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  return Math.floor(envNumber(name, dflt, max));
}
