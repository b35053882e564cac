import { describe, expect, it } from 'vitest';
import { backends, openTestDatabase, useTestDatabase } from '../../test/support/databases.ts';
import { dumpSchema, schemaColumns } from './schema-dump.ts';

// After adding a migration, `npx vitest run src/store/schema-dump.test.ts -u` rewrites the dumps;
// commit them with the migration, so review sees the schema change itself.
describe.each(backends())('the migrated schema on $name', (backend) => {
  const store = useTestDatabase(backend);

  it('matches the committed dump, so a migration shows up as a diff of the schema', async () => {
    await expect(await dumpSchema(store.db)).toMatchFileSnapshot(`./schema/${backend.name}.sql`);
  });

  it('lists every table the store uses', async () => {
    const tables = Object.keys(await schemaColumns(store.db));
    expect(tables).toEqual(
      expect.arrayContaining([
        'messages',
        'message_attempts',
        'message_events',
        'callback_events',
        'pacing_state',
        'opt_outs',
      ]),
    );
  });
});

describe('both backends', () => {
  it('have the same tables with the same columns in the same order', async () => {
    const [sqlite, postgres] = backends();
    const a = await openTestDatabase(sqlite!);
    const b = await openTestDatabase(postgres!);
    try {
      const [onSqlite, onPostgres] = await Promise.all([schemaColumns(a.db), schemaColumns(b.db)]);
      expect(Object.keys(onSqlite).length).toBeGreaterThan(5);
      expect(onPostgres).toEqual(onSqlite);
    } finally {
      // PostgreSQL first: closing either runs the shared cleanup, which drops its database.
      await b.close();
      await a.close();
    }
  });
});
