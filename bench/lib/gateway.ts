import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { GatewayConfigInput } from '../../src/config/index.ts';
import { log } from './env.ts';
import { benchPath, repoRoot, type ServerChild, type ServerInfo, spawnServer } from './server-child.ts';

/** The API key benchmark gateways (and the bare JSON server) accept. */
export const BENCH_API_KEY = 'sk_bench_0123456789abcdef0123456789';

/** What bench/servers/gateway.ts announces. */
export interface GatewayInfo extends ServerInfo {
  pid: number;
  role: string;
  database: string;
  apiKey: string;
  accountSid: string | null;
  authToken: string | null;
  publicUrl: string;
  embeddedSimulatorUrl: string | null;
  pools: string[];
  /** The child's side port: GET /memory (process.memoryUsage, ?gc=1 to collect first). */
  statsUrl: string;
}

/** What GET <statsUrl>/loop answers: event-loop delay percentiles since the last reset. */
export interface GatewayLoopDelay {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  count: number;
  /** Time requests spent in the gateway (parsed → response finished), ms. */
  serverP50Ms: number;
  serverP99Ms: number;
  serverMaxMs: number;
  /** How long stamped requests (`x-sent-ns`) waited in their socket before being parsed, ms. */
  socketWaitP99Ms: number;
  /** Garbage-collection pauses: how many, the longest (ms) and their total (ms). */
  gcCount: number;
  gcMaxMs: number;
  gcTotalMs: number;
  /** The same by kind (`minor`, `major`, `incremental`, `weakcb`). */
  gcByKind: Record<string, { count: number; maxMs: number; totalMs: number }>;
}

/** What GET <statsUrl>/memory answers. */
export interface GatewayMemory {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  heapLimitMb: number;
  mallocedMb: number;
  gc: boolean;
}

/** What a Twilio-like bench server (bench/servers/sim.ts, bare-http.ts) announces. */
export interface TwilioServerInfo extends ServerInfo {
  accountSid: string;
  authToken: string;
}

export interface GatewayChildOptions {
  label: string;
  /** The gateway config as written; `database` defaults to a fresh temp SQLite file (removed at stop). */
  config: GatewayConfigInput;
  /**
   * Listen on a port picked here and set `server.publicUrl` to http://127.0.0.1:<port>, so a
   * signer knows the URL callbacks are verified against before the gateway starts.
   */
  fixedPublicUrl?: boolean;
  /** Write a CPU profile of the child (node --cpu-prof) into this directory. */
  profileDir?: string | undefined;
  simulatorSeed?: number;
  logLevel?: string;
  /** Extra node flags for the child (e.g. --expose-gc, --max-old-space-size=…). */
  nodeArgs?: string[];
}

/** A gateway child process with its temp database. */
export interface GatewayChild extends ServerChild<GatewayInfo> {
  pid: number;
}

/** A free loopback port (closed again before it is returned; a small race is accepted). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

let compiledGateway: string | null = null;

/**
 * The gateway child script. Production runs compiled JavaScript (bin/switchboard.js loads dist/),
 * so the benchmark compiles bench/servers/gateway.ts with src/ once per run and starts that, with
 * no TypeScript loader in the measured process; BENCH_GATEWAY_TSX=1 runs the source through tsx.
 */
