// Dispatch end to end: N messages enter through batch intake while the worker runs, and the
// gateway (role all, child process, fresh temp SQLite file) hands them to the carrier simulator
// (its own child process, limits high). Measured: accepted → submitted, as the simulator saw the
// creates (first to last createdAt) and as the gateway counted them (sb_messages_submitted_total),
// first with status callbacks off (simulator `callbacks.statuses: []`), then on (simulator
// defaults; the gateway ingests and applies them meanwhile). Zero duplicates is checked at the
// simulator (duplicateBodies in /sim/stats and unique bodies == N). The ceiling is a bare
// node:http server answering the same Twilio creates at the gateway's provider concurrency.
// Prints exactly one JSON line; progress goes to stderr.
//
//   node --import tsx bench/dispatch-e2e.ts
//   BENCH_SECONDS=8 (scales N) BENCH_MESSAGES=20000 BENCH_NUMBER_MPS=5000 BENCH_NUMBERS=4
//   BENCH_PROVIDER_CONCURRENCY=64 BENCH_PURPOSE=transactional BENCH_PHASES=off,on
//   BENCH_PROFILE=1 (CPU profile of each gateway child)
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { log, round } from './lib/env.ts';
import {
  BENCH_API_KEY,
  benchRecipient,
  type GatewayChild,
  type IntakeMessage,
  postBatches,
  sleep,
  startGatewayChild,
  startSimChild,
} from './lib/gateway.ts';
import type { RequestSpec } from './lib/load.ts';
import { benchPool, closedLoop, profileDir, ratio } from './lib/measure.ts';
import { metricTotal, readCpuSeconds, requestJson, requestText } from './lib/metrics.ts';
import { benchPath, spawnServer } from './lib/server-child.ts';
import { envInt, runLength, scaled } from './lib/settings.ts';

const TARGET_PER_S = 2_500;
const { seconds, warmupSeconds } = runLength();
const N = envInt('BENCH_MESSAGES', scaled(20_000, 2_000, seconds), 1_000_000);
const numberMps = envInt('BENCH_NUMBER_MPS', 5_000, 10_000);
const numberCount = Math.min(8, Math.max(1, envInt('BENCH_NUMBERS', 4, 8)));
const providerConcurrency = Math.max(1, envInt('BENCH_PROVIDER_CONCURRENCY', 64, 1000));
const purpose = (process.env.BENCH_PURPOSE || 'transactional') as IntakeMessage['purpose'];
const phases = (process.env.BENCH_PHASES || 'off,on').split(',').map((p) => p.trim()) as ('off' | 'on')[];
const profiles = profileDir('dispatch-e2e');
/** Bounds each phase's wait for the last submission, and the wait for callbacks to settle. */
const maxDispatchSeconds = Math.max(30, N / 250);
const settleSeconds = Math.max(10, Math.min(30, seconds * 3));
const NUMBERS = [
  '+14155550100',
  '+14155550101',
  '+12125550102',
  '+14155550103',
  '+14155550104',
  '+14155550105',
  '+14155550106',
  '+14155550107',
].slice(0, numberCount);

interface SimMessageView {
  seq: number;
  from: string;
  body: string;
  direction: string;
  status: string;
  createdAt: number;
  callbacks: { errorCode: number | null }[];
}

interface PhaseResult {
  callbacks: 'off' | 'on';
  intakeSeconds: number;
  intakeAccepted: number;
  simMessages: number;
  simPerSecond: number | null;
  gatewayPerSecond: number | null;
  /** Busiest one-second window of submissions counted by the gateway. */
  gatewayPeakPerSecond: number | null;
  timedOut: boolean;
  duplicateBodies: number;
  uniqueBodies: number;
  cpuUsPerMessage: number | null;
  retries: number;
  rateLimited: number;
  deadLetters: number;
  callbacksStored: number | null;
  statusTransitions: number | null;
  simCallbackAttempts: number | null;
  simCallbackFailures: number | null;
  callbackRejected: number | null;
}

async function allSimMessages(sim: Pool): Promise<SimMessageView[]> {
  const out: SimMessageView[] = [];
  let afterSeq = 0;
  for (let page = 0; page < 100; page++) {
    const { messages } = await requestJson<{ messages: SimMessageView[] }>(
      sim,
      `/sim/messages?direction=outbound-api&limit=50000&afterSeq=${afterSeq}`,
    );
    if (messages.length === 0) break;
    out.push(...messages);
    afterSeq = messages[messages.length - 1]!.seq;
  }
  return out;
}

