import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { log, round } from './env.ts';
import { type LoadResult, type RequestSpec, runLoad } from './load.ts';

export interface ClosedLoopOptions {
  connections: number;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  maxRequests?: number;
  isOk?: (status: number) => boolean;
}

/** A keep-alive undici Pool to a bench server (one request per connection at a time). */
export function benchPool(url: string, connections: number): Pool {
  return new Pool(url, {
    connections,
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    connectTimeout: 5_000,
  });
}

/** Closed-loop load against `url` through its own Pool, logged to stderr. */
export async function closedLoop(
  label: string,
  url: string,
  makeRequest: (i: number) => RequestSpec,
  options: ClosedLoopOptions,
): Promise<LoadResult> {
  const pool = benchPool(url, options.connections);
  try {
    log(
      `${label}: ${url}, ${options.warmupSeconds}s warm-up + ${options.seconds}s, ` +
        `concurrency ${options.concurrency} on ${options.connections} connections`,
    );
    const result = await runLoad(pool, makeRequest, {
      concurrency: options.concurrency,
      warmupMs: options.warmupSeconds * 1000,
      durationMs: options.seconds * 1000,
      ...(options.maxRequests === undefined ? {} : { maxRequests: options.maxRequests }),
      ...(options.isOk ? { isOk: options.isOk } : {}),
      onError: (e) => log(`${label}: ${e}`),
    });
    log(
      `${label}: ${Math.round(result.perSecond)}/s ok=${result.ok} errors=${result.errors} ` +
        `p50=${result.p50.toFixed(2)}ms p99=${result.p99.toFixed(2)}ms outcomes=${JSON.stringify(result.outcomes)}`,
    );
    return result;
  } finally {
    await pool.close().catch(() => pool.destroy());
  }
}

/** `ours / bare`, rounded; null when the bare figure is missing. */
export function ratio(ours: number, bare: number, digits = 3): number | null {
  return bare > 0 ? round(ours / bare, digits) : null;
}

/** Where CPU profiles go when BENCH_PROFILE=1 (BENCH_PROFILE_DIR, default a tmp dir), else undefined. */
export function profileDir(bench: string): string | undefined {
  if (process.env.BENCH_PROFILE !== '1') return undefined;
  return join(process.env.BENCH_PROFILE_DIR || join(tmpdir(), 'switchboard-bench-profiles'), bench);
}
