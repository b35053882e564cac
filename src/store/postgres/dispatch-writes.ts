import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Db } from '../dialect.ts';
import type { AttemptStart, DispatchOutcome } from '../queue-store.ts';
import type { Database } from '../schema.ts';

type Outcome<K extends DispatchOutcome['kind']> = Extract<DispatchOutcome, { kind: K }>;

/**
 * PostgreSQL side of `startAttempts`: set-based, a few statements per batch whatever its size
 * (one statement per message cost a round trip each). Keep in sync with
 * sqlite/dispatch-writes.ts, which runs the same writes one prepared statement at a time.
 */
export async function postgresStartAttempts(db: Db, items: AttemptStart[]): Promise<Set<string>> {
  return db.kysely.transaction().execute(async (trx) => {
    const held = new Set<string>();
    for (const run of distinctRuns(items)) {
      await lockMessages(trx, run);
      const v = valuesTable(run, {
        id: ['text', (a) => a.messageId],
        attempt: ['int', (a) => a.attempt],
        sender: ['text', (a) => a.sender],
        owner: ['text', (a) => a.owner],
        now: ['bigint', (a) => a.now],
        lease_expires_at: ['bigint', (a) => a.now + a.leaseMs],
      });
      const { rows } = await sql<{ message_id: string }>`
        with ${v},
        held as (
          update messages m
             set attempts = v.attempt, sender = v.sender, needs_reconcile = 1,
                 lease_expires_at = v.lease_expires_at, updated_at = v.now
            from v
           where m.id = v.id and m.lease_owner = v.owner and m.status = 'sending'
          returning m.id, v.attempt, v.sender, v.now)
        insert into message_attempts (message_id, attempt, sender, started_at, outcome)
        select id, attempt, sender, now, 'pending' from held
        returning message_id`.execute(trx);
      for (const r of rows) held.add(r.message_id);
    }
    return held;
  });
}

/** PostgreSQL side of `recordOutcomes`: one statement per kind of outcome in the batch. */
export async function postgresRecordOutcomes(db: Db, outcomes: DispatchOutcome[]): Promise<void> {
  await db.kysely.transaction().execute(async (trx) => {
    for (const run of distinctRuns(outcomes)) {
      await lockMessages(trx, run);
      const accepted = run.filter((o): o is Outcome<'accepted'> => o.kind === 'accepted');
      const retried = run.filter((o): o is Outcome<'retry'> => o.kind === 'retry');
      const failed = run.filter((o): o is Outcome<'failed'> => o.kind === 'failed');
      if (accepted.length > 0) await accept(trx, accepted);
      if (retried.length > 0) await retry(trx, retried);
      if (failed.length > 0) await fail(trx, failed);
    }
  });
}

/**
 * Locks the messages in id order, the order every writer of messages uses (claims skip
 * locked rows; the callback applier locks in id order too), so batches never deadlock.
 */
async function lockMessages(trx: Transaction<Database>, items: { messageId: string }[]): Promise<void> {
  await sql`select id from messages where id = any(${items.map((i) => i.messageId)}::text[])
             order by id for update`.execute(trx);
}

type Columns<T> = Record<string, [pgType: string, value: (item: T) => unknown]>;

/** `v as (…)`: the items as a table, one typed array parameter per column zipped by unnest. */
function valuesTable<T>(items: T[], columns: Columns<T>) {
  const names = Object.keys(columns);
  const arrays = names.map((name) => {
    const [type, value] = columns[name]!;
    return sql`${items.map(value)}::${sql.raw(type)}[]`;
  });
  return sql`v as (select * from unnest(${sql.join(arrays)}) as v(${sql.join(names.map((n) => sql.ref(n)))}))`;
}

