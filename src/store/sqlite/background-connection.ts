import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const BACKGROUND_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const fs = require('node:fs');
const db = new Database(workerData.path);
// The checkpointer never waits on a lock: its RESTART runs while the request thread's writers
// are held, and would otherwise sit out a scan's snapshot on the reader (up to this timeout)
// with them held. Busy, the RESTART copies what it can and the log is restarted next time.
db.pragma(workerData.checkpoint ? 'busy_timeout = 0' : 'busy_timeout = 1000');
// Checkpointing yields the CPU to the thread that serves requests: on Linux a thread's nice
// value is its own, set through its thread id. Elsewhere it keeps the process's. The reader
// keeps the process's: it answers requests (listings, queue statistics).
if (workerData.nice !== null) {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) require('node:os').setPriority(tid, workerData.nice);
  } catch {}
}
// The database file and its log as /proc/self/fd names them (Linux), to flush their pages
// ahead of the RESTART. A PASSIVE pass that new frames overtake never syncs the database
// file, so everything the passes copied (megabytes) was left to the RESTART's own sync, with
// writers held off: 2-4 ms of the hold. Flushed before, the RESTART syncs only its own copy.
let files = null;
try {
  const real = fs.realpathSync(workerData.path);
  files = [real, real + '-wal'];
} catch {}
let fds = [];
function openFds() {
  const out = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync('/proc/self/fd/' + name);
      if (files.includes(target) && !out.some((o) => o.target === target)) out.push({ fd: Number(name), target });
    } catch {}
  }
  return out;
}
function flushFiles() {
  if (!files) return [];
  // SQLite's own descriptors: opening and closing one here would drop the process's locks.
  const stale = fds.length < files.length || fds.some((f) => {
    try { return fs.readlinkSync('/proc/self/fd/' + f.fd) !== f.target; } catch { return true; }
  });
  if (stale) {
    try { fds = openFds(); } catch { files = null; return []; } // no /proc: the RESTART syncs it all, as before
  }
  const flushed = [];
  for (const f of fds) {
    try { fs.fdatasyncSync(f.fd); flushed.push(f.target); } catch { fds = []; } // closed meanwhile: look again next time
  }
  return flushed;
}
let restartedAt = -1;
let awaitingWriters = false;
const timer = workerData.checkpoint && setInterval(() => {
  if (awaitingWriters) return;
  try {
    const [pass] = db.pragma('wal_checkpoint(PASSIVE)');
    if (!pass || pass.log <= workerData.restartFrames || pass.log === restartedAt) return;
    // A second pass copies what was written during the first, so RESTART, which holds off
    // writers, has almost nothing left to copy; and what the passes copied is flushed now.
    db.pragma('wal_checkpoint(PASSIVE)');
    const flushed = flushFiles();
    // The request thread stops writing first (it answers 'restart'): a writer that met the
    // RESTART's lock slept in SQLite's busy handler (1, 2, 5 ms...), blocking its event loop.
    awaitingWriters = true;
    parentPort.postMessage({ restartReady: true, flushed });
  } catch {}
}, workerData.intervalMs);
function restart() {
  try {
    const [done] = db.pragma('wal_checkpoint(RESTART)');
    restartedAt = done ? done.log : -1;
  } catch {}
  awaitingWriters = false;
  parentPort.postMessage({ restarted: true });
}
const statements = new Map();
parentPort.on('message', (msg) => {
  if (msg === 'stop') { clearInterval(timer); db.close(); process.exit(0); }
  if (msg === 'restart') return restart();
  try {
    let stmt = statements.get(msg.sql);
    if (!stmt) { stmt = db.prepare(msg.sql); statements.set(msg.sql, stmt); }
    parentPort.postMessage({ id: msg.id, rows: stmt.all(...msg.params) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String(err && err.message || err) });
  }
});
`;

/**
 * Runs `during` while no other statement can use the main connection (e.g. holding Kysely's
 * single connection), so writers queue without blocking the event loop.
 */
export type WriterHold = (during: () => Promise<void>) => Promise<void>;

/** Two more connections to the SQLite file, each in a worker thread: a checkpointer and a reader. */
export interface BackgroundConnection {
  /**
   * Runs a read-only query on the reader: a scan (counting a million queued rows takes ~0.4 s)
   * then never stalls the event loop that serves requests. WAL mode gives it its own snapshot.
   * The reader runs at the process's priority and apart from the checkpointer, so a listing
   * neither waits behind the checkpointer's passes and file syncs (tens of ms each) nor runs
   * at its nice 19, which beside busy threads gets ~1/70 of a core; and a scan no longer puts
   * the checkpoints off while it runs.
   */
  read<Row>(sql: string, params?: readonly (string | number | null)[]): Promise<Row[]>;
  /** What the log restarts have done so far, for diagnostics. */
  restarts(): LogRestartStats;
  stop(): Promise<void>;
}

/** The background connection's log restarts. */
export interface LogRestartStats {
  /** Restarts completed. */
  count: number;
  /** The files (database, log) whose pages were flushed before the last restart; empty where /proc is missing. */
  lastFlushed: readonly string[];
}

/**
 * Starts the checkpointer's worker thread (the reader's starts at the first read). It checkpoints the WAL
 * every `intervalMs` (default 1 s), so the copy back into the database file never stalls the event loop
 * (a checkpoint on the main connection stalled requests for 50–260 ms). PASSIVE copies
 * without blocking writers, but under a steady write load it never finds the log fully copied,
 * so the log is never restarted and grew to the main connection's auto-checkpoint (20,000
 * frames, 80 MB), which then ran on the event loop. So once the log holds more than
 * `restartFrames` (default 1,000) after a PASSIVE pass, a RESTART follows: it copies only what was written
 * during that pass and resets the log. It holds writers off, so it runs inside `holdWriters`:
 * the main connection's writers then wait asynchronously instead of sleeping in SQLite's busy
 * handler on the event loop. The hold is short because the pages the passes copied, and the
 * log written since, are flushed (fdatasync) before it: the RESTART's own syncs had flushed
 * them, and held writers for 2.5–5 ms a restart (up to 14), once a second at 6k callbacks/s;
 * flushed before, the hold took 0.8 ms (median; at most 1.6). The checkpointer runs
 * at the lowest CPU priority (Linux), so the copying never takes a core from request serving.
 */
export function startBackgroundConnection(
  path: string,
  options: { intervalMs?: number; restartFrames?: number; holdWriters?: WriterHold; nice?: number } = {},
): BackgroundConnection {
  // Lowest priority (nice 19) by default: copying the WAL competed with the request thread on
  // two cores (the callback benchmark's median p99 at 13k/s fell from 12.2 to 7.1 ms). At
  // normal priority the RESTART took as long (5–7 ms, mostly the file sync), so it runs at this
  // one too. The cost: beside threads busy at nice 0 on every core it gets about 1/70 of a core,
  // and the log grows until the main connection's auto-checkpoint bounds it.
  const {
    intervalMs = 1_000,
    restartFrames = 1_000,
    holdWriters = (during) => during(),
    nice = 19,
  } = options;
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const spawn = (role: { checkpoint: boolean; nice: number | null }) => {
    const worker = new Worker(BACKGROUND_WORKER, {
      eval: true,
      workerData: { module, path, intervalMs, restartFrames, ...role },
    });
    worker.unref();
    return worker;
  };
  const checkpointer = spawn({ checkpoint: true, nice });
  let checkpointerExited = false;
  let stopped = false;
  let restartDone: (() => void) | null = null;
  const stats: LogRestartStats = { count: 0, lastFlushed: [] };
  const endRestart = () => {
    restartDone?.();
    restartDone = null;
  };
  checkpointer.on('message', (msg: { restartReady?: true; flushed?: string[]; restarted?: true }) => {
    if (msg.restartReady) {
      stats.lastFlushed = msg.flushed ?? [];
      // Writers wait asynchronously while the worker restarts the log; the event loop runs on.
      void holdWriters(
        () =>
          new Promise<void>((resolve) => {
            // The hold may start after the worker stopped: nobody would answer.
            if (checkpointerExited) return resolve();
            restartDone = resolve;
            checkpointer.postMessage('restart');
          }),
      ).catch(() => {
        // The hold never started (the connection is closing): let the worker go on alone.
        if (!restartDone) checkpointer.postMessage('restart');
        endRestart();
      });
      return;
    }
    if (msg.restarted) {
      stats.count++;
      endRestart();
    }
  });
  checkpointer.on('error', (err) => {
    // Without the worker, checkpoints fall back to the main connection's auto-checkpoint
    // (on the event loop): say so rather than degrade silently.
    process.emitWarning(`SQLite background checkpointer failed: ${err.message}`, 'SwitchboardWarning');
    endRestart();
  });
  checkpointer.on('exit', () => {
    checkpointerExited = true;
    endRestart();
  });

  // The reader: started at the first read, and again after a failure.
  let reader: Worker | null = null;
  const pending = new Map<number, { resolve(rows: unknown[]): void; reject(err: Error): void }>();
  let nextId = 0;
  const failAll = (err: Error) => {
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  };
  const startReader = () => {
    const worker = spawn({ checkpoint: false, nice: null });
    worker.on('message', (msg: { id: number; rows?: unknown[]; error?: string }) => {
      const waiter = pending.get(msg.id);
      if (!waiter) return;
      pending.delete(msg.id);
      if (msg.error !== undefined) waiter.reject(new Error(msg.error));
      else waiter.resolve(msg.rows ?? []);
    });
    worker.on('error', (err) => {
      process.emitWarning(`SQLite background reader failed: ${err.message}`, 'SwitchboardWarning');
      failAll(err);
    });
    worker.on('exit', () => {
      if (reader === worker) reader = null;
      failAll(new Error('the background SQLite reader has stopped'));
    });
    return worker;
  };

  const stopWorker = async (worker: Worker) => {
    const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    // Unref'd: the bound must not itself keep a stopping process alive for 2 s.
    await Promise.race([exit, new Promise((r) => setTimeout(r, 2_000).unref())]);
    await worker.terminate();
  };
  return {
    restarts: () => ({ ...stats }),
    read<Row>(sql: string, params: readonly (string | number | null)[] = []): Promise<Row[]> {
      if (stopped) return Promise.reject(new Error('the background SQLite reader has stopped'));
      reader ??= startReader();
      const worker = reader;
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
      if (stopped) return;
      stopped = true;
      await Promise.all([
        checkpointerExited ? undefined : stopWorker(checkpointer),
        reader ? stopWorker(reader) : undefined,
      ]);
    },
  };
}
