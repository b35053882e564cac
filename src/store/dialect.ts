import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** The two storage backends. */
export type DialectName = 'sqlite' | 'postgres';

/** An open database with its dialect. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: DialectName;
  /** Closes connections. */
  close(): Promise<void>;
}

/** Parses `sqlite:./path.db`, `sqlite::memory:`, `postgres://…` or `postgresql://…`. */
export function parseDatabaseUrl(url: string): { dialect: DialectName; target: string } {
  if (url.startsWith('sqlite:'))
    return { dialect: 'sqlite', target: url.slice('sqlite:'.length) || ':memory:' };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { dialect: 'postgres', target: url };
  throw new Error(`unsupported database URL "${url}": use sqlite:<file> or postgres://…`);
}