async function runPhase(callbacks: 'off' | 'on'): Promise<PhaseResult> {
  const run = randomUUID().slice(0, 8);
  const label = `callbacks-${callbacks}`;
  const simChild = await startSimChild(`sim-${callbacks}`, {
    api: { concurrencyLimit: 100_000, queueMaxSeconds: 1e9, maxMessages: 2_000_000 },
    senders: NUMBERS.map((address) => ({ address, type: 'long_code', mps: 1_000_000 })),
    ...(callbacks === 'off' ? { callbacks: { statuses: [] } } : {}),
  });
  let gw: GatewayChild | null = null;
  const simPool = benchPool(simChild.info.url, 4);
  let gwPool: Pool | null = null;
  try {
    gw = await startGatewayChild({
      label: `gateway-${label}`,
      fixedPublicUrl: true,
      profileDir: profiles,
      config: {
        role: 'all',
        twilio: {
          accountSid: simChild.info.accountSid,
          authToken: simChild.info.authToken,
          baseUrl: simChild.info.url,
          maxConcurrency: providerConcurrency,
        },
        pools: [
          {
            id: 'bench',
            senderType: 'long_code',
            purposes: ['otp', 'transactional', 'conversational'],
            countries: ['US', 'CA'],
            registration: { kind: '10dlc', id: 'CM-bench', status: 'approved' },
            numbers: NUMBERS.map((address) => ({ address, mps: numberMps })),
          },
        ],
      },
    });
    gwPool = benchPool(gw.info.url, 4);
    const metricsPool = benchPool(gw.info.url, 1);
    const makeMessage = (i: number): IntakeMessage => ({
      to: benchRecipient(i),
      body: `Bench ${run} message ${i}: your code is ${String((i * 7919) % 1_000_000).padStart(6, '0')}.`,
      purpose,
      idempotencyKey: `bench-${run}-${i}`,
    });
    const cpu0 = readCpuSeconds(gw.pid);
    const started = performance.now();
    // Gateway-side submissions over time, sampled while intake and dispatch run.
    const samples: { t: number; submitted: number; cpu: number | null }[] = [];
    let sampling = true;
    let lastMetrics = '';
    const sampler = (async () => {
      while (sampling) {
        try {
          lastMetrics = await requestText(metricsPool, '/metrics');
          samples.push({
            t: performance.now(),
            submitted: metricTotal(lastMetrics, 'sb_messages_submitted_total'),
            cpu: readCpuSeconds(gw!.pid),
          });
        } catch (err) {
          log(`${label}: metrics: ${String(err)}`);
        }
        await sleep(250);
      }
    })();

    log(`${label}: posting ${N} messages in batches of 1000 while the worker runs`);
    const intake = await postBatches(gwPool, {
      total: N,
      batchSize: 1000,
      concurrency: 2,
      makeMessage,
      maxSeconds: maxDispatchSeconds,
    });
    log(
      `${label}: intake accepted ${intake.accepted} in ${intake.seconds.toFixed(2)}s (${intake.failed} failed)`,
    );

    const deadline = started + maxDispatchSeconds * 1000;
    let timedOut = false;
    for (;;) {
      const last = samples[samples.length - 1]?.submitted ?? 0;
      if (last >= intake.accepted) break;
      if (performance.now() > deadline) {
        timedOut = true;
        log(`${label}: gave up waiting after ${maxDispatchSeconds}s at ${last} submitted`);
        break;
      }
      await sleep(100);
    }
    if (timedOut) await logStuck(gwPool, label);
    const dispatchSeconds = (performance.now() - started) / 1000;
    log(
      `${label}: ${samples[samples.length - 1]?.submitted ?? 0} submitted after ${dispatchSeconds.toFixed(2)}s`,
    );

    // With callbacks on, wait until the gateway stops receiving them (bounded).
    if (callbacks === 'on') {
      const settleBy = performance.now() + settleSeconds * 1000;
      let previous = -1;
      let stableSince = performance.now();
      while (performance.now() < settleBy) {
        await sleep(500);
        const stored = metricTotal(lastMetrics, 'sb_callbacks_total');
        if (stored !== previous) {
          previous = stored;
          stableSince = performance.now();
        } else if (performance.now() - stableSince > 3000) break;
      }
      log(`${label}: callbacks settled at ${previous} stored`);
    }
    sampling = false;
    await sampler;
    const metrics = await requestText(metricsPool, '/metrics');
    await metricsPool.close();

    const stats = await requestJson<{ total: number; duplicateBodies: number }>(simPool, '/sim/stats');
    const messages = (await allSimMessages(simPool)).filter((m) => m.body.startsWith(`Bench ${run} `));
    const created = messages.map((m) => m.createdAt).sort((a, b) => a - b);
    const uniqueBodies = new Set(messages.map((m) => m.body)).size;
    const span = created.length > 1 ? (created[created.length - 1]! - created[0]!) / 1000 : 0;
    const simPerSecond = span > 0 ? (created.length - 1) / span : null;

    // Gateway rate: from the first sample with a submission to the first that reached the total.
    const first = samples.find((s) => s.submitted > 0);
    const done = samples.find((s) => s.submitted >= intake.accepted) ?? samples[samples.length - 1];
    // CPU up to the sample that saw the last submission (not the settling wait).
    const cpu1 = done?.cpu ?? null;
    const gatewayPerSecond =
      first && done && done.t > first.t
        ? (done.submitted - first.submitted) / ((done.t - first.t) / 1000)
        : null;
    let peak = 0;
    for (let i = 0, j = 0; i < samples.length; i++) {
      while (samples[i]!.t - samples[j]!.t > 1000) j++;
      if (i > j)
        peak = Math.max(
          peak,
          ((samples[i]!.submitted - samples[j]!.submitted) * 1000) / (samples[i]!.t - samples[j]!.t),
        );
    }
    const attempts = callbacks === 'on' ? messages.reduce((s, m) => s + m.callbacks.length, 0) : null;
    const failures =
      callbacks === 'on'
        ? messages.reduce((s, m) => s + m.callbacks.filter((c) => c.errorCode !== null).length, 0)
        : null;
    const result: PhaseResult = {
      callbacks,
      intakeSeconds: intake.seconds,
      intakeAccepted: intake.accepted,
      simMessages: messages.length,
      simPerSecond,
      gatewayPerSecond,
      gatewayPeakPerSecond: peak || null,
      timedOut,
      duplicateBodies: stats.duplicateBodies,
      uniqueBodies,
      cpuUsPerMessage:
        cpu0 !== null && cpu1 !== null && done && done.submitted > 0
          ? ((cpu1 - cpu0) * 1e6) / done.submitted
          : null,
      retries: metricTotal(metrics, 'sb_retries_total'),
      rateLimited: metricTotal(metrics, 'sb_provider_429_total'),
      deadLetters: metricTotal(metrics, 'sb_dead_letters_total'),
      callbacksStored:
        callbacks === 'on' ? metricTotal(metrics, 'sb_callbacks_total', 'result="stored"') : null,
      statusTransitions: callbacks === 'on' ? metricTotal(metrics, 'sb_status_transitions_total') : null,
      simCallbackAttempts: attempts,
      simCallbackFailures: failures,
      callbackRejected: callbacks === 'on' ? metricTotal(metrics, 'sb_callback_failures_total') : null,
    };
    log(`${label}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await gwPool?.close().catch(() => {});
    await simPool.close().catch(() => {});
    await gw?.stop();
    await simChild.stop();
  }
}

/** Logs (stderr) a few messages still waiting, with their history, to show why they are stuck. */
async function logStuck(gwPool: Pool, label: string): Promise<void> {
  const headers = { authorization: `Bearer ${BENCH_API_KEY}` };
  for (const status of ['queued', 'sending']) {
    try {
      const page = await requestJson<{ messages: { id: string }[] }>(
        gwPool,
        `/v1/messages?status=${status}&limit=3`,
        { headers },
      );
      for (const m of page.messages) {
        const full = await requestJson(gwPool, `/v1/messages/${m.id}`, { headers });
        log(`${label}: still ${status}: ${JSON.stringify(full)}`);
      }
    } catch (err) {
      log(`${label}: could not list ${status} messages: ${String(err)}`);
    }
  }
}

/** A realistic twilio-node create for the bare ceiling (as bench/sim-creates.ts sends). */
function createRequests(info: { accountSid: string; authToken: string }): (i: number) => RequestSpec {
  const path = `/2010-04-01/Accounts/${info.accountSid}/Messages.json`;
  const headers = {
    authorization: `Basic ${Buffer.from(`${info.accountSid}:${info.authToken}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  return (i) => ({
    path,
    method: 'POST',
    headers,
    body: new URLSearchParams({
      To: benchRecipient(i),
      From: NUMBERS[i % NUMBERS.length]!,
      Body: `Bench message ${i}: your code is ${String((i * 7919) % 1_000_000).padStart(6, '0')}.`,
      StatusCallback: `http://127.0.0.1:9/webhooks/twilio/status?mid=msg_${i}`,
    }).toString(),
  });
}

