// Intake in batches: POST /v1/messages/batch with 1000 messages a request, reported as
// messages per second, against a bare node:http JSON server answering the same batches (one
// result per item) in the same run. The gateway runs in a child process on a fresh temp SQLite
// file as role `api` (the figure judged against the target) and then role `all` on the embedded
// defaults, for reference. Prints exactly one JSON line; progress goes to stderr.
//
//   node --import tsx bench/intake-batch.ts
//   BENCH_SECONDS=8 BENCH_WARMUP_SECONDS=2 BENCH_BATCH_SIZE=1000 BENCH_CONNECTIONS=4 BENCH_CONCURRENCY=4
//   BENCH_ROLES=api,all   BENCH_PROFILE=1 (CPU profile of each gateway child)
import { randomUUID } from 'node:crypto';
import { log, round } from './lib/env.ts';
import { BENCH_API_KEY, benchRecipient, startGatewayChild } from './lib/gateway.ts';
import type { LoadResult, RequestSpec } from './lib/load.ts';
import { benchPool, closedLoop, profileDir, ratio } from './lib/measure.ts';
import { metricTotal, readCpuSeconds, requestText } from './lib/metrics.ts';
import { benchPath, spawnServer } from './lib/server-child.ts';
import { envInt, runLength } from './lib/settings.ts';

const TARGET_MESSAGES_PER_S = 25_000;
const { seconds, warmupSeconds } = runLength();
const batchSize = Math.max(1, envInt('BENCH_BATCH_SIZE', 1000, 1000));
const connections = Math.max(1, envInt('BENCH_CONNECTIONS', 4, 256));
const concurrency = Math.max(1, envInt('BENCH_CONCURRENCY', 4, 256));
const roles = (process.env.BENCH_ROLES || 'api,all').split(',').map((r) => r.trim()) as ('api' | 'all')[];
const profiles = profileDir('intake-batch');
const run = randomUUID().slice(0, 8);

/** Batches of OTP and transactional sends to 10,000 US recipients, each with its idempotency key. */
function batchRequests(): (i: number) => RequestSpec {
  const headers = {
    authorization: `Bearer ${BENCH_API_KEY}`,
    'content-type': 'application/json',
    accept: 'application/json',
  };
  return (i) => {
    const messages = new Array(batchSize);
    for (let k = 0; k < batchSize; k++) {
      const n = i * batchSize + k;
      const code = String((n * 7919) % 1_000_000).padStart(6, '0');
      messages[k] = {
        to: benchRecipient(n),
        body: `Your Switchboard verification code is ${code}. It expires in 10 min.`,
        purpose: n % 4 === 0 ? 'transactional' : 'otp',
        idempotencyKey: `bench-${run}-${n}`,
      };
    }
    return { path: '/v1/messages/batch', method: 'POST', headers, body: JSON.stringify({ messages }) };
  };
}

const loadOptions = { connections, concurrency, seconds, warmupSeconds };

async function measureBare(): Promise<LoadResult> {
  const bare = await spawnServer(benchPath('servers/bare-json.ts'), {
    label: 'bare-json',
    env: { BENCH_API_KEY },
  });
  try {
    return await closedLoop('bare-json batch', bare.info.url, batchRequests(), loadOptions);
  } finally {
    await bare.stop();
  }
}

interface GatewayFigures {
  result: LoadResult;
  created: number;
  invalid: number;
  cpuUsPerMessage: number | null;
}

async function measureGateway(role: 'api' | 'all'): Promise<GatewayFigures> {
  const gw = await startGatewayChild({ label: `gateway-${role}`, config: { role }, profileDir: profiles });
  try {
    const cpu0 = readCpuSeconds(gw.pid);
    const result = await closedLoop(`gateway-${role} batch`, gw.info.url, batchRequests(), loadOptions);
    const cpu1 = readCpuSeconds(gw.pid);
    const pool = benchPool(gw.info.url, 1);
    const metrics = await requestText(pool, '/metrics');
    await pool.close();
    const created = metricTotal(metrics, 'sb_intake_messages_total', 'outcome="created"');
    return {
      result,
      created,
      invalid: metricTotal(metrics, 'sb_intake_messages_total', 'outcome="invalid"'),
      cpuUsPerMessage:
        cpu0 !== null && cpu1 !== null && created > 0 ? round(((cpu1 - cpu0) * 1e6) / created, 1) : null,
    };
  } finally {
    await gw.stop();
  }
}

const bare = await measureBare();
const byRole: Partial<Record<'api' | 'all', GatewayFigures>> = {};
for (const role of roles) byRole[role] = await measureGateway(role);

const perS = (r: LoadResult | undefined) => (r ? r.perSecond * batchSize : 0);
const api = byRole.api;
const all = byRole.all;
log(`role api ${Math.round(perS(api?.result))} messages/s (target >= ${TARGET_MESSAGES_PER_S})`);
process.stdout.write(
  `${JSON.stringify({
    bench: 'intake-batch',
    messages_per_s: api ? round(perS(api.result)) : null,
    target_messages_per_s: TARGET_MESSAGES_PER_S,
    target_met: api ? perS(api.result) >= TARGET_MESSAGES_PER_S : false,
    bare_http_messages_per_s: round(perS(bare)),
    ratio: api ? ratio(perS(api.result), perS(bare)) : null,
    requests_per_s: api ? round(api.result.perSecond, 1) : null,
    p50_ms: api ? round(api.result.p50, 1) : null,
    p99_ms: api ? round(api.result.p99, 1) : null,
    errors: api?.result.errors ?? null,
    items_invalid: api?.invalid ?? null,
    cpu_us_per_msg: api?.cpuUsPerMessage ?? null,
    role_all_messages_per_s: all ? round(perS(all.result)) : null,
    role_all_ratio: all ? ratio(perS(all.result), perS(bare)) : null,
    role_all_p99_ms: all ? round(all.result.p99, 1) : null,
    role_all_errors: all?.result.errors ?? null,
    role_all_cpu_us_per_msg: all?.cpuUsPerMessage ?? null,
    bare_p50_ms: round(bare.p50, 1),
    bare_p99_ms: round(bare.p99, 1),
    bare_errors: bare.errors,
    batch_size: batchSize,
    seconds,
    warmup_seconds: warmupSeconds,
    connections,
    concurrency,
    node: process.version,
  })}\n`,
);
