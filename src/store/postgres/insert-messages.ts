import type { Db } from '../dialect.ts';
import type { MessageRow } from '../message-store.ts';

/** Rows per multi-row INSERT: 500 × 35 columns stays under PostgreSQL's parameter limit. */
const INSERT_CHUNK = 500;

/**
 * Inserts rows with multi-row statements in one transaction (one round trip per chunk);
 * returns the seq of each row actually inserted (a repeated idempotency key inserts nothing).
 */
export async function postgresInsert(db: Db, rows: Omit<MessageRow, 'seq'>[]): Promise<Map<string, number>> {
  return db.kysely.transaction().execute(async (trx) => {
    const created = new Map<string, number>();
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const inserted = await trx
        .insertInto('messages')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing(),
        )
        .returning(['id', 'seq'])
        .execute();
      for (const r of inserted) created.set(r.id, r.seq);
    }
    return created;
  });
}
