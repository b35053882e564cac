// The gateway (src/main.ts startGateway) in its own process, for benchmarks.
// Its settings come as JSON (a GatewayChildSpec) in argv[2] or in BENCH_GATEWAY_CONFIG; the
// first stdout line announces { url, port, pid, apiKey, accountSid, authToken, database, ... }.
// Logs go to stderr (level from the spec, default warn) so stdout stays the announcement.

import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  constants,
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import pino from 'pino';
import { type GatewayConfigInput, gatewayConfigSchema, hashApiKey } from '../../src/config/index.ts';
import { startGateway } from '../../src/main.ts';
import { announceServer } from '../lib/server-child.ts';

/** What the parent hands the gateway child. */
export interface GatewayChildSpec {
  /** The gateway config as written (defaults apply); `database` defaults to a fresh temp SQLite file. */
  config: GatewayConfigInput;
  /** API key of tenant `default` (added to `config.tenants`). */
  apiKey: string;
  /** Seed of the embedded simulator (only used without Twilio credentials). */
  simulatorSeed?: number;
  logLevel?: string;
}

const raw = process.argv[2] ?? process.env.BENCH_GATEWAY_CONFIG;
if (!raw) throw new Error('gateway.ts: pass the spec as JSON in argv[2] or BENCH_GATEWAY_CONFIG');
const spec = JSON.parse(raw) as GatewayChildSpec;

let tempDir: string | null = null;
const input: GatewayConfigInput = { ...spec.config };
if (!input.database) {
  tempDir = mkdtempSync(join(tmpdir(), 'sb-bench-gw-'));
  input.database = `sqlite:${join(tempDir, 'switchboard.db')}`;
}
input.tenants = [...(input.tenants ?? []), { id: 'default', apiKeySha256: [hashApiKey(spec.apiKey)] }];
const config = gatewayConfigSchema.parse(input);
const logger = pino({ name: 'switchboard-bench', level: spec.logLevel ?? 'warn' }, pino.destination(2));
const gateway = await startGateway(config, {
  logger,
  ...(spec.simulatorSeed === undefined ? {} : { simulatorSeed: spec.simulatorSeed }),
});

