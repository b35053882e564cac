import type { Generated } from 'kysely';

/** Message statuses in the order they may move (see STATUS_RANK). */
export type MessageStatus =
  | 'queued'
  | 'sending'
  | 'submitted'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'read'
  | 'canceled'
  | 'dead';

/** Status only moves to a higher rank; final statuses share a rank, so none replaces another. */
export const STATUS_RANK: Record<MessageStatus, number> = {
  queued: 0,
  sending: 1,
  submitted: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  dead: 4,
  read: 5,
};

/** The messages table: the queue itself (transactional outbox). Times are ms since epoch. */
export interface MessagesTable {
  seq: Generated<number>;
  id: string;
  tenant_id: string;
  idempotency_key: string | null;
  payload_hash: string;
  channel: string;
  purpose: string;
  recipient: string;
  country: string;
  body: string | null;
  body_hash: string | null;
  content_sid: string | null;
  content_variables: string | null;
  media_urls: string | null;
  user_id: string | null;
  correlation_id: string | null;
  pool_id: string;
  sender: string | null;
  /** Recipient key for ordered purposes (otp, transactional): never two in flight. */
  order_key: string | null;
  status: MessageStatus;
  status_rank: number;
  attempts: number;
  next_attempt_at: number;
  last_delay_ms: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  /** 1 when an attempt may have reached the provider and must be reconciled before a resend. */
  needs_reconcile: number;
  provider_sid: string | null;
  error_code: string | null;
  provider_error_code: number | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  submitted_at: number | null;
  sent_at: number | null;
  final_at: number | null;
  /** The template the body was rendered from (the body itself is then not stored). */
  template_id: string | null;
  template_version: number | null;
  template_locale: string | null;
  /** The last policy decision on the message: a refusal, deferral or change (POLICY_REASONS). */
  policy_reason: string | null;
}

/** One provider call for a message. */
export interface AttemptsTable {
  id: Generated<number>;
  message_id: string;
  attempt: number;
  sender: string;
  started_at: number;
  finished_at: number | null;
  /** pending | accepted | failed | retry | unknown | adopted | not_found */
  outcome: string;
  http_status: number | null;
  provider_sid: string | null;
  provider_error_code: number | null;
  error_code: string | null;
}

/** Every status a message took, with its time and source. */
export interface MessageEventsTable {
  id: Generated<number>;
  message_id: string;
  status: string;
  at: number;
  provider_error_code: number | null;
  source: string;
}

/** Raw provider callbacks, stored once each before they are applied. */
export interface CallbackEventsTable {
  id: Generated<number>;
  dedupe_key: string;
  kind: string;
  provider_sid: string;
  message_id: string | null;
  status: string;
  provider_error_code: number | null;
  params: string;
  received_at: number;
  applied_at: number | null;
  /** 1 when no message matched yet: kept aside and matched again later. */
  orphan: number;
}

/** Shared pacing state: one theoretical arrival time per key (GCRA), and the 429 slow-down factor. */
export interface PacingStateTable {
  key: string;
  tat: number;
  rate_factor: number;
  updated_at: number;
}

/** A recipient's opt-out state per sender scope (a pool, or the whole account). */
export interface OptOutsTable {
  scope: string;
  recipient: string;
  opted_out: number;
  keyword: string;
  updated_at: number;
}

/** The sender a conversational recipient keeps (per tenant, user or number, and country). */
export interface StickySendersTable {
  key: string;
  pool_id: string;
  sender: string;
  updated_at: number;
}

/** When a WhatsApp user last wrote to one of our senders (opens the 24-hour session). */
export interface WhatsappSessionsTable {
  recipient: string;
  sender: string;
  last_inbound_at: number;
}

/** Recipients a tenant has already sent to (first-contact throttle). */
export interface ContactsTable {
  tenant_id: string;
  recipient: string;
  first_at: number;
}

/** Windowed counters (daily spend, first contacts, spike detection), expiring. */
export interface PolicyCountersTable {
  key: string;
  value: number;
  expires_at: number;
}

/** Countries blocked by spike protection or by an operator. */
export interface CountryBlocksTable {
  country: string;
  reason: string;
  blocked_at: number;
}

/** Operational switches (brownouts) set through the admin API, shared by every process. */
export interface GatewaySwitchesTable {
  name: string;
  enabled: number;
  updated_at: number;
}

/** The database as Kysely sees it. */
export interface Database {
  opt_outs: OptOutsTable;
  sticky_senders: StickySendersTable;
  whatsapp_sessions: WhatsappSessionsTable;
  contacts: ContactsTable;
  policy_counters: PolicyCountersTable;
  country_blocks: CountryBlocksTable;
  gateway_switches: GatewaySwitchesTable;
  messages: MessagesTable;
  message_attempts: AttemptsTable;
  message_events: MessageEventsTable;
  callback_events: CallbackEventsTable;
  pacing_state: PacingStateTable;
}
