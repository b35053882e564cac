import { sql } from 'kysely';
import type { Db } from './dialect.ts';

/** A table's column names in declaration order, as the database reports them. */
export type SchemaColumns = Record<string, string[]>;

/**
 * The migrated schema as deterministic text, for a committed dump that turns every migration
 * into a reviewable diff. SQLite: its stored `create` statements, whitespace collapsed.
 * PostgreSQL: each table's columns (type, nullability, default), constraints and index
 * definitions from the catalogs (pg_dump's output carries the server version, owners and
 * settings, which differ between machines).
 */
export async function dumpSchema(db: Db): Promise<string> {
  return db.dialect === 'sqlite' ? dumpSqlite(db) : dumpPostgres(db);
}

/** An index's definition as the database stores it, whitespace collapsed; undefined if there is none. */
export async function indexDefinition(db: Db, name: string): Promise<string | undefined> {
  const { rows } = await sql<{ def: string }>`${
    db.dialect === 'sqlite'
      ? sql`select sql as def from sqlite_master where type = 'index' and name = ${name}`
      : sql`select indexdef as def from pg_indexes where schemaname = current_schema() and indexname = ${name}`
  }`.execute(db.kysely);
  return rows[0]?.def.replace(/\s+/g, ' ');
}

/** Every table and its columns, to compare the two backends' schemas. */
export async function schemaColumns(db: Db): Promise<SchemaColumns> {
  const out: SchemaColumns = {};
  if (db.dialect === 'sqlite') {
    const { rows } = await sql<{ tbl: string; col: string }>`
      select m.name as tbl, c.name as col
      from sqlite_master m, pragma_table_info(m.name) c
      where m.type = 'table' and m.name not like 'sqlite_%'
      order by m.name, c.cid`.execute(db.kysely);
    for (const r of rows) addColumn(out, r.tbl, r.col);
  } else {
    const { rows } = await sql<{ tbl: string; col: string }>`
      select c.table_name as tbl, c.column_name as col
      from information_schema.columns c
      join information_schema.tables t using (table_schema, table_name)
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      order by c.table_name, c.ordinal_position`.execute(db.kysely);
    for (const r of rows) addColumn(out, r.tbl, r.col);
  }
  return out;
}

function addColumn(out: SchemaColumns, table: string, column: string): void {
  const columns = out[table] ?? [];
  columns.push(column);
  out[table] = columns;
}

async function dumpSqlite(db: Db): Promise<string> {
  // Automatic indexes (unique constraints) have no statement of their own: the table's shows them.
  const { rows } = await sql<{ statement: string }>`
    select sql as statement from sqlite_master
    where sql is not null and name not like 'sqlite_%'
    order by tbl_name, type = 'index', name`.execute(db.kysely);
  return `${rows.map((r) => `${r.statement.replace(/\s+/g, ' ').trim()};`).join('\n')}\n`;
}

async function dumpPostgres(db: Db): Promise<string> {
  const { rows: columns } = await sql<{
    tbl: string;
    col: string;
    type: string;
    nullable: string;
    dflt: string | null;
    identity: string | null;
  }>`
    select c.table_name as tbl, c.column_name as col, c.data_type as type, c.is_nullable as nullable,
      c.column_default as dflt, c.identity_generation as identity
    from information_schema.columns c
    join information_schema.tables t using (table_schema, table_name)
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
    order by c.table_name, c.ordinal_position`.execute(db.kysely);
  const { rows: constraints } = await sql<{ tbl: string; name: string; def: string }>`
    select cl.relname as tbl, co.conname as name, pg_get_constraintdef(co.oid) as def
    from pg_constraint co
    join pg_class cl on cl.oid = co.conrelid
    where cl.relnamespace = (select oid from pg_namespace where nspname = current_schema())
    order by cl.relname, co.conname`.execute(db.kysely);
  const { rows: indexes } = await sql<{ tbl: string; def: string }>`
    select tablename as tbl, indexdef as def from pg_indexes
    where schemaname = current_schema()
    order by tablename, indexname`.execute(db.kysely);

  const tables = [...new Set(columns.map((c) => c.tbl))];
  const lines: string[] = [];
  for (const table of tables) {
    lines.push(`table ${table}`);
    for (const c of columns.filter((x) => x.tbl === table)) {
      const identity = c.identity ? ` generated ${c.identity.toLowerCase()} as identity` : '';
      const dflt = c.dflt === null ? '' : ` default ${c.dflt}`;
      lines.push(`  ${c.col} ${c.type}${c.nullable === 'NO' ? ' not null' : ''}${dflt}${identity}`);
    }
    for (const c of constraints.filter((x) => x.tbl === table)) lines.push(`  constraint ${c.name} ${c.def}`);
    for (const i of indexes.filter((x) => x.tbl === table))
      lines.push(`  ${i.def.replace(/ ON \w+\./, ' ON ')}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