function gatewayScript(): string {
  if (process.env.BENCH_GATEWAY_TSX === '1') return benchPath('servers/gateway.ts');
  if (!compiledGateway) {
    execFileSync(
      process.execPath,
      [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', benchPath('tsconfig.servers.json')],
      {
        cwd: repoRoot,
        stdio: 'inherit',
      },
    );
    compiledGateway = join(repoRoot, 'dist-bench/bench/servers/gateway.js');
  }
  return compiledGateway;
}

/** The node flags of bin/switchboard.js's shebang (the heap bound), so the child runs as `serve` does. */
function launcherNodeFlags(): string[] {
  const shebang = readFileSync(join(repoRoot, 'bin/switchboard.js'), 'utf8').split('\n', 1)[0] ?? '';
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}

/** Starts bench/servers/gateway.ts in a child process with a fresh SQLite file. */
export async function startGatewayChild(options: GatewayChildOptions): Promise<GatewayChild> {
  const config: GatewayConfigInput = { ...options.config, server: { ...options.config.server } };
  let dir: string | null = null;
  if (!config.database) {
    dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
    config.database = `sqlite:${join(dir, 'switchboard.db')}`;
  }
  if (options.fixedPublicUrl) {
    const port = await freePort();
    config.server = { ...config.server, port, host: '127.0.0.1', publicUrl: `http://127.0.0.1:${port}` };
  } else {
    config.server = { port: 0, host: '127.0.0.1', ...config.server };
  }
  // BENCH_GATEWAY_NODE_ARGS (space-separated) adds node flags to every gateway child, for experiments.
  const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const nodeArgs: string[] = [...launcherNodeFlags(), ...(options.nodeArgs ?? []), ...extra];
  if (options.profileDir) {
    mkdirSync(options.profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
    log(`${options.label}: CPU profile goes to ${options.profileDir}`);
  }
  const spec = {
    config,
    apiKey: BENCH_API_KEY,
    logLevel: options.logLevel ?? 'warn',
    ...(options.simulatorSeed === undefined ? {} : { simulatorSeed: options.simulatorSeed }),
  };
  let server: ServerChild<GatewayInfo>;
  try {
    server = await spawnServer<GatewayInfo>(gatewayScript(), {
      label: options.label,
      nodeArgs,
      env: { BENCH_GATEWAY_CONFIG: JSON.stringify(spec) },
      startTimeoutMs: 60_000,
    });
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...server,
    pid: server.info.pid,
    async stop(graceMs = 10_000) {
      try {
        await server.stop(graceMs);
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A simulator child (bench/servers/sim.ts) with this config replacing its defaults field by field. */
export async function startSimChild(label: string, simConfig: Record<string, unknown>) {
  return spawnServer<TwilioServerInfo>(benchPath('servers/sim.ts'), {
    label,
    env: { BENCH_SIM_CONFIG: JSON.stringify(simConfig) },
  });
}

/** One message as a producer sends it to the intake API. */
export interface IntakeMessage {
  to: string;
  body: string;
  purpose: 'otp' | 'transactional' | 'conversational' | 'marketing';
  idempotencyKey?: string;
}

export interface PostBatchesOptions {
  total: number;
  batchSize: number;
  /** Batch requests in flight. */
  concurrency: number;
  makeMessage: (i: number) => IntakeMessage;
  /** Stop issuing new batches after this long. */
  maxSeconds: number;
  /** Keep the created message ids (in message order). */
  collectIds?: boolean;
  onProgress?: (accepted: number, seconds: number) => void;
}

export interface PostBatchesResult {
  /** Messages answered 202 (or 200 replay). */
  accepted: number;
  /** Messages refused (per-item errors) or lost with a failed request. */
  failed: number;
  seconds: number;
  ids: string[];
  /** Whether the time bound stopped it before `total`. */
  timedOut: boolean;
}

/** Posts `total` messages through POST /v1/messages/batch, `concurrency` batches at a time, bounded in time. */
export async function postBatches(
  dispatcher: Dispatcher,
  options: PostBatchesOptions,
): Promise<PostBatchesResult> {
  const headers = { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' };
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const batches = Math.ceil(options.total / options.batchSize);
  const ids: string[] = options.collectIds ? new Array(options.total) : [];
  let next = 0;
  let accepted = 0;
  let failed = 0;
  let timedOut = false;
  let reported = 0;
  const worker = async () => {
    while (next < batches) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const b = next++;
      const from = b * options.batchSize;
      const to = Math.min(options.total, from + options.batchSize);
      const messages: IntakeMessage[] = [];
      for (let i = from; i < to; i++) messages.push(options.makeMessage(i));
      try {
        const res = await dispatcher.request({
          path: '/v1/messages/batch',
          method: 'POST',
          headers,
          body: JSON.stringify({ messages }),
          headersTimeout: 120_000,
          bodyTimeout: 120_000,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          failed += to - from;
          if (reported++ < 5) log(`batch ${b}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
          continue;
        }
        const { results } = JSON.parse(text) as {
          results: { index: number; status: number; message?: { id: string } }[];
        };
        for (const r of results) {
          if ((r.status === 202 || r.status === 200) && r.message) {
            accepted++;
            if (options.collectIds) ids[from + r.index] = r.message.id;
          } else {
            failed++;
            if (reported++ < 5) log(`batch ${b} item ${r.index}: ${JSON.stringify(r).slice(0, 300)}`);
          }
        }
      } catch (err) {
        failed += to - from;
        if (reported++ < 5) log(`batch ${b}: ${String(err)}`);
      }
      options.onProgress?.(accepted, (performance.now() - started) / 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return {
    accepted,
    failed,
    seconds: (performance.now() - started) / 1000,
    ids: options.collectIds ? ids.filter((x) => x !== undefined) : [],
    timedOut,
  };
}

/** Sleeps (in a benchmark's polling loop). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The n-th of 10,000 valid US recipients (+1 415-556-0000 … 9999), none of them a simulator
 * sender (sending to one's own number is refused with 21211).
 */
export function benchRecipient(n: number): string {
  return `+1415556${String(((n % 10_000) + 10_000) % 10_000).padStart(4, '0')}`;
}
