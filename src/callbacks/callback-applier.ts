import { setImmediate as afterPendingIo } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/index.ts';
import { PollPause } from '../queue/index.ts';
import { applyCallbackEvents, type CallbackTransition, type Db, rematchOrphans } from '../store/index.ts';

/** What the applier works with. */
export interface CallbackApplierDeps {
  db: Db;
  clock?: (() => number) | undefined;
  logger?: Logger | undefined;
  /** `sb_status_transitions_total` and `sb_delivery_latency_seconds`. */
  metrics?: Pick<Metrics, 'statusTransitions' | 'deliveryLatency'> | undefined;
  /** Called after each committed pass with the status changes it made (e.g. to notify subscribers). */
  onTransitions?: ((transitions: CallbackTransition[]) => void | Promise<void>) | undefined;
}

/** How often and how much the applier applies. */
export interface CallbackApplierOptions {
  /** Wait between cycles once nothing is left to apply (ms). */
  intervalMs: number;
  /**
   * Longest wait once cycles keep finding nothing: each empty cycle doubles the wait up to
   * this (default the larger of `intervalMs` and 250 ms). `wake` starts a cycle at once.
   */
  maxIntervalMs?: number | undefined;
  /** Callbacks applied per transaction. */
  batch: number;
  /**
   * How old an orphan must be before it is matched again, and how often the applier reads
   * the next page of orphans (`batch` of them) to match again (default 1000 ms); a page that
   * matched some is followed at once by the next.
   */
  orphanRetryAfterMs?: number | undefined;
}

/** A running applier. */
export interface CallbackApplier {
  /** Starts the next cycle now instead of after the interval. */
  wake(): void;
  /**
   * Says that a callback was just stored (in this process): an idle applier starts a cycle at
   * once instead of at the end of its stretched wait; a busy one keeps its pace, so it still
   * applies in batches under load.
   */
  notifyWork(): void;
  /** Stops after the current pass; resolves once it has committed. */
  stop(): Promise<void>;
}

const ERROR_BACKOFF_MS = 1000;
const FINAL = new Set(['delivered', 'undelivered', 'failed']);

/**
 * Applies stored status callbacks off the request path: each cycle applies batch after
 * batch until none is left, then waits `intervalMs`. A failed pass (a lost connection, a
 * deadlock on PostgreSQL) is rolled back, logged and retried after a pause; events are
 * only marked applied in the transaction that applies them, so none is lost.
 */
export function startCallbackApplier(
  deps: CallbackApplierDeps,
  options: CallbackApplierOptions,
): CallbackApplier {
  const clock = deps.clock ?? Date.now;
  const orphanRetryAfterMs = options.orphanRetryAfterMs ?? 1000;
  let stopping = false;
  // A wake-up that arrives mid-cycle skips the next wait.
  const pause = new PollPause(options.intervalMs, Math.max(options.intervalMs, options.maxIntervalMs ?? 250));

  const report = async (transitions: CallbackTransition[]) => {
    for (const t of transitions) {
      deps.metrics?.statusTransitions.inc({ status: t.to });
      if (FINAL.has(t.to))
        deps.metrics?.deliveryLatency.observe({ status: t.to }, (t.at - t.createdAt) / 1000);
    }
    try {
      await deps.onTransitions?.(transitions);
    } catch (err) {
      deps.logger?.error({ err }, 'onTransitions failed');
    }
  };

  /**
   * Applies until a batch comes back short (nothing more is waiting); whether it found any.
   * On SQLite a batch runs on the event loop from start to commit, so the next batch waits for
   * the I/O already received: a backlog of thousands is applied between requests, not in one
   * stall of hundreds of milliseconds.
   */
  const cycle = async () => {
    let found = false;
    for (let more = true; more && !stopping; ) {
      if (found) await afterPendingIo();
      const r = await applyCallbackEvents(deps.db, { limit: options.batch, now: clock() });
      if (r.transitions.length > 0) await report(r.transitions);
      if (r.orphaned > 0) deps.logger?.warn({ orphaned: r.orphaned }, 'callbacks matched no message yet');
      more = r.applied + r.orphaned === options.batch;
      found ||= r.applied + r.orphaned > 0;
    }
    if (!stopping && (await rematchDueOrphans())) found = true;
    return found;
  };

  // Orphans are matched again one page per `orphanRetryAfterMs`, from where the last page
  // ended, so a pile of them that will never match costs one bounded page per interval
  // instead of a scan of all of them on every pass. A page that matched some goes straight on
  // to the next (between pages the event loop runs): orphans come in runs (callbacks that beat
  // their send's record, a crash's sends adopted later), and a run of thousands is then
  // matched in one pass instead of a page a second.
  let orphanCursor = 0;
  let lastOrphanPage = Number.NEGATIVE_INFINITY;
  const rematchDueOrphans = async (): Promise<boolean> => {
    const now = clock();
    if (now - lastOrphanPage < orphanRetryAfterMs) return false;
    lastOrphanPage = now;
    // Going on wraps around from the last orphan to the first, at most once round the pile.
    const start = orphanCursor;
    let wrapped = false;
    let matched = false;
    for (let more = true; more && !stopping; ) {
      if (matched) await afterPendingIo();
      const r = await rematchOrphans(deps.db, {
        afterId: orphanCursor,
        limit: options.batch,
        now,
        orphanRetryAfterMs,
      });
      let round = false;
      if (r.nextAfterId === null) {
        round = wrapped || start === 0;
        wrapped = true;
        orphanCursor = 0;
      } else {
        orphanCursor = r.nextAfterId;
        round = wrapped && orphanCursor >= start;
      }
      if (r.transitions.length > 0) await report(r.transitions);
      more = r.applied > 0 && !round;
      matched ||= r.applied > 0;
    }
    return matched;
  };

  const loop = async () => {
    while (!stopping) {
      let found = false;
      let failed = false;
      try {
        found = await cycle();
      } catch (err) {
        failed = true;
        deps.logger?.error({ err }, 'applying callbacks failed; retrying');
      }
      if (stopping) break;
      await pause.wait(found, failed ? ERROR_BACKOFF_MS : 0);
    }
  };
  const done = loop();

  return {
    wake: () => pause.wake(),
    notifyWork: () => {
      if (pause.backingOff) pause.wake();
    },
    async stop() {
      stopping = true;
      pause.wake();
      await done;
    },
  };
}
