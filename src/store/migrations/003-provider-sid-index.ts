import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * The provider SID index holds only messages that have a SID. As a full index every intake
 * insert added a NULL entry to it, one of the six index writes a new message costs, for a
 * lookup that never asks for NULL. SQLite and PostgreSQL both use the partial index for `=`,
 * `IN` lists and the correlated lookups of the callback applier (checked with EXPLAIN).
 */
export function providerSidIndex(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index messages_provider_sid`.execute(db);
      await sql`create unique index messages_provider_sid on messages (provider_sid) where provider_sid is not null`.execute(
        db,
      );
    },
  };
}
