import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { RequestSpec } from './load.ts';

export interface PacedOptions {
  /** Requests started per second, on a fixed schedule whatever the answers do (open loop). */
  ratePerSecond: number;
  /** Measured time, after the warm-up. */
  durationMs: number;
  warmupMs?: number;
  /** Hard bound on requests issued (warm-up included). */
  maxRequests?: number;
  /**
   * Most requests outstanding; a request due while this many are outstanding is not sent and
   * counted as `skipped` (the target cannot keep up: the result says so instead of queueing forever).
   */
  maxInFlight?: number;
  isOk?: (status: number) => boolean;
  onError?: (description: string) => void;
}

export interface PacedResult {
  ok: number;
  errors: number;
  skipped: number;
  /** Completions per second of measured time. */
  perSecond: number;
  /** Latency (ms) from the request's scheduled start, so generator lag and queueing count (no coordinated omission). */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Latency (ms) from when the request was actually handed to the pool. */
  sentP50: number;
  sentP99: number;
  /** How late requests left relative to their schedule (ms, p99): the generator's own lag. */
  lateP99: number;
  seconds: number;
  issued: number;
  outcomes: Record<string, number>;
}

/** Exact percentiles over a bounded sample (the request count is bounded). */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Open-loop load: request i is due at start + i / rate. A 1 ms ticker sends every request
 * that is due (so at most ~1 ms of tick lag, reported as `lateP99`). Only completions inside
 * the measured window count; latency is measured from the scheduled start.
 */
export async function runPaced(
  dispatcher: Dispatcher,
  makeRequest: (i: number) => RequestSpec,
  options: PacedOptions,
): Promise<PacedResult> {
  const { ratePerSecond, durationMs } = options;
  const warmupMs = options.warmupMs ?? 0;
  const maxInFlight = options.maxInFlight ?? 10_000;
  const isOk = options.isOk ?? ((s: number) => s >= 200 && s < 300);
  const maxRequests = Math.min(
    options.maxRequests ?? Number.MAX_SAFE_INTEGER,
    Math.ceil(((warmupMs + durationMs) / 1000) * ratePerSecond) + 1,
  );
  if (!(ratePerSecond > 0 && durationMs > 0)) throw new Error('runPaced: bad options');
  const intervalMs = 1000 / ratePerSecond;

  const start = performance.now();
  const measureFrom = start + warmupMs;
  const endAt = measureFrom + durationMs;
  const fromSchedule = new Float64Array(maxRequests);
  const fromSend = new Float64Array(maxRequests);
  const lateness = new Float64Array(maxRequests);
  let recorded = 0;
  const outcomes: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let skipped = 0;
  let issued = 0;
  let inFlight = 0;
  let reported = 0;
  const pending = new Set<Promise<void>>();

  const record = (scheduled: number, sent: number, outcome: string, success: boolean) => {
    const t1 = performance.now();
    if (t1 < measureFrom || t1 > endAt) return;
    fromSchedule[recorded] = t1 - scheduled;
    fromSend[recorded] = t1 - sent;
    lateness[recorded] = sent - scheduled;
    recorded++;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (success) ok++;
    else errors++;
  };

  const fire = (i: number, scheduled: number) => {
    inFlight++;
    const sent = performance.now();
    const p = (async () => {
      try {
        const res = await dispatcher.request(makeRequest(i) as Dispatcher.RequestOptions);
        const success = isOk(res.statusCode);
        if (success) await res.body.dump({ limit: 1 << 20 });
        else if (reported++ < 5)
          options.onError?.(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
        else await res.body.dump({ limit: 1 << 20 });
        record(scheduled, sent, String(res.statusCode), success);
      } catch (err) {
        if (reported++ < 5) options.onError?.(`request failed: ${String(err)}`);
        record(scheduled, sent, `error:${(err as { code?: string }).code ?? 'unknown'}`, false);
      } finally {
        inFlight--;
      }
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(maxRequests, Math.floor((Math.min(now, endAt) - start) / intervalMs) + 1);
      while (issued < due) {
        const i = issued++;
        const scheduled = start + i * intervalMs;
        if (inFlight >= maxInFlight) {
          if (scheduled >= measureFrom) skipped++;
          continue;
        }
        fire(i, scheduled);
      }
      if (now >= endAt || issued >= maxRequests) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  // Let what is in flight finish (answers after the window do not count), bounded.
  await Promise.race([Promise.all([...pending]), new Promise((r) => setTimeout(r, 10_000))]);

  const seconds = durationMs / 1000;
  const sortedSchedule = fromSchedule.subarray(0, recorded).sort();
  const sortedSend = fromSend.subarray(0, recorded).sort();
  const sortedLate = lateness.subarray(0, recorded).sort();
  return {
    ok,
    errors,
    skipped,
    perSecond: ok / seconds,
    p50: percentile(sortedSchedule, 50),
    p99: percentile(sortedSchedule, 99),
    p999: percentile(sortedSchedule, 99.9),
    max: recorded > 0 ? sortedSchedule[recorded - 1]! : Number.NaN,
    sentP50: percentile(sortedSend, 50),
    sentP99: percentile(sortedSend, 99),
    lateP99: percentile(sortedLate, 99),
    seconds,
    issued,
    outcomes,
  };
}
