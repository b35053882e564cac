import { type CompiledQuery, sql, type Transaction } from 'kysely';
import { countOrphans } from './callback-store.ts';
import { claimDue, lockPacingRows, rowLocks } from './claims.ts';
import { type Db, readRows } from './dialect.ts';
import type { MessageRow } from './message-store.ts';
import { readStickySenders, writeStickySenders } from './policy-store.ts';
import { postgresRecordOutcomes, postgresStartAttempts } from './postgres/dispatch-writes.ts';
import type { Database } from './schema.ts';
import { sqliteRecordOutcomes, sqliteStartAttempts } from './sqlite/dispatch-writes.ts';

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
  return db.sqlite ? sqliteStartAttempts(db, items) : postgresStartAttempts(db, items);
}

/**
 * Records provider outcomes in one transaction, as if one by one in the given order; status
 * only ever moves forward. An accepted message keeps its SID and `submitted_at` (its history
 * shows the `submitted` event from them, see `getHistory`); a failed one gets its event.
 */
export async function recordOutcomes(db: Db, outcomes: DispatchOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  if (db.sqlite) await sqliteRecordOutcomes(db, outcomes);
  else await postgresRecordOutcomes(db, outcomes);
}

/** What `queue_depth`, `queue_lag_seconds`, `queue_in_flight` and `sb_callbacks_kept_aside` report. */
export interface QueueStats {
  depth: number;
  oldestDueAt: number | null;
  inFlight: number;
  /** Status callbacks that matched no message yet (kept aside, matched again later). */
  keptAside: number;
}

/**
 * Queue figures for metrics and autoscaling: depth, the age of the oldest due message, the
 * messages in flight, and the status callbacks kept aside. Counting a deep queue is a scan of
 * the due index (~0.4 s for a million rows on SQLite), so on SQLite the same queries, compiled,
 * run on the background connection, off the event loop.
 */
export async function queueStats(db: Db, now: number): Promise<QueueStats> {
  const count = (state: typeof QUEUED) =>
    db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(state)
      .compile();
  const oldest = db.kysely
    .selectFrom('messages')
    .select((eb) => eb.fn.min<number>('next_attempt_at').as('t'))
    .where(QUEUED)
    .where('next_attempt_at', '<=', now)
    .compile();
  const first = async <R>(query: CompiledQuery<R>): Promise<R | undefined> => (await readRows(db, query))[0];
  const [depth, due, inFlight, keptAside] = await Promise.all([
    first(count(QUEUED)),
    first(oldest),
    first(count(SENDING)),
    countOrphans(db),
  ]);
  return {
    depth: Number(depth?.n ?? 0),
    oldestDueAt: due?.t == null ? null : Number(due.t),
    inFlight: Number(inFlight?.n ?? 0),
    keptAside,
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
