import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from '../dialect.ts';
import type { MessageRow } from '../message-store.ts';

const COLUMNS = [
  'id',
  'tenant_id',
  'idempotency_key',
  'payload_hash',
  'channel',
  'purpose',
  'recipient',
  'country',
  'body',
  'body_hash',
  'content_sid',
  'content_variables',
  'media_urls',
  'user_id',
  'correlation_id',
  'pool_id',
  'sender',
  'order_key',
  'status',
  'status_rank',
  'attempts',
  'next_attempt_at',
  'last_delay_ms',
  'lease_owner',
  'lease_expires_at',
  'needs_reconcile',
  'provider_sid',
  'error_code',
  'provider_error_code',
  'error_message',
  'created_at',
  'updated_at',
  'submitted_at',
  'sent_at',
  'final_at',
  'template_id',
  'template_version',
  'template_locale',
  'policy_reason',
] as const satisfies readonly (keyof Omit<MessageRow, 'seq'>)[];

// One prepared statement per connection, reused by every batch: preparing a multi-row
// statement per batch cost more than the inserts themselves.
const statements = new WeakMap<
  BetterSqlite3.Database,
  (rows: Omit<MessageRow, 'seq'>[]) => Map<string, number>
>();

function inserter(sqlite: BetterSqlite3.Database) {
  let run = statements.get(sqlite);
  if (!run) {
    const stmt = sqlite.prepare<unknown[], { seq: number }>(
      `insert into messages (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})
       on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing returning seq`,
    );
    run = sqlite.transaction((rows: Omit<MessageRow, 'seq'>[]) => {
      const created = new Map<string, number>();
      for (const row of rows) {
        const hit = stmt.get(COLUMNS.map((c) => row[c]));
        if (hit) created.set(row.id, hit.seq);
      }
      return created;
    });
    statements.set(sqlite, run);
  }
  return run;
}

/**
 * Inserts rows in one SQLite transaction with a statement prepared once; returns the seq of
 * each row actually inserted (a repeated idempotency key inserts nothing). Runs while
 * holding Kysely's connection so it never interleaves with another transaction.
 */
export async function sqliteInsert(db: Db, rows: Omit<MessageRow, 'seq'>[]): Promise<Map<string, number>> {
  const sqlite = db.sqlite!;
  return db.kysely.connection().execute(async () => inserter(sqlite)(rows));
}
