import { sql, type Transaction } from 'kysely';
import { claimDue, lockPacingRows, rowLocks } from './claims.ts';
import type { Db } from './dialect.ts';
import type { MessageRow } from './message-store.ts';
import { readStickySenders, writeStickySenders } from './policy-store.ts';
import type { Database } from './schema.ts';

/** Shared pacing state for one key (a number or a pool). */
export interface PacingRow {
  key: string;
  tat: number;
  rateFactor: number;
  updatedAt: number;
}

/**
 * How a claim uses the pacing state: which keys to lock, how many messages fit the
 * schedule, and how the claimed ones are assigned slots (mutating the state).
 */
export interface ClaimPlan<T> {
  keys: string[];
  /** How many messages fit the schedule now, at most `max` (the work stops there). */
  capacity(state: Map<string, PacingRow>, max: number): number;
  /** The sticky-sender keys of these rows, whose pins the claim reads. */
  stickyKeys(rows: MessageRow[]): string[];
  /**
   * Assigns each row a slot (mutating the state), or null when it does not fit now (it goes
   * back to the queue); returns the sticky pins it made or changed, which the claim persists.
   */
  assign(
    rows: MessageRow[],
    state: Map<string, PacingRow>,
    pins?: ReadonlyMap<string, string>,
  ): { slots: (T | null)[]; newPins: StickyPin[] };
}

/** A conversational recipient's sender, kept across messages and restarts. */
export interface StickyPin {
  key: string;
  poolId: string;
  sender: string;
}

// Written as literals so SQLite can use the partial indexes defined on these states.
const QUEUED = sql<boolean>`status = 'queued'`;
const SENDING = sql<boolean>`status = 'sending'`;

/** What a worker reports after a provider call (or a reconciliation). */
export type DispatchOutcome =
  | {
      kind: 'accepted';
      messageId: string;
      attempt: number;
      providerSid: string;
      httpStatus: number | null;
      adopted: boolean;
      now: number;
    }
  | {
      kind: 'retry';
      messageId: string;
      attempt: number;
      owner: string;
      nextAttemptAt: number;
      delayMs: number;
      /** The attempt may have reached the provider: reconcile before the next send. */
      reconcile: boolean;
      errorCode: string;
      providerErrorCode: number | null;
      httpStatus: number | null;
      message: string;
      now: number;
    }
  | {
      kind: 'failed';
      messageId: string;
      attempt: number;
      owner: string;
      status: 'failed' | 'dead';
      errorCode: string;
      providerErrorCode: number | null;
      httpStatus: number | null;
      message: string;
      now: number;
    };

/** One attempt about to be made. */
export interface AttemptStart {
  messageId: string;
  owner: string;
  attempt: number;
  sender: string;
  now: number;
  leaseMs: number;
}

/**
 * In one transaction: locks the pool's pacing rows, claims as many due messages as the
 * schedule has room for, assigns them slots and writes the schedule back. Workers on
 * PostgreSQL therefore share one schedule per pool and number.
 */
export async function claimPaced<T>(
  db: Db,
  args: { poolId: string; owner: string; now: number; leaseMs: number; maxBatch: number },
  plan: ClaimPlan<T>,
): Promise<{ rows: MessageRow[]; assignments: T[] }> {
  const locks = rowLocks(db);
  return db.kysely.transaction().execute(async (trx) => {
    const locked = await lockPacingRows(trx, locks, plan.keys, args.now);
    const state = new Map<string, PacingRow>(
      locked.map((r) => [
        r.key,
        { key: r.key, tat: r.tat, rateFactor: r.rate_factor, updatedAt: r.updated_at },
      ]),
    );
    const limit = plan.capacity(state, args.maxBatch);
    if (limit <= 0) return { rows: [], assignments: [] };
    const rows = await claimDue(trx, locks, { ...args, limit });
    if (rows.length === 0) return { rows, assignments: [] };
    const pins = await readStickySenders(trx, plan.stickyKeys(rows));
    const { slots, newPins } = plan.assign(rows, state, pins);
    await writePacing(trx, state);
    await writeStickySenders(trx, newPins, args.now);
    const kept: MessageRow[] = [];
    const assignments: T[] = [];
    const unplaced: string[] = [];
    rows.forEach((row, i) => {
      const slot = slots[i];
      if (slot == null) unplaced.push(row.id);
      else {
        kept.push(row);
        assignments.push(slot);
      }
    });
    if (unplaced.length > 0) {
      // Bound to a number whose schedule is full beyond the wait limit: back to the queue, untouched.
      await trx
        .updateTable('messages')
        .set({ status: 'queued', status_rank: 0, lease_owner: null, lease_expires_at: null })
        .where('id', 'in', unplaced)
        .execute();
    }
    return { rows: kept, assignments };
  });
}

