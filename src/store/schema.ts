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

/** The database as Kysely sees it. */
export interface Database {
  messages: MessagesTable;
  message_attempts: AttemptsTable;
  message_events: MessageEventsTable;
  callback_events: CallbackEventsTable;
  pacing_state: PacingStateTable;
}
