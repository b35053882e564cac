// Queue memory: 1,000,000 messages enqueued through batch intake (bounded in time) into a gateway
// (role all, child process, fresh temp SQLite file) whose provider is a carrier simulator child
// with low throughput, so the messages stay queued; the gateway child's RSS (/proc/<pid>/status
// VmRSS) is sampled during the enqueue and then for ~20 s while it dispatches. The bare reference
// is a node:http JSON server's RSS under the same batch requests for a few seconds.
// Prints exactly one JSON line; progress goes to stderr.
//
//   node --import tsx bench/queue-memory.ts
//   BENCH_SECONDS=8 (scales the count and the sampling time) BENCH_QUEUE_MESSAGES=1000000
//   BENCH_QUEUE_MAX_SECONDS=200 (bound on the enqueue) BENCH_SAMPLE_SECONDS=20 BENCH_POOL_MPS=50
//   BENCH_PROFILE=1 (CPU profile of the gateway child)
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { log, round } from './lib/env.ts';
import {
  BENCH_API_KEY,
  benchRecipient,
  type GatewayChild,
  type GatewayMemory,
  type IntakeMessage,
  postBatches,
  sleep,
  startGatewayChild,
  startSimChild,
} from './lib/gateway.ts';
import { benchPool, profileDir } from './lib/measure.ts';
import { metricTotal, readCpuSeconds, readRss, requestJson, requestText } from './lib/metrics.ts';
import { benchPath, type ServerChild, spawnServer } from './lib/server-child.ts';
import { envInt, runLength, scaled } from './lib/settings.ts';

const TARGET_MAX_RSS_MB = 200;
const { seconds } = runLength();
const total = envInt('BENCH_QUEUE_MESSAGES', scaled(1_000_000, 20_000, seconds), 10_000_000);
const maxEnqueueSeconds = envInt('BENCH_QUEUE_MAX_SECONDS', 200, 3600);
const sampleSeconds = envInt('BENCH_SAMPLE_SECONDS', scaled(20, 5, seconds), 600);
const poolMps = envInt('BENCH_POOL_MPS', 50, 10_000);
const profiles = profileDir('queue-memory');
const FROM = '+14155550100';
const run = randomUUID().slice(0, 8);

const makeMessage = (i: number): IntakeMessage => ({
  to: benchRecipient(i),
  body: `Queue bench ${run} message ${i}: your code is ${String((i * 7919) % 1_000_000).padStart(6, '0')}.`,
  purpose: i % 4 === 0 ? 'transactional' : 'otp',
  idempotencyKey: `bench-${run}-${i}`,
});

/** Samples a process's RSS every `everyMs` until stopped; keeps the max and the last. */
function rssSampler(pid: number, everyMs = 250) {
  let max = 0;
  let last = 0;
  let samples = 0;
  const timer = setInterval(() => {
    const r = readRss(pid);
    if (!r) return;
    samples++;
    last = r.rssMb;
    max = Math.max(max, r.rssMb);
  }, everyMs);
  return {
    get max() {
      return max;
    },
    get last() {
      return last;
    },
    get samples() {
      return samples;
    },
    stop() {
      clearInterval(timer);
      const r = readRss(pid);
      if (r) max = Math.max(max, r.rssMb);
      return { max, last: r?.rssMb ?? last, hwm: r?.hwmMb ?? null };
    },
  };
}

// --- bare reference: RSS of a node:http server taking the same batches -------------------------
const bare = await spawnServer(benchPath('servers/bare-json.ts'), {
  label: 'bare-json',
  env: { BENCH_API_KEY },
});
let bareRss: { max: number; last: number; hwm: number | null };
try {
  const pid = Number(bare.info.pid);
  const sampler = rssSampler(pid);
  const pool = benchPool(bare.info.url, 4);
  await postBatches(pool, {
    total: 50_000,
    batchSize: 1000,
    concurrency: 2,
    maxSeconds: Math.max(3, seconds),
    makeMessage,
  });
  await pool.close();
  bareRss = sampler.stop();
  log(`bare-json: max RSS ${bareRss.max.toFixed(1)} MB`);
} finally {
  await bare.stop();
}

