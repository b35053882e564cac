import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.ts';

/**
 * The policy engine's state: template references and the last policy reason on messages;
 * opt-outs per sender scope; sticky senders; WhatsApp session windows; first contacts;
 * counters for caps and spike detection; country blocks; brownout switches.
 */
export function policySchema(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table messages add column template_id text`.execute(db);
      await sql`alter table messages add column template_version integer`.execute(db);
      await sql`alter table messages add column template_locale text`.execute(db);
      await sql`alter table messages add column policy_reason text`.execute(db);

      await sql`create table opt_outs (
        scope text not null,
        recipient text not null,
        opted_out integer not null,
        keyword text not null,
        updated_at bigint not null,
        primary key (scope, recipient)
      )`.execute(db);
      await sql`create table sticky_senders (
        key text primary key,
        pool_id text not null,
        sender text not null,
        updated_at bigint not null
      )`.execute(db);
      await sql`create table whatsapp_sessions (
        recipient text not null,
        sender text not null,
        last_inbound_at bigint not null,
        primary key (recipient, sender)
      )`.execute(db);
      await sql`create table contacts (
        tenant_id text not null,
        recipient text not null,
        first_at bigint not null,
        primary key (tenant_id, recipient)
      )`.execute(db);
      await sql`create table policy_counters (
        key text primary key,
        value double precision not null,
        expires_at bigint not null
      )`.execute(db);
      await sql`create index policy_counters_expiry on policy_counters (expires_at)`.execute(db);
      await sql`create table country_blocks (
        country text primary key,
        reason text not null,
        blocked_at bigint not null
      )`.execute(db);
      await sql`create table gateway_switches (
        name text primary key,
        enabled integer not null,
        updated_at bigint not null
      )`.execute(db);
    },
  };
}
