import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PoolConfig } from '../config/index.ts';
import { SbError } from '../errors/index.ts';
import type { Metrics } from '../observability/index.ts';
import { CallSpacing, poolClaimPlan, type SlotAssignment } from '../pacing/index.ts';
import type { Provider, SendResult } from '../providers/index.ts';
import {
  claimPaced,
  type Db,
  type DispatchOutcome,
  type MessageRow,
  releaseExpiredLeases,
  releaseLeases,
  Semaphore,
} from '../store/index.ts';
import { type DispatchPolicy, type SendDecision, storedContent } from './dispatch-policy.ts';
import { createDispatchWriters, type DispatchWriters } from './dispatch-writers.ts';
import { PollPause, processTimers } from './poll-pause.ts';
import { createRateLimitBrake } from './rate-limit-brake.ts';
import { nextDelay, type RetryPolicy } from './retry-policy.ts';
import { deadLetter, failedOutcome, findOwnSent, providerAddress, retryOutcome } from './send-outcomes.ts';

/** What the dispatcher works with. */
export interface DispatcherDeps {
  db: Db;
  provider: Provider;
  /** The pools, when no policy supplies them. */
  pools: readonly PoolConfig[];
  /** Checks each message before its provider call (opt-outs, windows, caps…); none: send as stored. */
  policy?: DispatchPolicy | undefined;
  metrics: Metrics;
  logger: Logger;
  clock?: () => number;
  random?: () => number;
}

/** How the dispatcher paces, leases and retries. */
export interface DispatcherOptions {
  /** This worker's identity in leases. */
  owner: string;
  leaseMs: number;
  /** Pause between claims while there is work; empty claims stretch it (see `maxIdlePollMs`). */
  pollMs: number;
  /**
   * Longest pause once claims keep coming back empty (default 250 ms, at most half the
   * horizon so the schedule never runs dry). New work from this process wakes the dispatcher
   * at once (`notifyWork`), and so do its own retries when they fall due.
   */
  maxIdlePollMs?: number | undefined;
  horizonMs: number;
  /**
   * How long before its slot a message's pre-send work starts (0: at the slot): the attempt
   * record's write then never delays the provider call, which alone waits for the slot.
   */
  prepareLeadMs: number;
  claimBatch: number;
  retry: RetryPolicy;
  reconcileAfterMs: number;
  /** Provider calls in flight at once (the account's REST concurrency share). */
  maxConcurrency: number;
  /** The StatusCallback URL for a message; it carries our id so callbacks find the message. */
  statusCallbackUrl: (messageId: string) => string;
}

/**
 * Claims due messages pool by pool with a lease, paced by GCRA per number and per pool,
 * calls the provider at each message's slot, and records the outcome: accepted, failed for
 * good, retried with decorrelated jitter, dead-lettered after the last attempt, or — when
 * the outcome is unknown — reconciled with the provider before any resend.
 */