// --- the gateway --------------------------------------------------------------------------------
let sim: ServerChild | null = null;
let gw: GatewayChild | null = null;
try {
  sim = await startSimChild('sim-slow', {
    api: { concurrencyLimit: 100_000, queueMaxSeconds: 1e9, maxMessages: 2_000_000 },
    senders: [{ address: FROM, type: 'long_code', mps: poolMps }],
    callbacks: { statuses: [] },
  });
  const simInfo = sim.info as unknown as { url: string; accountSid: string; authToken: string };
  gw = await startGatewayChild({
    label: 'gateway',
    fixedPublicUrl: true,
    profileDir: profiles,
    nodeArgs: ['--expose-gc'],
    config: {
      role: 'all',
      twilio: { accountSid: simInfo.accountSid, authToken: simInfo.authToken, baseUrl: simInfo.url },
      pools: [
        {
          id: 'bench',
          senderType: 'long_code',
          purposes: ['otp', 'transactional', 'conversational'],
          countries: ['US', 'CA'],
          registration: { kind: '10dlc', id: 'CM-bench', status: 'approved' },
          numbers: [{ address: FROM, mps: poolMps }],
        },
      ],
    },
  });
  const pid = gw.pid;
  const startRss = readRss(pid)?.rssMb ?? Number.NaN;
  const pool = benchPool(gw.info.url, 4);
  const statsPool = benchPool(gw.info.statsUrl, 1);
  const memory = (gc = false) => requestJson<GatewayMemory>(statsPool, `/memory${gc ? '?gc=1' : ''}`);
  // Heap vs native: the largest heap and external figures seen while sampling.
  let maxHeapUsed = 0;
  let maxExternal = 0;
  let memPolling = true;
  const memPoller = (async () => {
    while (memPolling) {
      try {
        const m = await memory();
        maxHeapUsed = Math.max(maxHeapUsed, m.heapUsedMb);
        maxExternal = Math.max(maxExternal, m.externalMb);
      } catch {
        // The child is busy or gone; the RSS sampler still runs.
      }
      await sleep(1000);
    }
  })();

  log(
    `enqueueing ${total} messages (bounded to ${maxEnqueueSeconds}s); gateway RSS at start ${startRss.toFixed(1)} MB`,
  );
  const enqueueSampler = rssSampler(pid);
  let lastLog = 0;
  const cpu0 = readCpuSeconds(pid);
  const enqueue = await postBatches(pool, {
    total,
    batchSize: 1000,
    concurrency: 2,
    makeMessage,
    maxSeconds: maxEnqueueSeconds,
    onProgress: (accepted, s) => {
      if (s - lastLog >= 10) {
        lastLog = s;
        log(
          `  ${accepted} accepted after ${s.toFixed(0)}s (${Math.round(accepted / s)}/s), RSS ${enqueueSampler.last.toFixed(1)} MB`,
        );
      }
    },
  });
  const cpu1 = readCpuSeconds(pid);
  const enqueueRss = enqueueSampler.stop();
  log(
    `enqueued ${enqueue.accepted} in ${enqueue.seconds.toFixed(1)}s (${Math.round(enqueue.accepted / enqueue.seconds)}/s)` +
      `${enqueue.timedOut ? ' — stopped by the time bound' : ''}; max RSS ${enqueueRss.max.toFixed(1)} MB`,
  );

  // --- dispatching with ~the whole queue waiting ----------------------------------------------
  const before = metricTotal(await requestText(pool, '/metrics'), 'sb_messages_submitted_total');
  const dispatchSampler = rssSampler(pid);
  const t0 = performance.now();
  const cpu2 = readCpuSeconds(pid);
  await sleep(sampleSeconds * 1000);
  const cpu3 = readCpuSeconds(pid);
  const dispatchSeconds = (performance.now() - t0) / 1000;
  const dispatchRss = dispatchSampler.stop();
  memPolling = false;
  await memPoller;
  const beforeGc = await memory();
  const afterGc = await memory(true);
  log(`gateway memory before GC ${JSON.stringify(beforeGc)}; after a full GC ${JSON.stringify(afterGc)}`);
  await statsPool.close();
  const scrapeStart = performance.now();
  const metrics = await requestText(pool, '/metrics');
  const scrapeMs = performance.now() - scrapeStart;
  await pool.close();
  const submitted = metricTotal(metrics, 'sb_messages_submitted_total') - before;
  const queueDepth = metricTotal(metrics, 'queue_depth');
  log(
    `dispatch: ${submitted} submitted in ${dispatchSeconds.toFixed(1)}s, queue_depth ${queueDepth}, ` +
      `max RSS ${dispatchRss.max.toFixed(1)} MB (VmHWM ${dispatchRss.hwm?.toFixed(1)} MB), /metrics took ${scrapeMs.toFixed(0)} ms`,
  );
  const maxRss = Math.max(enqueueRss.max, dispatchRss.max);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'queue-memory',
      max_rss_mb: round(maxRss, 1),
      target_max_rss_mb: TARGET_MAX_RSS_MB,
      target_met: maxRss < TARGET_MAX_RSS_MB,
      count_target: total,
      enqueued: enqueue.accepted,
      enqueue_failed: enqueue.failed,
      enqueue_timed_out: enqueue.timedOut,
      enqueue_seconds: round(enqueue.seconds, 1),
      enqueue_per_s: round(enqueue.accepted / enqueue.seconds),
      enqueue_max_rss_mb: round(enqueueRss.max, 1),
      enqueue_cpu_us_per_msg:
        cpu0 !== null && cpu1 !== null && enqueue.accepted > 0
          ? round(((cpu1 - cpu0) * 1e6) / enqueue.accepted, 1)
          : null,
      dispatch_max_rss_mb: round(dispatchRss.max, 1),
      dispatch_last_rss_mb: round(dispatchRss.last, 1),
      vm_hwm_mb: dispatchRss.hwm === null ? null : round(dispatchRss.hwm, 1),
      start_rss_mb: round(startRss, 1),
      max_heap_used_mb: maxHeapUsed,
      max_external_mb: maxExternal,
      heap_used_end_mb: beforeGc.heapUsedMb,
      heap_used_after_gc_mb: afterGc.heapUsedMb,
      rss_after_gc_mb: afterGc.rssMb,
      sample_seconds: round(dispatchSeconds, 1),
      submitted_while_sampling: submitted,
      pool_mps: poolMps,
      dispatch_cpu_percent:
        cpu2 !== null && cpu3 !== null ? round(((cpu3 - cpu2) / dispatchSeconds) * 100, 1) : null,
      queue_depth: queueDepth,
      metrics_scrape_ms: round(scrapeMs),
      bare_http_max_rss_mb: round(bareRss.max, 1),
      ratio: bareRss.max > 0 ? round(maxRss / bareRss.max, 2) : null,
      node: process.version,
    })}\n`,
  );
} finally {
  await gw?.stop(15_000);
  await sim?.stop();
}