const bareServer = await spawnServer<{ url: string; port: number; accountSid: string; authToken: string }>(
  benchPath('servers/bare-http.ts'),
  { label: 'bare-http' },
);
let bare: Awaited<ReturnType<typeof closedLoop>>;
try {
  bare = await closedLoop('bare-http creates', bareServer.info.url, createRequests(bareServer.info), {
    connections: providerConcurrency,
    concurrency: providerConcurrency,
    seconds,
    warmupSeconds,
  });
} finally {
  await bareServer.stop();
}

const results: Partial<Record<'off' | 'on', PhaseResult>> = {};
for (const phase of phases) results[phase] = await runPhase(phase);
const off = results.off;
const on = results.on;
const duplicatesFree = Object.values(results).every(
  (r) => r.duplicateBodies === 0 && r.uniqueBodies === r.simMessages && r.simMessages === r.intakeAccepted,
);

process.stdout.write(
  `${JSON.stringify({
    bench: 'dispatch-e2e',
    per_s: off?.simPerSecond ? round(off.simPerSecond) : null,
    target_per_s: TARGET_PER_S,
    target_met: (off?.simPerSecond ?? 0) >= TARGET_PER_S && !off?.timedOut,
    bare_http_per_s: round(bare.perSecond),
    ratio: off?.simPerSecond ? ratio(off.simPerSecond, bare.perSecond) : null,
    gateway_counted_per_s: off?.gatewayPerSecond ? round(off.gatewayPerSecond) : null,
    peak_1s_per_s: off?.gatewayPeakPerSecond ? round(off.gatewayPeakPerSecond) : null,
    cpu_us_per_msg: off?.cpuUsPerMessage ? round(off.cpuUsPerMessage, 1) : null,
    callbacks_on_per_s: on?.simPerSecond ? round(on.simPerSecond) : null,
    callbacks_on_ratio: on?.simPerSecond ? ratio(on.simPerSecond, bare.perSecond) : null,
    callbacks_on_gateway_counted_per_s: on?.gatewayPerSecond ? round(on.gatewayPerSecond) : null,
    callbacks_on_cpu_us_per_msg: on?.cpuUsPerMessage ? round(on.cpuUsPerMessage, 1) : null,
    callbacks_on_stored: on?.callbacksStored ?? null,
    callbacks_on_applied_transitions: on?.statusTransitions ?? null,
    callbacks_on_sim_attempts: on?.simCallbackAttempts ?? null,
    callbacks_on_sim_failures: on?.simCallbackFailures ?? null,
    callbacks_on_rejected: on?.callbackRejected ?? null,
    messages: N,
    sim_messages: off?.simMessages ?? null,
    callbacks_on_sim_messages: on?.simMessages ?? null,
    duplicate_bodies: off?.duplicateBodies ?? null,
    callbacks_on_duplicate_bodies: on?.duplicateBodies ?? null,
    unique_bodies: off?.uniqueBodies ?? null,
    callbacks_on_unique_bodies: on?.uniqueBodies ?? null,
    zero_duplicates: duplicatesFree,
    timed_out: Object.values(results).some((r) => r.timedOut),
    retries: off?.retries ?? null,
    provider_429: off?.rateLimited ?? null,
    dead_letters: off?.deadLetters ?? null,
    intake_seconds: off ? round(off.intakeSeconds, 2) : null,
    numbers: numberCount,
    number_mps: numberMps,
    provider_concurrency: providerConcurrency,
    purpose,
    bare_p99_ms: round(bare.p99, 2),
    seconds,
    node: process.version,
  })}\n`,
);
