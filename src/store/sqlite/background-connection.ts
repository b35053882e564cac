import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const BACKGROUND_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
// Background work yields the CPU to the thread that serves requests: on Linux a thread's
// nice value is its own, set through its thread id. Elsewhere it keeps the process's.
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) require('node:os').setPriority(tid, workerData.nice);
} catch {}
let restartedAt = -1;
const timer = setInterval(() => {
  try {
    const [pass] = db.pragma('wal_checkpoint(PASSIVE)');
    if (!pass || pass.log <= workerData.restartFrames || pass.log === restartedAt) return;
    // A second pass copies what was written during the first, so RESTART, which holds off
    // writers, has almost nothing left to copy.
    db.pragma('wal_checkpoint(PASSIVE)');
    const [restart] = db.pragma('wal_checkpoint(RESTART)');
    restartedAt = restart ? restart.log : -1;
  } catch {}
}, workerData.intervalMs);
const statements = new Map();
parentPort.on('message', (msg) => {
  if (msg === 'stop') { clearInterval(timer); db.close(); process.exit(0); }
  try {
    let stmt = statements.get(msg.sql);
    if (!stmt) { stmt = db.prepare(msg.sql); statements.set(msg.sql, stmt); }
    parentPort.postMessage({ id: msg.id, rows: stmt.all(...msg.params) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String(err && err.message || err) });
  }
});
`;

/** A second connection to the SQLite file, in a worker thread. */
export interface BackgroundConnection {
  /**
   * Runs a read-only query there: a scan (counting a million queued rows takes ~0.4 s) then
   * never stalls the event loop that serves requests. WAL mode gives it its own snapshot.
   */
  read<Row>(sql: string, params?: readonly (string | number | null)[]): Promise<Row[]>;
  stop(): Promise<void>;
}

/**
 * Starts the worker thread that owns the background connection. It also checkpoints the WAL
 * every `intervalMs`, so the copy back into the database file never stalls the event loop
 * (a checkpoint on the main connection stalled requests for 50–260 ms). PASSIVE copies
 * without blocking writers, but under a steady write load it never finds the log fully copied,
 * so the log is never restarted and grew to the main connection's auto-checkpoint (20,000
 * frames, 80 MB), which then ran on the event loop. So once the log holds more than
 * `restartFrames` after a PASSIVE pass, a RESTART follows: it copies only what was written
 * during that pass and resets the log, blocking writers for a few milliseconds. The thread runs
 * at the lowest CPU priority (Linux), so the copying never takes a core from request serving.
 */
export function startBackgroundConnection(
  path: string,
  intervalMs = 1_000,
  restartFrames = 1_000,
): BackgroundConnection {
  // Lowest priority: copying the WAL competed with the request thread on two cores (the
  // callback benchmark's median p99 at 13k/s fell from 12.2 to 7.1 ms). RESTART holds writers
  // for a few milliseconds at that priority too; a writer waiting on it sleeps, which frees
  // the core the checkpoint needs.
  const nice = 19;
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(BACKGROUND_WORKER, {
    eval: true,
    workerData: { module, path, intervalMs, restartFrames, nice },
  });
  worker.unref();
  const pending = new Map<number, { resolve(rows: unknown[]): void; reject(err: Error): void }>();
  let nextId = 0;
  worker.on('message', (msg: { id: number; rows?: unknown[]; error?: string }) => {
    const waiter = pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) waiter.reject(new Error(msg.error));
    else waiter.resolve(msg.rows ?? []);
  });
  const failAll = (err: Error) => {
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  };
  worker.on('error', (err) => {
    // Without the worker, checkpoints fall back to the main connection's auto-checkpoint
    // (on the event loop): say so rather than degrade silently.
    process.emitWarning(`SQLite background connection failed: ${err.message}`, 'SwitchboardWarning');
    failAll(err);
  });
  worker.on('exit', () => failAll(new Error('the background SQLite connection has stopped')));
  return {
    read<Row>(sql: string, params: readonly (string | number | null)[] = []): Promise<Row[]> {
      const id = nextId++;
      return new Promise<Row[]>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
        // Ref'd while a query is pending, so an awaited read keeps the process alive.
        if (pending.size === 1) worker.ref();
        worker.postMessage({ id, sql, params });
      }).finally(() => {
        if (pending.size === 0) worker.unref();
      });
    },
    async stop() {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      await worker.terminate();
    },
  };
}
