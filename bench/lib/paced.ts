import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import type { RequestSpec } from './load.ts';

// The generator's own scavenges on its own thread, as the gateway's are (bin/switchboard.js):
// V8's parallel scavenge waits for helper threads, and on two cores shared with the server a
// helper that is not scheduled stalls the generator, whose lateness counts in every latency
// (a scheduler trace, perf sched, showed one of the generator's helper threads on a core for
// 1.8 + 4 ms while the gateway waited for that core). V8 reads the flag at each scavenge.
setFlagsFromString('--no-parallel-scavenge');

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
  /** Sockets opened up front; a request due while all are busy waits for one (its wait counts). */
  connections: number;
  isOk?: (status: number) => boolean;
  onError?: (description: string) => void;
  /** Called once when the warm-up ends and the measured window starts (e.g. to reset a server's own statistics). */
  onMeasureStart?: () => void;
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
  /** Latency (ms) from when the request was written to its socket. */
  sentP50: number;
  sentP99: number;
  /** How late requests left relative to their schedule (ms, p99): generator lag plus waiting for a free connection. */
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

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** One keep-alive connection carrying one request at a time. */
interface Conn {
  socket: Socket;
  /** The request on it: when it was due and when it was written; null when idle. */
  current: { scheduled: number; sent: number } | null;
  received: Buffer[];
  receivedBytes: number;
}

/**
 * The request as HTTP/1.1 text (bodies here are ASCII forms or JSON). `x-sent-ns` carries the
 * monotonic clock at sending, which every process on the host shares: a server can tell how
 * long a request waited in its socket before it was parsed.
 */
