import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';

/** GETs (or POSTs) JSON through an undici dispatcher; throws on a non-2xx answer. */
export async function requestJson<T = unknown>(
  dispatcher: Dispatcher,
  path: string,
  options: { method?: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const res = await dispatcher.request({
    path,
    method: options.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? null : JSON.stringify(options.body),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300)
    throw new Error(`${options.method ?? 'GET'} ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** GETs a text body (e.g. /metrics). */
export async function requestText(dispatcher: Dispatcher, path: string): Promise<string> {
  const res = await dispatcher.request({ path, method: 'GET', headersTimeout: 60_000, bodyTimeout: 60_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return text;
}

/** The total of a Prometheus counter or gauge over all label sets (optionally only lines containing `labelPart`). */
export function metricTotal(metricsText: string, name: string, labelPart?: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (labelPart && !rest.includes(labelPart)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** Resident set size and its peak (VmHWM) of a process in MB, from /proc; null once it is gone. */
export function readRss(pid: number): { rssMb: number; hwmMb: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null once it is gone. */
export function readCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** The host's CPU time so far, in USER_HZ ticks, from /proc/stat: all of it, and what the hypervisor stole. */
export interface HostCpu {
  total: number;
  steal: number;
}

/** The host's CPU ticks so far (every CPU summed); null where /proc/stat is not there. */
export function readHostCpu(): HostCpu | null {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null;
  return { total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7]! };
}

/**
 * The share of the host's CPU time the hypervisor took for other guests between two readings
 * (percent, one decimal): while it is high, this guest's threads stall whatever they run.
 */
export function stealPercent(from: HostCpu | null, to: HostCpu | null): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return Math.round((1000 * (to.steal - from.steal)) / (to.total - from.total)) / 10;
}

/**
 * Time (ms) a process's main thread has spent runnable but waiting for a CPU so far, from
 * /proc/<pid>/task/<pid>/schedstat (its second field, in ns); null where that is missing. A
 * request that arrives meanwhile waits as long, whatever the server would have done with it.
 */
export function readRunQueueWaitMs(pid: number): number | null {
  try {
    const waitNs = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]);
    return Number.isFinite(waitNs) ? waitNs / 1e6 : null;
  } catch {
    return null;
  }
}