async function accept(trx: Transaction<Database>, items: Outcome<'accepted'>[]): Promise<void> {
  const v = valuesTable(items, {
    id: ['text', (o) => o.messageId],
    attempt: ['int', (o) => o.attempt],
    sid: ['text', (o) => o.providerSid],
    http_status: ['int', (o) => o.httpStatus],
    outcome: ['text', (o) => (o.adopted ? 'adopted' : 'accepted')],
    now: ['bigint', (o) => o.now],
  });
  // Regardless of the lease: the provider has this message, so its SID must be kept. Status
  // only moves forward (a callback may have moved it further already).
  await sql`
    with ${v},
    attempts as (
      update message_attempts a
         set outcome = v.outcome, finished_at = v.now, http_status = v.http_status, provider_sid = v.sid
        from v
       where a.message_id = v.id and a.attempt = v.attempt)
    update messages m
       set provider_sid = v.sid, submitted_at = v.now, needs_reconcile = 0, lease_owner = null,
           lease_expires_at = null, updated_at = v.now,
           status = case when m.status_rank < 2 then 'submitted' else m.status end,
           status_rank = greatest(m.status_rank, 2)
      from v
     where m.id = v.id and m.provider_sid is null`.execute(trx);
}

type Settled = Outcome<'retry'> | Outcome<'failed'>;

/** The columns a retry and a failure both carry. */
const SETTLED: Columns<Settled> = {
  id: ['text', (o) => o.messageId],
  attempt: ['int', (o) => o.attempt],
  owner: ['text', (o) => o.owner],
  error_code: ['text', (o) => o.errorCode],
  provider_error_code: ['int', (o) => o.providerErrorCode],
  http_status: ['int', (o) => o.httpStatus],
  message: ['text', (o) => o.message.slice(0, 500)],
  now: ['bigint', (o) => o.now],
};

/** The message columns a retry and a failure both set (the lease is released). */
const SETTLED_SET = sql`error_code = v.error_code, provider_error_code = v.provider_error_code,
  error_message = v.message, updated_at = v.now, lease_owner = null, lease_expires_at = null`;

/** `attempts as (…)`: finishes the attempts of the messages the `moved` statement changed. */
function finishAttempts(outcome: RawBuilder<string>) {
  return sql`attempts as (
    update message_attempts a
       set outcome = ${outcome}, finished_at = v.now, http_status = v.http_status,
           provider_error_code = v.provider_error_code, error_code = v.error_code
      from v
     where a.message_id = v.id and a.attempt = v.attempt and v.id in (select id from moved))`;
}

async function retry(trx: Transaction<Database>, items: Outcome<'retry'>[]): Promise<void> {
  const v = valuesTable(items, {
    ...SETTLED,
    next_attempt_at: ['bigint', (o) => o.nextAttemptAt],
    delay_ms: ['bigint', (o) => o.delayMs],
    reconcile: ['int', (o) => (o.reconcile ? 1 : 0)],
  });
  await sql`
    with ${v},
    moved as (
      update messages m
         set ${SETTLED_SET}, status = 'queued', status_rank = 0, next_attempt_at = v.next_attempt_at,
             last_delay_ms = v.delay_ms, needs_reconcile = v.reconcile
        from v
       where m.id = v.id and m.lease_owner = v.owner and m.status = 'sending'
      returning m.id),
    ${finishAttempts(sql`case when v.reconcile = 1 then 'unknown' else 'retry' end`)}
    select 1`.execute(trx);
}

async function fail(trx: Transaction<Database>, items: Outcome<'failed'>[]): Promise<void> {
  const v = valuesTable(items, { ...SETTLED, status: ['text', (o) => o.status] });
  await sql`
    with ${v},
    moved as (
      update messages m
         set ${SETTLED_SET}, status = v.status, status_rank = 4, final_at = v.now, needs_reconcile = 0
        from v
       where m.id = v.id and m.lease_owner = v.owner and m.status_rank < 2
      returning m.id),
    ${finishAttempts(sql`'failed'`)}
    insert into message_events (message_id, status, at, provider_error_code, source)
    select v.id, v.status, v.now, v.provider_error_code, 'dispatch' from v
     where v.id in (select id from moved)`.execute(trx);
}

/**
 * Splits items into consecutive runs in which no message appears twice, so that set-based
 * statements see each message once and a later item for a message still sees the earlier one's
 * effect, as if they ran one by one.
 */
function distinctRuns<T extends { messageId: string }>(items: T[]): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.messageId)) {
      runs.push(run);
      run = [];
      seen = new Set();
    }
    seen.add(item.messageId);
    run.push(item);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