export class Dispatcher {
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly semaphore: Semaphore;
  private readonly writes: DispatchWriters;
  private readonly scheduled = new Map<string, { timer: NodeJS.Timeout; row: MessageRow }>();
  private readonly running = new Set<Promise<void>>();
  private readonly slowDown: (poolId: string) => Promise<void>;
  private readonly pause: PollPause;
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  private lastLeaseSweep = 0;
  /** The pace of this process's own calls per number, after the slots (see `CallSpacing`). */
  private readonly spacing = new CallSpacing();

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly options: DispatcherOptions,
  ) {
    this.clock = deps.clock ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.semaphore = new Semaphore(options.maxConcurrency);
    this.slowDown = createRateLimitBrake({ db: deps.db, logger: deps.logger, clock: this.clock });
    const maxIdle = options.maxIdlePollMs ?? Math.min(250, options.horizonMs / 2);
    this.pause = new PollPause(options.pollMs, Math.max(options.pollMs, maxIdle), processTimers(this.clock));
    this.writes = createDispatchWriters(deps.db);
  }

  /** Starts claiming. */
  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.loop().catch((err) => this.deps.logger.error({ err }, 'dispatcher loop stopped'));
  }

  /**
   * Graceful stop: no more claims; messages waiting for their slot are released at once, except
   * those within `prepareLeadMs` of it (already being prepared: they go out at their slot);
   * provider calls in flight finish and their outcomes are recorded.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.wake();
    await this.loopDone;
    const waiting = [...this.scheduled.values()];
    for (const s of waiting) clearTimeout(s.timer);
    this.scheduled.clear();
    await releaseLeases(
      this.deps.db,
      this.options.owner,
      waiting.map((s) => s.row.id),
      this.clock(),
    );
    await Promise.all([...this.running]);
    await this.writes.drain();
  }

  /**
   * Says that new messages were queued (by intake in this process): an idle dispatcher claims
   * at once instead of at the end of its stretched pause. A busy one keeps its pace, so claims
   * stay batched under load.
   */
  notifyWork(): void {
    if (this.pause.backingOff) this.pause.wake();
  }

  /** Messages claimed and not yet resolved by this worker. */
  get inFlight(): number {
    return this.scheduled.size + this.running.size;
  }

  private async loop(): Promise<void> {
    const { db } = this.deps;
    while (!this.stopping) {
      const pools = this.deps.policy?.pools ?? this.deps.pools;
      const now = this.clock();
      if (now - this.lastLeaseSweep >= 1000) {
        this.lastLeaseSweep = now;
        await releaseExpiredLeases(db, now);
      }
      // Busy when a claim found work, or when this worker already holds plenty (backpressure).
      let busy = false;
      for (const pool of pools) {
        if (this.stopping) break;
        if (this.scheduled.size + this.running.size >= this.options.claimBatch * 4) {
          busy = true;
          break;
        }
        try {
          const plan = poolClaimPlan(pool, now, this.options.horizonMs, {
            selector: this.deps.policy?.selector(pool.id),
            // A message bound to one number (ordered, sticky, geomatched) may wait this long.
            maxWaitMs: this.options.leaseMs / 2,
          });
          const { rows, assignments } = await claimPaced(
            db,
            {
              poolId: pool.id,
              owner: this.options.owner,
              now,
              leaseMs: this.options.leaseMs,
              maxBatch: this.options.claimBatch,
            },
            plan,
          );
          if (rows.length > 0) busy = true;
          for (let i = 0; i < rows.length; i++) this.schedule(rows[i]!, pool, assignments[i]!);
        } catch (err) {
          this.deps.logger.error({ err, pool: pool.id }, 'claim failed');
        }
      }
      if (!this.stopping) await this.pause.wait(busy);
    }
  }

  private schedule(row: MessageRow, pool: PoolConfig, slot: SlotAssignment): void {
    // The policy check runs now, while the message waits for its slot, so its queries never
    // delay the provider call past the slot (that bunched sends at the provider). Only for a
    // message that will be sent: the check reserves caps and counters, which a dead letter or
    // a message awaiting reconciliation must not use up (execute checks after a reconciliation).
    const sendable = row.needs_reconcile === 0 && row.attempts < this.options.retry.maxAttempts;
    const precheck = sendable ? this.deps.policy?.check(row, pool, slot) : undefined;
    precheck?.catch(() => {}); // awaited (and reported) in execute
    const timer = setTimeout(
      () => {
        this.scheduled.delete(row.id);
        const run = this.execute(row, pool, slot, precheck).catch((err) =>
          this.deps.logger.error({ err, messageId: row.id }, 'dispatch failed'),
        );
        this.running.add(run);
        void run.finally(() => this.running.delete(run));
      },
      Math.max(0, slot.at - this.options.prepareLeadMs - this.clock()),
    );
    this.scheduled.set(row.id, { timer, row });
  }

  private async execute(
    row: MessageRow,
    pool: PoolConfig,
    slot: SlotAssignment,
    precheck?: Promise<SendDecision>,
  ): Promise<void> {
    const sender = slot.sender;
    const { maxAttempts } = this.options.retry;
    if (row.needs_reconcile === 1) {
      const settled = await this.reconcile(row, pool);
      if (settled) return;
    }
    if (row.attempts >= maxAttempts) {
      const reason = row.error_code ?? 'unknown';
      this.deps.metrics.deadLetters.inc({ reason });
      const last = {
        message: row.error_message ?? reason,
        providerCode: row.provider_error_code,
        httpStatus: null,
      };
      await this.record(
        deadLetter(row, { attempt: row.attempts, owner: this.options.owner, now: this.clock() }, last),
      );
      return;
    }
    const decision = this.deps.policy
      ? await (precheck ?? this.deps.policy.check(row, pool, slot))
      : storedContent(row);
    if (decision.kind !== 'send') {
      // A deferral comes due later, a reroute is due now: neither waits for an idle back-off.
      if (decision.kind === 'defer') this.pause.wakeBy(decision.until);
      else if (decision.kind === 'reroute') this.pause.wake();
      await this.writes.policyOutcomes.submit({
        ...decision,
        messageId: row.id,
        owner: this.options.owner,
        now: this.clock(),
      });
      return;
    }
    const content = decision;
    const attempt = row.attempts + 1;
    const held = await this.writes.attempts.submit({
      messageId: row.id,
      owner: this.options.owner,
      attempt,
      sender,
      // The attempt starts at its slot, which may still be a lead time ahead.
      now: Math.max(this.clock(), Math.ceil(slot.at)),
      leaseMs: this.options.leaseMs,
    });
    if (!held) return; // the lease was lost (or a callback already settled it): never send
    // Started ahead of the slot (prepareLeadMs): the call waits for it, up to the ms its attempt recorded.
    const early = Math.ceil(slot.at) - this.clock();
    if (early > 0) await sleep(early);
    // A call that leaves late would leave back to back with the next ones: keep the number's pace.
    const spread = this.spacing.reserve(pool, sender, this.clock(), slot.rateFactor);
    if (spread > 0) await sleep(spread);
    await this.semaphore.acquire();
    this.deps.metrics.sendLateness.observe({ pool: pool.id }, Math.max(0, this.clock() - slot.at) / 1000);
    const started = performance.now();
    let result: SendResult;
    try {
      result = await this.deps.provider.send({
        messageId: row.id,
        to: providerAddress(row),
        from: sender,
        body: content.body,
        mediaUrls: content.mediaUrls,
        contentSid: content.contentSid,
        contentVariables: content.contentVariables,
        statusCallback: this.options.statusCallbackUrl(row.id),
      });
    } finally {
      this.semaphore.release();
    }
    this.deps.metrics.providerLatency.observe({ outcome: result.kind }, (performance.now() - started) / 1000);
    this.deps.metrics.providerRequests.inc({ outcome: result.kind, pool: pool.id });
    await this.record(this.decide(row, pool, attempt, result));
  }

  private decide(row: MessageRow, pool: PoolConfig, attempt: number, result: SendResult): DispatchOutcome {
    const now = this.clock();
    const owner = this.options.owner;
    if (result.kind === 'accepted') {
      this.deps.metrics.submitted.inc({ pool: pool.id });
      return {
        kind: 'accepted',
        messageId: row.id,
        attempt,
        providerSid: result.providerSid,
        httpStatus: result.httpStatus,
        adopted: false,
        now,
      };
    }
    const { providerCode, httpStatus } = result;
    if (result.kind === 'failed' && !result.error.retryable) {
      return failedOutcome(row, {
        attempt,
        owner,
        status: 'failed',
        error: result.error,
        providerCode,
        httpStatus,
        now,
      });
    }
    if (result.error.code === 'SB_PROVIDER_RATE_LIMITED') {
      this.deps.metrics.rateLimited.inc({ pool: pool.id });
      void this.slowDown(pool.id);
    }
    const reconcile = result.kind === 'unknown';
    if (!reconcile && attempt >= this.options.retry.maxAttempts) {
      this.deps.metrics.deadLetters.inc({ reason: result.error.code });
      return deadLetter(
        row,
        { attempt, owner, now },
        { message: result.error.message, providerCode, httpStatus },
      );
    }
    this.deps.metrics.retries.inc({ reason: result.error.code });
    const delayMs = this.retryDelay(row, reconcile);
    return retryOutcome(row, {
      attempt,
      owner,
      delayMs,
      reconcile,
      error: result.error,
      providerCode,
      httpStatus,
      now,
    });
  }

  /** The next retry's delay: decorrelated jitter, and never sooner than a reconciliation may run. */
  private retryDelay(row: MessageRow, reconcile: boolean): number {
    const jitter = nextDelay(this.options.retry, row.last_delay_ms, this.random);
    return reconcile ? Math.max(jitter, this.options.reconcileAfterMs) : jitter;
  }

  /**
   * Asks the provider whether an ambiguous attempt created the message. Adopts its SID if
   * so (returns true: nothing more to do); returns false when it was not created. A failed
   * question schedules the reconciliation again (returns true).
   */
  private async reconcile(row: MessageRow, pool: PoolConfig): Promise<boolean> {
    const { metrics } = this.deps;
    try {
      const sid = await findOwnSent(this.deps.provider, this.deps.db, row);
      if (sid === null) {
        metrics.reconciliations.inc({ result: 'not_found' });
        return false;
      }
      metrics.reconciliations.inc({ result: 'adopted' });
      metrics.submitted.inc({ pool: pool.id });
      const now = this.clock();
      await this.record({
        kind: 'accepted',
        messageId: row.id,
        attempt: row.attempts,
        providerSid: sid,
        httpStatus: null,
        adopted: true,
        now,
      });
      return true;
    } catch (err) {
      metrics.reconciliations.inc({ result: 'error' });
      const error = err instanceof SbError ? err : new SbError('SB_PROVIDER_UNAVAILABLE', String(err));
      await this.record(
        retryOutcome(row, {
          attempt: row.attempts,
          owner: this.options.owner,
          delayMs: this.retryDelay(row, true),
          reconcile: true,
          error,
          providerCode: null,
          httpStatus: null,
          now: this.clock(),
        }),
      );
      return true;
    }
  }

  private record(outcome: DispatchOutcome): Promise<void> {
    // Backing off never delays a retry past its time.
    if (outcome.kind === 'retry') this.pause.wakeBy(outcome.nextAttemptAt);
    return this.writes.outcomes.submit(outcome);
  }
}