/** Applies a 429 slow-down or recovery to a pacing key, outside any claim. */
export async function updateRateFactor(
  db: Db,
  key: string,
  fn: (row: PacingRow) => number,
  now: number,
): Promise<number> {
  const locks = rowLocks(db);
  return db.kysely.transaction().execute(async (trx) => {
    const [row] = await lockPacingRows(trx, locks, [key], now);
    const factor = fn({ key, tat: row!.tat, rateFactor: row!.rate_factor, updatedAt: row!.updated_at });
    await trx
      .updateTable('pacing_state')
      .set({ rate_factor: factor, updated_at: now })
      .where('key', '=', key)
      .execute();
    return factor;
  });
}

async function writePacing(trx: Transaction<Database>, state: Map<string, PacingRow>): Promise<void> {
  for (const r of state.values()) {
    await trx
      .updateTable('pacing_state')
      .set({ tat: r.tat, rate_factor: r.rateFactor, updated_at: r.updatedAt })
      .where('key', '=', r.key)
      .execute();
  }
}

/** Returns messages whose lease expired (their worker died) to the queue, due now. */
export async function releaseExpiredLeases(db: Db, now: number): Promise<number> {
  const res = await db.kysely
    .updateTable('messages')
    .set({
      status: 'queued',
      status_rank: 0,
      lease_owner: null,
      lease_expires_at: null,
      next_attempt_at: now,
      updated_at: now,
    })
    .where(SENDING)
    .where('lease_expires_at', '<', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Releases this worker's leases without an attempt (graceful shutdown). */
export async function releaseLeases(db: Db, owner: string, messageIds: string[], now: number): Promise<void> {
  if (messageIds.length === 0) return;
  await db.kysely
    .updateTable('messages')
    .set({ status: 'queued', status_rank: 0, lease_owner: null, lease_expires_at: null, updated_at: now })
    .where('lease_owner', '=', owner)
    .where('status', '=', 'sending')
    .where('id', 'in', messageIds)
    .execute();
}

/**
 * Records that attempts are about to be made, before the provider is called: each message
 * is marked as needing reconciliation until its outcome is known, so a crash mid-call never
 * leads to a blind resend. Returns the ids whose lease was still held (only those may send).
 */
export async function startAttempts(db: Db, items: AttemptStart[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  return db.kysely.transaction().execute(async (trx) => {
    const held = new Set<string>();
    // Rows are locked in id order everywhere (here, outcomes, the callback applier): no deadlocks.
    for (const a of [...items].sort((x, y) => (x.messageId < y.messageId ? -1 : 1))) {
      const res = await trx
        .updateTable('messages')
        .set({
          attempts: a.attempt,
          sender: a.sender,
          needs_reconcile: 1,
          lease_expires_at: a.now + a.leaseMs,
          updated_at: a.now,
        })
        .where('id', '=', a.messageId)
        .where('lease_owner', '=', a.owner)
        .where('status', '=', 'sending')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) held.add(a.messageId);
    }
    const rows = items.filter((a) => held.has(a.messageId));
    if (rows.length > 0) {
      await trx
        .insertInto('message_attempts')
        .values(
          rows.map((a) => ({
            message_id: a.messageId,
            attempt: a.attempt,
            sender: a.sender,
            started_at: a.now,
            outcome: 'pending',
          })),
        )
        .execute();
    }
    return held;
  });
}

/** Records provider outcomes in one transaction; status only ever moves forward. */
export async function recordOutcomes(db: Db, outcomes: DispatchOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const ordered = [...outcomes].sort((x, y) => (x.messageId < y.messageId ? -1 : 1));
  await db.kysely.transaction().execute(async (trx) => {
    for (const o of ordered) await recordOutcome(trx, o);
  });
}

async function recordOutcome(trx: Transaction<Database>, o: DispatchOutcome): Promise<void> {
  const attempt = trx
    .updateTable('message_attempts')
    .where('message_id', '=', o.messageId)
    .where('attempt', '=', o.attempt);
  if (o.kind === 'accepted') {
    await attempt
      .set({
        outcome: o.adopted ? 'adopted' : 'accepted',
        finished_at: o.now,
        http_status: o.httpStatus,
        provider_sid: o.providerSid,
      })
      .execute();
    // Regardless of the lease: the provider has this message, so its SID must be kept.
    const res = await trx
      .updateTable('messages')
      .set({
        provider_sid: o.providerSid,
        submitted_at: o.now,
        needs_reconcile: 0,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: o.now,
      })
      .where('id', '=', o.messageId)
      .where('provider_sid', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return;
    const moved = await trx
      .updateTable('messages')
      .set({ status: 'submitted', status_rank: 2 })
      .where('id', '=', o.messageId)
      .where('status_rank', '<', 2)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) === 1) {
      await trx
        .insertInto('message_events')
        .values({
          message_id: o.messageId,
          status: 'submitted',
          at: o.now,
          provider_error_code: null,
          source: o.adopted ? 'reconcile' : 'dispatch',
        })
        .execute();
    }
    return;
  }
  const common = {
    error_code: o.errorCode,
    provider_error_code: o.providerErrorCode,
    error_message: o.message.slice(0, 500),
    updated_at: o.now,
    lease_owner: null,
    lease_expires_at: null,
  };
  if (o.kind === 'retry') {
    const res = await trx
      .updateTable('messages')
      .set({
        ...common,
        status: 'queued',
        status_rank: 0,
        next_attempt_at: o.nextAttemptAt,
        last_delay_ms: o.delayMs,
        needs_reconcile: o.reconcile ? 1 : 0,
      })
      .where('id', '=', o.messageId)
      .where('lease_owner', '=', o.owner)
      .where('status', '=', 'sending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) {
      await attempt
        .set({
          outcome: o.reconcile ? 'unknown' : 'retry',
          finished_at: o.now,
          http_status: o.httpStatus,
          provider_error_code: o.providerErrorCode,
          error_code: o.errorCode,
        })
        .execute();
    }
    return;
  }
  const res = await trx
    .updateTable('messages')
    .set({ ...common, status: o.status, status_rank: 4, final_at: o.now, needs_reconcile: 0 })
    .where('id', '=', o.messageId)
    .where('lease_owner', '=', o.owner)
    .where('status_rank', '<', 2)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 1) {
    await attempt
      .set({
        outcome: 'failed',
        finished_at: o.now,
        http_status: o.httpStatus,
        provider_error_code: o.providerErrorCode,
        error_code: o.errorCode,
      })
      .execute();
    await trx
      .insertInto('message_events')
      .values({
        message_id: o.messageId,
        status: o.status,
        at: o.now,
        provider_error_code: o.providerErrorCode,
        source: 'dispatch',
      })
      .execute();
  }
}

