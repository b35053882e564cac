import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/** The initial schema: messages (the queue), attempts, events, callbacks, pacing. */
export function initialSchema(dialect: DialectName) {
  const autoId = (col: string) =>
    dialect === 'postgres'
      ? sql`${sql.ref(col)} bigint generated always as identity primary key`
      : sql`${sql.ref(col)} integer primary key autoincrement`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create table messages (
        ${autoId('seq')},
        id text not null unique,
        tenant_id text not null,
        idempotency_key text,
        payload_hash text not null,
        channel text not null,
        purpose text not null,
        recipient text not null,
        country text not null,
        body text,
        body_hash text,
        content_sid text,
        content_variables text,
        media_urls text,
        user_id text,
        correlation_id text,
        pool_id text not null,
        sender text,
        order_key text,
        status text not null,
        status_rank integer not null,
        attempts integer not null default 0,
        next_attempt_at bigint not null,
        last_delay_ms bigint not null default 0,
        lease_owner text,
        lease_expires_at bigint,
        needs_reconcile integer not null default 0,
        provider_sid text,
        error_code text,
        provider_error_code integer,
        error_message text,
        created_at bigint not null,
        updated_at bigint not null,
        submitted_at bigint,
        sent_at bigint,
        final_at bigint
      )`.execute(db);
      // Partial indexes keep the intake insert cheap: a new message enters only the indexes it
      // needs. Queries that rely on one state the predicate literally (status = 'queued'), as
      // SQLite uses a partial index only then. The provider SID index is full: lookups by SID
      // use IN lists, which SQLite will not match to a partial index.
      await sql`create unique index messages_tenant_idem on messages (tenant_id, idempotency_key) where idempotency_key is not null`.execute(
        db,
      );
      await sql`create unique index messages_provider_sid on messages (provider_sid)`.execute(db);
      await sql`create index messages_due on messages (pool_id, next_attempt_at, seq) where status = 'queued'`.execute(
        db,
      );
      await sql`create index messages_order on messages (order_key, seq) where order_key is not null`.execute(
        db,
      );
      await sql`create index messages_lease on messages (lease_expires_at) where status = 'sending'`.execute(
        db,
      );
      await sql`create index messages_tenant_seq on messages (tenant_id, seq)`.execute(db);

      await sql`create table message_attempts (
        ${autoId('id')},
        message_id text not null,
        attempt integer not null,
        sender text not null,
        started_at bigint not null,
        finished_at bigint,
        outcome text not null,
        http_status integer,
        provider_sid text,
        provider_error_code integer,
        error_code text
      )`.execute(db);
      await sql`create index attempts_message on message_attempts (message_id, attempt)`.execute(db);

      await sql`create table message_events (
        ${autoId('id')},
        message_id text not null,
        status text not null,
        at bigint not null,
        provider_error_code integer,
        source text not null
      )`.execute(db);
      await sql`create index events_message on message_events (message_id, id)`.execute(db);

      await sql`create table callback_events (
        ${autoId('id')},
        dedupe_key text not null unique,
        kind text not null,
        provider_sid text not null,
        message_id text,
        status text not null,
        provider_error_code integer,
        params text not null,
        received_at bigint not null,
        applied_at bigint,
        orphan integer not null default 0
      )`.execute(db);
      await sql`create index callbacks_unapplied on callback_events (applied_at, id)`.execute(db);

      await sql`create table pacing_state (
        key text primary key,
        tat double precision not null,
        rate_factor double precision not null default 1,
        updated_at bigint not null
      )`.execute(db);
    },
  };
}
