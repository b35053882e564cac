import { type Migration, type MigrationResultSet, Migrator } from 'kysely';
import type { Db } from './dialect.ts';
import { initialSchema } from './migrations/001-initial.ts';
import { policySchema } from './migrations/002-policy.ts';
import { providerSidIndex } from './migrations/003-provider-sid-index.ts';
import { callbacksByKind } from './migrations/004-callbacks-by-kind.ts';
import { orderIndexPending } from './migrations/005-order-index-pending.ts';
import { unappliedByOrphan } from './migrations/006-unapplied-by-orphan.ts';
import { callbackIdsWithoutSequence } from './migrations/007-callback-ids-without-sequence.ts';

/** Versioned migrations, in order. Never edit one that has landed: add the next. */
function migrations(db: Db): Record<string, Migration> {
  return {
    '001-initial': initialSchema(db.dialect),
    '002-policy': policySchema(db.dialect),
    '003-provider-sid-index': providerSidIndex(db.dialect),
    '004-callbacks-by-kind': callbacksByKind(db.dialect),
    '005-order-index-pending': orderIndexPending(db.dialect),
    '006-unapplied-by-orphan': unappliedByOrphan(db.dialect),
    '007-callback-ids-without-sequence': callbackIdsWithoutSequence(db.dialect),
  };
}

/** Brings the schema up to date; safe to run from several processes (the migrator locks). */
export async function migrateToLatest(db: Db): Promise<void> {
  await migrate(db, (migrator) => migrator.migrateToLatest());
}

/** Brings the schema up to the named migration (and no further): for testing a migration on old data. */
export async function migrateTo(db: Db, name: string): Promise<void> {
  await migrate(db, (migrator) => migrator.migrateTo(name));
}

async function migrate(db: Db, run: (migrator: Migrator) => Promise<MigrationResultSet>): Promise<void> {
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: async () => migrations(db) },
    migrationTableName: 'sb_migrations',
    migrationLockTableName: 'sb_migrations_lock',
  });
  const { error, results } = await run(migrator);
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