/** Queue figures for metrics and autoscaling: depth and the age of the oldest due message. */
export async function queueStats(
  db: Db,
  now: number,
): Promise<{ depth: number; oldestDueAt: number | null; inFlight: number }> {
  const [depth, oldest, inFlight] = await Promise.all([
    db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(QUEUED)
      .executeTakeFirst(),
    db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.min<number>('next_attempt_at').as('t'))
      .where(QUEUED)
      .where('next_attempt_at', '<=', now)
      .executeTakeFirst(),
    db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(SENDING)
      .executeTakeFirst(),
  ]);
  return {
    depth: Number(depth?.n ?? 0),
    oldestDueAt: oldest?.t == null ? null : Number(oldest.t),
    inFlight: Number(inFlight?.n ?? 0),
  };
}

/** Which of these provider SIDs already belong to a message, and to which (so reconciliation never adopts one twice). */
export async function knownProviderSids(db: Db, sids: string[]): Promise<Map<string, string>> {
  if (sids.length === 0) return new Map();
  const rows = await db.kysely
    .selectFrom('messages')
    .select(['provider_sid', 'id'])
    .where('provider_sid', 'in', sids)
    .execute();
  return new Map(rows.map((r) => [r.provider_sid!, r.id]));
}

/** A cheap round trip, for readiness probes (never a scan of the queue). */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db.kysely);
}
