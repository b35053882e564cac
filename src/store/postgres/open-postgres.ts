import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Db } from '../dialect.ts';
import type { Database } from '../schema.ts';

const INT8 = 20;

/** Opens a PostgreSQL pool; int8 columns (times in ms, sequence numbers) come back as numbers. */
export function openPostgres(url: string, options: { maxConnections?: number } = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', sqlite: null, close: () => kysely.destroy() };
}
