import type BetterSqlite3 from 'better-sqlite3';
import type { Insertable } from 'kysely';
import type { Db } from '../dialect.ts';
import type { CallbackEventsTable } from '../schema.ts';

type CallbackRow = Insertable<CallbackEventsTable>;

// One prepared statement per connection (keep the columns in sync with callback-store.ts):
// building the multi-row insert through Kysely cost more CPU per callback than SQLite spent.
const inserters = new WeakMap<BetterSqlite3.Database, (rows: CallbackRow[]) => Set<string>>();

function inserter(sqlite: BetterSqlite3.Database) {
  let run = inserters.get(sqlite);
  if (!run) {
    const stmt = sqlite.prepare(
      `insert into callback_events (dedupe_key, kind, provider_sid, message_id, status, provider_error_code,
         params, received_at, applied_at, orphan) values (?, ?, ?, ?, ?, ?, ?, ?, null, 0)
       on conflict (dedupe_key) do nothing`,
    );
    run = sqlite.transaction((rows: CallbackRow[]) => {
      const stored = new Set<string>();
      for (const r of rows) {
        const { changes } = stmt.run(
          r.dedupe_key,
          r.kind,
          r.provider_sid,
          r.message_id ?? null,
          r.status,
          r.provider_error_code ?? null,
          r.params,
          r.received_at,
        );
        if (changes > 0) stored.add(r.dedupe_key);
      }
      return stored;
    });
    inserters.set(sqlite, run);
  }
  return run;
}

/**
 * Inserts callback rows in one SQLite transaction; returns the dedupe keys actually stored (a
 * key already stored inserts nothing). Runs while holding Kysely's connection so it never
 * interleaves with another transaction.
 */
export async function sqliteInsertCallbacks(db: Db, rows: CallbackRow[]): Promise<Set<string>> {
  const sqlite = db.sqlite!;
  return db.kysely.connection().execute(async () => inserter(sqlite)(rows));
}