// A side port for the benchmark only: this process's memory (GET /memory, ?gc=1 collects first
// when node runs with --expose-gc), so a benchmark can tell heap from native memory, and its
// event-loop delay (GET /loop: percentiles in ms since the last ?reset=1), to explain latency tails.
const LOOP_RESOLUTION_MS = 1;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loopDelay.enable();
// Time each HTTP exchange spent in this process (request parsed → response finished), so a
// benchmark can tell server-side latency from time spent in socket buffers or the generator.
const serverTime = createHistogram();
const requestStarts = new WeakMap<object, number>();
// And how long each waited in its socket before being parsed, when the sender stamped it
// (bench/lib/paced.ts sends `x-sent-ns`, the host's monotonic clock).
const socketWait = createHistogram();
// One exchange in four: thousands a window still, at a quarter of the cost (the bare server it
// is compared with carries none; every exchange cost ~6 µs of CPU per callback in a profile).
let exchanges = 0;
subscribe('http.server.request.start', (m) => {
  if ((++exchanges & 3) !== 0) return;
  requestStarts.set((m as { response: object }).response, performance.now());
  const sent = (m as { request: { headers: Record<string, string> } }).request.headers['x-sent-ns'];
  if (sent && /^\d+$/.test(sent))
    socketWait.record(Math.max(1, Number(process.hrtime.bigint() - BigInt(sent))));
});
subscribe('http.server.response.finish', (m) => {
  const t0 = requestStarts.get((m as { response: object }).response);
  if (t0 !== undefined) serverTime.record(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
});
// And its garbage-collection pauses, to tell a collector's pause from the gateway's own work.
// By kind too: a scavenge's pause and a full collection's call for different cures.
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
type GcTally = { count: number; maxMs: number; totalMs: number };
let gcByKind: Record<string, GcTally> = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const detail = (entry as { detail?: { kind?: number } }).detail;
    const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
    const t = gcByKind[kind] ?? { count: 0, maxMs: 0, totalMs: 0 };
    t.count++;
    t.totalMs += entry.duration;
    t.maxMs = Math.max(t.maxMs, entry.duration);
    gcByKind[kind] = t;
  }
}).observe({ entryTypes: ['gc'] });
const roundTally = (t: GcTally) => ({
  count: t.count,
  maxMs: Math.round(t.maxMs * 100) / 100,
  totalMs: Math.round(t.totalMs * 10) / 10,
});
/** Nanoseconds as milliseconds, two decimals. */
const nsToMs = (ns: number) => Math.round(ns / 1e4) / 100;
const stats = createServer((req, res) => {
  if (req.url?.startsWith('/loop')) {
    // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
    const ms = (ns: number) => Math.max(0, nsToMs(ns) - LOOP_RESOLUTION_MS);
    const pauses = Object.values(gcByKind);
    const body = JSON.stringify({
      p50Ms: ms(loopDelay.percentile(50)),
      p99Ms: ms(loopDelay.percentile(99)),
      p999Ms: ms(loopDelay.percentile(99.9)),
      maxMs: ms(loopDelay.max),
      meanMs: ms(loopDelay.mean),
      count: loopDelay.count,
      serverP50Ms: nsToMs(serverTime.percentile(50)),
      serverP99Ms: nsToMs(serverTime.percentile(99)),
      serverMaxMs: nsToMs(serverTime.max),
      socketWaitP99Ms: nsToMs(socketWait.percentile(99)),
      gcCount: pauses.reduce((n, t) => n + t.count, 0),
      gcMaxMs: Math.round(Math.max(0, ...pauses.map((t) => t.maxMs)) * 100) / 100,
      gcTotalMs: Math.round(pauses.reduce((n, t) => n + t.totalMs, 0)),
      gcByKind: Object.fromEntries(Object.entries(gcByKind).map(([k, t]) => [k, roundTally(t)])),
    });
    if (req.url.includes('reset=1')) {
      loopDelay.reset();
      serverTime.reset();
      socketWait.reset();
      gcByKind = {};
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (req.url?.includes('gc=1') && gc) gc();
  const mb = (n: number) => Math.round((n / 1_048_576) * 10) / 10;
  const m = process.memoryUsage();
  const h = getHeapStatistics();
  const body = JSON.stringify({
    rssMb: mb(m.rss),
    heapUsedMb: mb(m.heapUsed),
    heapTotalMb: mb(m.heapTotal),
    externalMb: mb(m.external),
    arrayBuffersMb: mb(m.arrayBuffers),
    heapLimitMb: mb(h.heap_size_limit),
    mallocedMb: mb(h.malloced_memory),
    gc: Boolean(gc && req.url?.includes('gc=1')),
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
await new Promise<void>((ok) => stats.listen(0, '127.0.0.1', () => ok()));
stats.unref();

const port = Number(new URL(gateway.url).port);
announceServer(
  {
    url: gateway.url,
    port,
    pid: process.pid,
    role: config.role,
    database: config.database,
    apiKey: spec.apiKey,
    accountSid: config.twilio.accountSid ?? gateway.simulator?.accountSid ?? null,
    // The token callbacks must be signed with.
    authToken: config.twilio.authToken ?? gateway.simulator?.authToken ?? null,
    publicUrl: config.server.publicUrl ?? gateway.url,
    embeddedSimulatorUrl: gateway.simulator?.url ?? null,
    pools: gateway.pools.map((p) => p.id),
    statsUrl: `http://127.0.0.1:${(stats.address() as AddressInfo).port}`,
  },
  async () => {
    try {
      stats.close();
      await gateway.stop();
    } finally {
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    }
  },
);
