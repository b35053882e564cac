import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';

/** One request as undici's `Dispatcher.request` takes it (origin comes from the pool). */
export type RequestSpec = Omit<Dispatcher.RequestOptions, 'origin'>;

export interface LoadOptions {
  /** Requests kept in flight at all times. */
  concurrency: number;
  /** Measured time, after the warm-up. */
  durationMs: number;
  /** Time run first and discarded. */
  warmupMs?: number;
  /** Hard bound on requests issued (warm-up included). */
  maxRequests?: number;
  /** Which statuses count as success; default 2xx. */
  isOk?: (status: number) => boolean;
  /** Called with a short description of the first few failures. */
  onError?: (description: string) => void;
}

export interface LoadResult {
  /** Successful responses completed inside the measured window. */
  ok: number;
  /** Failed responses (status or transport) completed inside the measured window. */
  errors: number;
  /** ok per second of measured time. */
  perSecond: number;
  /** Latency percentiles (ms) of the requests completed inside the window. */
  p50: number;
  p99: number;
  /** Measured seconds (the window actually elapsed). */
  seconds: number;
  /** Requests issued in total, warm-up and tail included. */
  issued: number;
  /** Status (or `error:<code>`) → count, over the measured window. */
  outcomes: Record<string, number>;
}

/** Latency histogram: 10 µs buckets up to 2 s, slower ones kept exactly (bounded by the request count). */
class Latencies {
  private static readonly BUCKET_MS = 0.01;
  private readonly buckets = new Uint32Array(200_000);
  private readonly slow: number[] = [];
  count = 0;

  add(ms: number): void {
    this.count++;
    const i = Math.floor(ms / Latencies.BUCKET_MS);
    if (i < this.buckets.length) this.buckets[i]!++;
    else this.slow.push(ms);
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return (i + 0.5) * Latencies.BUCKET_MS;
    }
    this.slow.sort((a, b) => a - b);
    return this.slow[Math.min(this.slow.length - 1, rank - seen - 1)]!;
  }
}

/**
 * Closed-loop load: `concurrency` workers each issue a request, read the whole response,
 * and issue the next, until the warm-up plus measured time is up (or `maxRequests` is hit).
 * Only completions inside the measured window count.
 */
export async function runLoad(
  dispatcher: Dispatcher,
  makeRequest: (i: number) => RequestSpec,
  options: LoadOptions,
): Promise<LoadResult> {
  const { concurrency, durationMs } = options;
  const warmupMs = options.warmupMs ?? 0;
  const maxRequests = options.maxRequests ?? 50_000_000;
  const isOk = options.isOk ?? ((s: number) => s >= 200 && s < 300);
  if (!(concurrency >= 1 && durationMs > 0 && warmupMs >= 0)) throw new Error('runLoad: bad options');

  const start = performance.now();
  const measureFrom = start + warmupMs;
  const endAt = measureFrom + durationMs;
  const latencies = new Latencies();
  const outcomes: Record<string, number> = {};
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let reported = 0;

  const record = (t0: number, outcome: string, success: boolean) => {
    const t1 = performance.now();
    if (t1 < measureFrom || t1 > endAt) return;
    latencies.add(t1 - t0);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (success) ok++;
    else errors++;
  };
  const report = (what: string) => {
    if (reported++ < 5) options.onError?.(what);
  };

  const worker = async () => {
    while (issued < maxRequests && performance.now() < endAt) {
      const i = issued++;
      const t0 = performance.now();
      try {
        const res = await dispatcher.request(makeRequest(i) as Dispatcher.RequestOptions);
        const success = isOk(res.statusCode);
        if (success) await res.body.dump({ limit: 1 << 20 });
        else report(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
        record(t0, String(res.statusCode), success);
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'unknown';
        report(`request failed: ${String(err)}`);
        record(t0, `error:${code}`, false);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (Math.min(performance.now(), endAt) - measureFrom) / 1000;
  return {
    ok,
    errors,
    perSecond: seconds > 0 ? ok / seconds : 0,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    seconds,
    issued,
    outcomes,
  };
}