function encode(spec: RequestSpec, host: string): string {
  const body = typeof spec.body === 'string' ? spec.body : '';
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${host}\r\nx-sent-ns: ${process.hrtime.bigint()}\r\n`;
  for (const [k, v] of Object.entries((spec.headers ?? {}) as Record<string, string>))
    head += `${k}: ${v}\r\n`;
  return `${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * Open-loop load: request i is due at start + i / rate, and a 1 ms ticker sends every request
 * that is due. Only completions inside the measured window count. The generator costs a
 * fraction of undici's CPU per request: requests are written as prebuilt text on raw sockets and answers are parsed only
 * as far as the status and Content-Length. On a two-core machine the generator shares the
 * CPU with the server it measures, so its own cost and lag set the floor of every latency
 * figure (undici's floor was 4–5 ms p99 against a bare server at 13k/s). Latency counts from
 * each request's scheduled start; a request due while every connection is busy waits for one.
 */
export async function runPaced(
  url: string,
  makeRequest: (i: number) => RequestSpec,
  options: PacedOptions,
): Promise<PacedResult> {
  const { ratePerSecond, durationMs, connections } = options;
  if (!(ratePerSecond > 0 && durationMs > 0 && connections > 0)) throw new Error('runPaced: bad options');
  const warmupMs = options.warmupMs ?? 0;
  const maxInFlight = options.maxInFlight ?? 10_000;
  const isOk = options.isOk ?? ((s: number) => s >= 200 && s < 300);
  const maxRequests = Math.min(
    options.maxRequests ?? Number.MAX_SAFE_INTEGER,
    Math.ceil(((warmupMs + durationMs) / 1000) * ratePerSecond) + 1,
  );
  const { hostname, port, host } = new URL(url);
  const samples = {
    fromSchedule: new Float64Array(maxRequests),
    fromSend: new Float64Array(maxRequests),
    lateness: new Float64Array(maxRequests),
    recorded: 0,
  };
  const outcomes: Record<string, number> = {};
  const counts = { ok: 0, errors: 0, skipped: 0 };
  let reported = 0;
  let measureFrom = Number.POSITIVE_INFINITY;
  let endAt = Number.POSITIVE_INFINITY;
  /** Requests due while every connection was busy: index and due time, oldest first. */
  const waiting: { i: number; scheduled: number }[] = [];
  let waitingHead = 0;
  const idle: Conn[] = [];
  let outstanding = 0;

  const record = (conn: Conn, outcome: string, success: boolean) => {
    const t1 = performance.now();
    const { scheduled, sent } = conn.current!;
    conn.current = null;
    outstanding--;
    if (t1 < measureFrom || t1 > endAt) return;
    const k = samples.recorded++;
    samples.fromSchedule[k] = t1 - scheduled;
    samples.fromSend[k] = t1 - sent;
    samples.lateness[k] = sent - scheduled;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (success) counts.ok++;
    else counts.errors++;
  };

  const send = (conn: Conn, i: number, scheduled: number) => {
    conn.current = { scheduled, sent: performance.now() };
    conn.socket.write(encode(makeRequest(i), host), 'latin1');
  };

  /** The next waiting request goes out on this connection, or it becomes idle. */
  const release = (conn: Conn) => {
    if (waitingHead < waiting.length) {
      const next = waiting[waitingHead++]!;
      send(conn, next.i, next.scheduled);
    } else idle.push(conn);
  };

  const onData = (conn: Conn, chunk: Buffer) => {
    conn.received.push(chunk);
    conn.receivedBytes += chunk.length;
    const data = conn.received.length === 1 ? chunk : Buffer.concat(conn.received, conn.receivedBytes);
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = data.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
    if (data.length < headerEnd + 4 + length) {
      conn.received = [data];
      return;
    }
    conn.received = [];
    conn.receivedBytes = 0;
    const success = isOk(status);
    if (!success && reported++ < 5)
      options.onError?.(`HTTP ${status}: ${data.toString('utf8', headerEnd + 4).slice(0, 300)}`);
    record(conn, String(status), success);
    release(conn);
  };

  const conns = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Conn>((resolve, reject) => {
          const socket = connect({ host: hostname, port: Number(port), noDelay: true });
          const conn: Conn = { socket, current: null, received: [], receivedBytes: 0 };
          socket.once('connect', () => resolve(conn));
          socket.on('error', reject); // after connect: reported through 'close'
          socket.on('data', (chunk) => onData(conn, chunk));
          socket.on('close', () => {
            // Never handed out again; a request on it counts as an error instead of vanishing.
            const at = idle.indexOf(conn);
            if (at >= 0) idle.splice(at, 1);
            if (conn.current) {
              if (reported++ < 5) options.onError?.('connection closed with a request in flight');
              record(conn, 'error:closed', false);
            }
          });
        }),
    ),
  );
  idle.push(...conns);

  const start = performance.now();
  measureFrom = start + warmupMs;
  endAt = measureFrom + durationMs;
  const intervalMs = 1000 / ratePerSecond;
  let issued = 0;
  let measuring = false;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (!measuring && now >= measureFrom) {
        measuring = true;
        options.onMeasureStart?.();
      }
      const due = Math.min(maxRequests, Math.floor((Math.min(now, endAt) - start) / intervalMs) + 1);
      while (issued < due) {
        const i = issued++;
        const scheduled = start + i * intervalMs;
        if (outstanding >= maxInFlight) {
          if (scheduled >= measureFrom) counts.skipped++;
          continue;
        }
        outstanding++;
        const conn = idle.pop();
        if (conn) send(conn, i, scheduled);
        else waiting.push({ i, scheduled });
      }
      if (now >= endAt || issued >= maxRequests) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  // Let what is in flight finish (answers after the window do not count), bounded.
  const drainUntil = performance.now() + 10_000;
  while (outstanding > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  for (const conn of conns) conn.socket.destroy();
  return summarizePaced(samples, { ...counts, issued, outcomes, seconds: durationMs / 1000 });
}

/** Latencies recorded by a paced run (ms), `recorded` of each. */
interface PacedSamples {
  fromSchedule: Float64Array;
  fromSend: Float64Array;
  lateness: Float64Array;
  recorded: number;
}

/** The result of a paced run from its samples and counts. */
function summarizePaced(
  samples: PacedSamples,
  counts: Pick<PacedResult, 'ok' | 'errors' | 'skipped' | 'issued' | 'outcomes' | 'seconds'>,
): PacedResult {
  const { recorded } = samples;
  const sortedSchedule = samples.fromSchedule.subarray(0, recorded).sort();
  const sortedSend = samples.fromSend.subarray(0, recorded).sort();
  const sortedLate = samples.lateness.subarray(0, recorded).sort();
  return {
    ...counts,
    perSecond: counts.ok / counts.seconds,
    p50: percentile(sortedSchedule, 50),
    p99: percentile(sortedSchedule, 99),
    p999: percentile(sortedSchedule, 99.9),
    max: recorded > 0 ? sortedSchedule[recorded - 1]! : Number.NaN,
    sentP50: percentile(sortedSend, 50),
    sentP99: percentile(sortedSend, 99),
    lateP99: percentile(sortedLate, 99),
  };
}
