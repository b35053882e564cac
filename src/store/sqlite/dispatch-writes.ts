import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from '../dialect.ts';
import type { AttemptStart, DispatchOutcome } from '../queue-store.ts';

/** The dispatch writes of one connection, each a transaction over statements prepared once. */
interface Writers {
  start: (items: AttemptStart[]) => Set<string>;
  record: (outcomes: DispatchOutcome[]) => void;
}

// Prepared once per connection: through Kysely, building and compiling the 3–4 statements of
// each message cost more CPU than SQLite spent running them (keep in sync with
// postgres/dispatch-writes.ts, which does the same set-based).
const writers = new WeakMap<BetterSqlite3.Database, Writers>();

function writersFor(sqlite: BetterSqlite3.Database): Writers {
  const cached = writers.get(sqlite);
  if (cached) return cached;
  const startMessage = sqlite.prepare(
    `update messages set attempts = ?, sender = ?, needs_reconcile = 1, lease_expires_at = ?, updated_at = ?
      where id = ? and lease_owner = ? and status = 'sending'`,
  );
  const insertAttempt = sqlite.prepare(
    `insert into message_attempts (message_id, attempt, sender, started_at, outcome) values (?, ?, ?, ?, 'pending')`,
  );
  // Regardless of the lease: the provider has this message, so its SID must be kept. Status
  // only moves forward (a callback may have moved it further already).
  const acceptMessage = sqlite.prepare(
    `update messages set provider_sid = ?, submitted_at = ?, needs_reconcile = 0, lease_owner = null,
            lease_expires_at = null, updated_at = ?,
            status = case when status_rank < 2 then 'submitted' else status end,
            status_rank = max(status_rank, 2)
      where id = ? and provider_sid is null`,
  );
  const acceptAttempt = sqlite.prepare(
    `update message_attempts set outcome = ?, finished_at = ?, http_status = ?, provider_sid = ?
      where message_id = ? and attempt = ?`,
  );
  const retryMessage = sqlite.prepare(
    `update messages set error_code = ?, provider_error_code = ?, error_message = ?, updated_at = ?,
            lease_owner = null, lease_expires_at = null, status = 'queued', status_rank = 0,
            next_attempt_at = ?, last_delay_ms = ?, needs_reconcile = ?
      where id = ? and lease_owner = ? and status = 'sending'`,
  );
  const failMessage = sqlite.prepare(
    `update messages set error_code = ?, provider_error_code = ?, error_message = ?, updated_at = ?,
            lease_owner = null, lease_expires_at = null, status = ?, status_rank = 4, final_at = ?,
            needs_reconcile = 0
      where id = ? and lease_owner = ? and status_rank < 2`,
  );
  const finishAttempt = sqlite.prepare(
    `update message_attempts set outcome = ?, finished_at = ?, http_status = ?, provider_error_code = ?, error_code = ?
      where message_id = ? and attempt = ?`,
  );
  const insertEvent = sqlite.prepare(
    `insert into message_events (message_id, status, at, provider_error_code, source) values (?, ?, ?, ?, 'dispatch')`,
  );

  const start = sqlite.transaction((items: AttemptStart[]) => {
    const held = new Set<string>();
    for (const a of items) {
      const res = startMessage.run(a.attempt, a.sender, a.now + a.leaseMs, a.now, a.messageId, a.owner);
      if (res.changes !== 1) continue;
      held.add(a.messageId);
      insertAttempt.run(a.messageId, a.attempt, a.sender, a.now);
    }
    return held;
  });

  const record = sqlite.transaction((outcomes: DispatchOutcome[]) => {
    for (const o of outcomes) {
      if (o.kind === 'accepted') {
        acceptAttempt.run(
          o.adopted ? 'adopted' : 'accepted',
          o.now,
          o.httpStatus,
          o.providerSid,
          o.messageId,
          o.attempt,
        );
        acceptMessage.run(o.providerSid, o.now, o.now, o.messageId);
        continue;
      }
      const message = o.message.slice(0, 500);
      const moved =
        o.kind === 'retry'
          ? retryMessage.run(
              o.errorCode,
              o.providerErrorCode,
              message,
              o.now,
              o.nextAttemptAt,
              o.delayMs,
              o.reconcile ? 1 : 0,
              o.messageId,
              o.owner,
            )
          : failMessage.run(
              o.errorCode,
              o.providerErrorCode,
              message,
              o.now,
              o.status,
              o.now,
              o.messageId,
              o.owner,
            );
      if (moved.changes !== 1) continue;
      const outcome = o.kind === 'failed' ? 'failed' : o.reconcile ? 'unknown' : 'retry';
      finishAttempt.run(
        outcome,
        o.now,
        o.httpStatus,
        o.providerErrorCode,
        o.errorCode,
        o.messageId,
        o.attempt,
      );
      if (o.kind === 'failed') insertEvent.run(o.messageId, o.status, o.now, o.providerErrorCode);
    }
  });

  const made = { start, record };
  writers.set(sqlite, made);
  return made;
}

/**
 * SQLite side of `startAttempts`: one transaction of prepared statements, run while holding
 * Kysely's connection so it never interleaves with another transaction.
 */
export async function sqliteStartAttempts(db: Db, items: AttemptStart[]): Promise<Set<string>> {
  const sqlite = db.sqlite!;
  return db.kysely.connection().execute(async () => writersFor(sqlite).start(items));
}

/** SQLite side of `recordOutcomes`: one transaction of prepared statements, in the given order. */
export async function sqliteRecordOutcomes(db: Db, outcomes: DispatchOutcome[]): Promise<void> {
  const sqlite = db.sqlite!;
  await db.kysely.connection().execute(async () => writersFor(sqlite).record(outcomes));
}
