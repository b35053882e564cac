import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { GatewayConfigInput } from '../../src/config/index.ts';
import type { Simulator } from '../../src/simulator/index.ts';

/** The repository root (the CLI runs from here). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO_ROOT, 'bin', 'switchboard.js');

/** The API key end-to-end gateways accept for tenant `default` (SWITCHBOARD_API_KEY). */
export const E2E_API_KEY = 'sk_e2e_default_tenant_key_0123456789';

/** `n` distinct free loopback ports, all held open at once so none is handed out twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => ok());
      });
      const address = server.address();
      if (typeof address !== 'object' || address === null) throw new Error('no port');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
}

/** A temporary directory, removed by `remove()`. */
export function tempDir(prefix = 'sb-e2e-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes a gateway config (as YAML) and returns its path. */
export function writeGatewayConfig(dir: string, name: string, config: GatewayConfigInput): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** Senders of the simulator's default account, overridden to a high MPS so the simulator never queues. */
export function fastSimSenders(addresses: string[], mps = 1_000) {
  return addresses.map((address) => ({ address, type: 'long_code' as const, mps }));
}

/** How one gateway process is started. */
export interface GatewaySpawnOptions {
  port: number;
  /** `sqlite:<file>` or `postgres://…`. */
  db: string;
  configFile: string;
  sim: Pick<Simulator, 'url' | 'accountSid' | 'authToken'>;
  role?: 'all' | 'api' | 'worker';
  /** Base URL the simulator calls back (default: this process's own URL). */
  publicUrl?: string;
  /** Extra environment (e.g. TWILIO_PREVIOUS_AUTH_TOKEN). */
  env?: Record<string, string>;
  /** How long start-up may take before it counts as failed (default 45 s). */
  readyTimeoutMs?: number;
}

/** A gateway running as `node bin/switchboard.js serve …` in a child process. */
export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process has exited. */
  readonly done: boolean;
  /** Sends a signal and waits (bounded) for the exit; resolves with the exit and how long it took. */
  stop(
    signal: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Environment with nothing of the caller's Switchboard or Twilio settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('SWITCHBOARD_') || k.startsWith('TWILIO_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

/** Starts a gateway process and waits until `/readyz` answers 200 (or fails with its output). */
export async function spawnGateway(options: GatewaySpawnOptions): Promise<GatewayProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  const args = [
    BIN,
    'serve',
    '--port',
    String(options.port),
    '--host',
    '127.0.0.1',
    '--db',
    options.db,
    '--config',
    options.configFile,
    '--role',
    options.role ?? 'all',
    '--public-url',
    options.publicUrl ?? url,
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      ...cleanEnv(),
      SWITCHBOARD_API_KEY: E2E_API_KEY,
      TWILIO_ACCOUNT_SID: options.sim.accountSid,
      TWILIO_AUTH_TOKEN: options.sim.authToken,
      TWILIO_API_BASE_URL: options.sim.url,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    // Bounded: a chatty process must not grow the test's memory without limit.
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => {
    child.once('exit', (code, signal) => {
      done = true;
      ok({ code, signal });
    });
  });

  const proc: GatewayProcess = {
    child,
    pid: child.pid ?? -1,
    url,
    output: () => out,
    exited,
    get done() {
      return done;
    },
    async stop(signal, timeoutMs = 15_000) {
      const started = Date.now();
      if (!done) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exited,
        new Promise<null>((ok) => {
          timer = setTimeout(() => ok(null), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (result === null) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(
          `gateway ${proc.pid} did not exit within ${timeoutMs} ms of ${signal}; output:\n${out.slice(-4000)}`,
        );
      }
      return { ...result, ms: Date.now() - started };
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 45_000);
  for (;;) {
    if (done) {
      const { code, signal } = await exited;
      throw new Error(
        `gateway exited during start-up (code ${code}, signal ${signal}):\n${out.slice(-4000)}`,
      );
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return proc;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`gateway not ready within the time limit; output:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills every process still running (afterAll), bounded. */
export async function killAll(processes: Iterable<GatewayProcess>): Promise<void> {
  await Promise.all(
    [...processes]
      .filter((p) => !p.done)
      .map(async (p) => {
        p.child.kill('SIGKILL');
        await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5_000))]);
      }),
  );
}

/** A JSON answer of the intake API. */
export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  json: T;
  headers: Headers;
}

/** Calls the intake API with the e2e key. */
export async function callApi<T = Record<string, unknown>>(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<ApiAnswer<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${E2E_API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}

/** A message as `GET /v1/messages/:id` shows it. */
export interface ApiMessage {
  id: string;
  to: string;
  body: string | null;
  status: string;
  pool: string;
  sender: string | null;
  providerSid: string | null;
  attempts: number;
  errorCode: string | null;
  providerErrorCode: number | null;
  replay?: boolean;
  history?: {
    attempts: { attempt: number; outcome: string; providerSid: string | null }[];
    events: { status: string; source: string; providerErrorCode: number | null }[];
  };
}

/** The most events in any one-second sliding window. */
export function maxPerSecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let lo = 0;
  let best = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= 1000) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Reads a Prometheus counter's total (all label sets) from a `/metrics` text. */
export function counterTotal(metricsText: string, name: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/**
 * Queues one marketing message per body through the batch intake (recipients numbered from
 * `firstNumber`), checks every item was accepted, and returns the message ids in order.
 */
export async function queueBatch(url: string, bodies: string[], firstNumber: number): Promise<string[]> {
  const batch = await callApi<{ results: { status: number; message: ApiMessage }[] }>(
    url,
    'POST',
    '/v1/messages/batch',
    {
      messages: bodies.map((body, i) => ({
        to: `+1415555${String(firstNumber + i).padStart(4, '0')}`,
        body,
        purpose: 'marketing',
      })),
    },
    {},
    30_000,
  );
  if (batch.status !== 200 || !batch.json.results.every((r) => r.status === 202)) {
    throw new Error(`batch intake refused items: ${JSON.stringify(batch.json).slice(0, 500)}`);
  }
  return batch.json.results.map((r) => r.message.id);
}
