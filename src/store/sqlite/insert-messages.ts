import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from '../dialect.ts';
import type { MessageRow } from '../message-store.ts';

type NewRow = Omit<MessageRow, 'seq'>;

/**
 * The columns intake sets. Every other column of a new message is a constant (status
 * `queued`, rank 0) or its schema default (0 or null), written by the statement itself:
 * binding the 15 constants of each of 39 columns cost 7% of the insert. `toRow` states the
 * full row; a store test checks that the stored row equals it.
 */
const BOUND = [
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
  'order_key',
  'next_attempt_at',
  'created_at',
  'updated_at',
  'template_id',
  'template_version',
  'template_locale',
  'policy_reason',
] as const satisfies readonly (keyof NewRow)[];

/**
 * The type keeps `boundValues` in step with `BOUND` in length and in each position's type; two
 * neighbours of one type swapped would still compile, which the store's round-trip test catches.
 */
type ValuesOf<T extends readonly (keyof NewRow)[]> = {
  -readonly [K in keyof T]: T[K] extends keyof NewRow ? NewRow[T[K]] : never;
};
type BoundValues = ValuesOf<typeof BOUND>;

/** The values of `BOUND`, in its order: plain property reads (indexing by column name was the slow part). */
const boundValues = (r: NewRow): BoundValues => [
  r.id,
  r.tenant_id,
  r.idempotency_key,
  r.payload_hash,
  r.channel,
  r.purpose,
  r.recipient,
  r.country,
  r.body,
  r.body_hash,
  r.content_sid,
  r.content_variables,
  r.media_urls,
  r.user_id,
  r.correlation_id,
  r.pool_id,
  r.order_key,
  r.next_attempt_at,
  r.created_at,
  r.updated_at,
  r.template_id,
  r.template_version,
  r.template_locale,
  r.policy_reason,
];

// One prepared statement per connection, reused by every batch: preparing a multi-row
// statement per batch cost more than the inserts themselves. No RETURNING: SQLite runs it
// through a temporary table for each execution, 15 of 34 µs a row in a 100k-row probe. The
// new row's seq is its rowid (`seq` is the INTEGER PRIMARY KEY), and a skipped conflict
// changes no row.
const statements = new WeakMap<BetterSqlite3.Database, (rows: NewRow[]) => Map<string, number>>();

function inserter(sqlite: BetterSqlite3.Database) {
  let run = statements.get(sqlite);
  if (!run) {
    const stmt = sqlite.prepare<unknown[]>(
      `insert into messages (${BOUND.join(', ')}, status, status_rank)
       values (${BOUND.map(() => '?').join(', ')}, 'queued', 0)
       on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing`,
    );
    run = sqlite.transaction((rows: NewRow[]) => {
      const created = new Map<string, number>();
      for (const row of rows) {
        const { changes, lastInsertRowid } = stmt.run(boundValues(row));
        if (changes > 0) created.set(row.id, Number(lastInsertRowid));
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
export async function sqliteInsert(db: Db, rows: NewRow[]): Promise<Map<string, number>> {
  const sqlite = db.sqlite!;
  return db.kysely.connection().execute(async () => inserter(sqlite)(rows));
}
