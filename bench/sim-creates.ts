// Message creates per second the carrier simulator sustains (limits set high, no status
// callbacks), next to a bare node:http server answering the same requests in the same run.
// Prints exactly one JSON line on stdout; progress goes to stderr.
//
//   node --import tsx bench/sim-creates.ts
//   BENCH_SECONDS=8 BENCH_WARMUP_SECONDS=2 BENCH_CONNECTIONS=64 BENCH_CONCURRENCY=128
//   BENCH_PROFILE=1 writes a CPU profile of the simulator child to $BENCH_PROFILE_DIR (default: a tmp dir)
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { envNumber, log, round } from './lib/env.ts';
import { type LoadResult, type RequestSpec, runLoad } from './lib/load.ts';
import { benchPath, type ServerInfo, spawnServer } from './lib/server-child.ts';

interface TwilioServerInfo extends ServerInfo {
  accountSid: string;
  authToken: string;
}

const seconds = envNumber('BENCH_SECONDS', 8, 600);
const warmupSeconds = envNumber('BENCH_WARMUP_SECONDS', 2, 600);
const connections = Math.max(1, Math.floor(envNumber('BENCH_CONNECTIONS', 64, 4096)));
const concurrency = Math.max(1, Math.floor(envNumber('BENCH_CONCURRENCY', 128, 16_384)));
const profile = process.env.BENCH_PROFILE === '1';

const FROM = '+14155550100';
const RECIPIENTS = 1000;

/** A realistic twilio-node create: form body, Basic auth, recipients varied over 1000 numbers. */
function createRequests(info: TwilioServerInfo): (i: number) => RequestSpec {
  const path = `/2010-04-01/Accounts/${info.accountSid}/Messages.json`;
  const headers = {
    authorization: `Basic ${Buffer.from(`${info.accountSid}:${info.authToken}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'user-agent': 'twilio-node/6.3.1 (linux x64) node/v20 bench',
  };
  const bodies = Array.from({ length: RECIPIENTS }, (_, n) => {
    const code = String((n * 7919) % 1_000_000).padStart(6, '0');
    return new URLSearchParams({
      To: `+1415555${2000 + n}`,
      From: FROM,
      Body: `Your Switchboard verification code is ${code}. It expires in 10 min.`,
    }).toString();
  });
  return (i) => ({ path, method: 'POST', headers, body: bodies[i % RECIPIENTS]! });
}

async function measure(label: string, script: string): Promise<LoadResult> {
  const nodeArgs: string[] = [];
  if (profile && label === 'sim') {
    const dir = process.env.BENCH_PROFILE_DIR || join(tmpdir(), 'switchboard-bench-profiles');
    mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    log(`sim: CPU profile goes to ${dir}`);
  }
  const server = await spawnServer<TwilioServerInfo>(benchPath(script), { label, nodeArgs });
  const pool = new Pool(server.info.url, {
    connections,
    pipelining: 1,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    connectTimeout: 5_000,
  });
  try {
    log(`${label}: ${server.info.url}, ${warmupSeconds}s warm-up + ${seconds}s, concurrency ${concurrency}`);
    const result = await runLoad(pool, createRequests(server.info), {
      concurrency,
      warmupMs: warmupSeconds * 1000,
      durationMs: seconds * 1000,
      onError: (e) => log(`${label}: ${e}`),
    });
    log(
      `${label}: ${Math.round(result.perSecond)}/s ok=${result.ok} errors=${result.errors} ` +
        `p50=${result.p50.toFixed(2)}ms p99=${result.p99.toFixed(2)}ms outcomes=${JSON.stringify(result.outcomes)}`,
    );
    return result;
  } finally {
    await pool.close().catch(() => pool.destroy());
    await server.stop();
  }
}

const bare = await measure('bare-http', 'servers/bare-http.ts');
const sim = await measure('sim', 'servers/sim.ts');

process.stdout.write(
  `${JSON.stringify({
    bench: 'sim-creates',
    creates_per_s: round(sim.perSecond),
    bare_http_per_s: round(bare.perSecond),
    ratio: round(bare.perSecond > 0 ? sim.perSecond / bare.perSecond : 0, 3),
    p50_ms: round(sim.p50, 2),
    p99_ms: round(sim.p99, 2),
    bare_p50_ms: round(bare.p50, 2),
    bare_p99_ms: round(bare.p99, 2),
    errors: sim.errors,
    bare_errors: bare.errors,
    seconds,
    warmup_seconds: warmupSeconds,
    connections,
    concurrency,
    node: process.version,
  })}\n`,
);
