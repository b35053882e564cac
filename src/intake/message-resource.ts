import type { AttemptRow, EventRow, MessageRow } from '../store/index.ts';

/** A message as the API shows it to its tenant (camelCase, times as ISO 8601). */
export interface MessageResource {
  id: string;
  to: string;
  channel: string;
  purpose: string;
  status: string;
  body: string | null;
  template: {
    id: string;
    version: number | null;
    locale: string | null;
    variables: Record<string, string> | null;
  } | null;
  mediaUrls: string[] | null;
  userId: string | null;
  correlationId: string | null;
  idempotencyKey: string | null;
  pool: string;
  sender: string | null;
  providerSid: string | null;
  attempts: number;
  errorCode: string | null;
  providerErrorCode: number | null;
  errorMessage: string | null;
  /** The last policy decision (POLICY_REASONS): a refusal, a deferral or a change. */
  policyReason: string | null;
  /** While queued: when the message is due (later than now when a policy deferred it). */
  notBefore: string | null;
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
  sentAt: string | null;
  finalAt: string | null;
  /** From intake to delivery, once delivered. */
  latencyMs: number | null;
  /** On intake answers: whether this is the original message of a repeated idempotency key. */
  replay?: boolean;
}

/** A message's attempts and status events, oldest first. */
export interface MessageHistory {
  attempts: {
    attempt: number;
    sender: string;
    startedAt: string;
    finishedAt: string | null;
    outcome: string;
    httpStatus: number | null;
    providerSid: string | null;
    providerErrorCode: number | null;
    errorCode: string | null;
  }[];
  events: { status: string; at: string; providerErrorCode: number | null; source: string }[];
}

/**
 * Formats epoch milliseconds as ISO 8601, remembering the last one: the messages of one batch
 * share their creation, update and due times, and formatting them again for each of 1000
 * resources showed in intake profiles. Each intake has its own.
 */
export class IsoTimes {
  private lastMs = Number.NaN;
  private lastIso = '';

  format(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastIso = new Date(ms).toISOString();
      this.lastMs = ms;
    }
    return this.lastIso;
  }

  formatOrNull(ms: number | null): string | null {
    return ms === null ? null : this.format(ms);
  }
}

/**
 * The API view of a stored message; `replay` is set on intake answers (set here rather than
 * spread into a copy: a batch answer builds 1000 of them).
 */
export function toMessageResource(row: MessageRow, times: IsoTimes, replay?: boolean): MessageResource {
  const delivered = (row.status === 'delivered' || row.status === 'read') && row.final_at !== null;
  const resource: MessageResource = {
    id: row.id,
    to: row.recipient,
    channel: row.channel,
    purpose: row.purpose,
    status: row.status,
    body: row.body,
    template:
      row.template_id === null
        ? null
        : {
            id: row.template_id,
            version: row.template_version,
            locale: row.template_locale,
            variables: row.content_variables === null ? null : JSON.parse(row.content_variables),
          },
    mediaUrls: row.media_urls === null ? null : JSON.parse(row.media_urls),
    userId: row.user_id,
    correlationId: row.correlation_id,
    idempotencyKey: row.idempotency_key,
    pool: row.pool_id,
    sender: row.sender,
    providerSid: row.provider_sid,
    attempts: row.attempts,
    errorCode: row.error_code,
    providerErrorCode: row.provider_error_code,
    errorMessage: row.error_message,
    policyReason: row.policy_reason,
    notBefore: row.status === 'queued' ? times.format(row.next_attempt_at) : null,
    createdAt: times.format(row.created_at),
    updatedAt: times.format(row.updated_at),
    submittedAt: times.formatOrNull(row.submitted_at),
    sentAt: times.formatOrNull(row.sent_at),
    finalAt: times.formatOrNull(row.final_at),
    latencyMs: delivered ? (row.final_at as number) - row.created_at : null,
  };
  if (replay !== undefined) resource.replay = replay;
  return resource;
}

/** The API view of a message's history. */
export function toMessageHistory(
  history: { attempts: AttemptRow[]; events: EventRow[] },
  times: IsoTimes,
): MessageHistory {
  return {
    attempts: history.attempts.map((a) => ({
      attempt: a.attempt,
      sender: a.sender,
      startedAt: times.format(a.started_at),
      finishedAt: times.formatOrNull(a.finished_at),
      outcome: a.outcome,
      httpStatus: a.http_status,
      providerSid: a.provider_sid,
      providerErrorCode: a.provider_error_code,
      errorCode: a.error_code,
    })),
    events: history.events.map((e) => ({
      status: e.status,
      at: times.format(e.at),
      providerErrorCode: e.provider_error_code,
      source: e.source,
    })),
  };
}

// Response schemas: Fastify serializes with them (fast-json-stringify), and they double as
// an allowlist, so nothing outside them ever leaves. Keep in sync with the interfaces above.
// Nullable fields take a type list, not anyOf: fast-json-stringify picks an anyOf branch by
// running a compiled validator on the value (three per message in batch intake's allocation
// profile), a type list by a typeof check.
const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const intOrNull = { type: ['integer', 'null'] } as const;

/** JSON schema of `MessageResource` (plus `replay` on POST answers). */
export const messageResourceJsonSchema = {
  type: 'object',
  properties: {
    id: str,
    to: str,
    channel: str,
    purpose: str,
    status: str,
    body: strOrNull,
    template: {
      type: ['object', 'null'],
      properties: {
        id: str,
        version: intOrNull,
        locale: strOrNull,
        variables: { type: ['object', 'null'], additionalProperties: str },
      },
    },
    mediaUrls: { type: ['array', 'null'], items: str },
    userId: strOrNull,
    correlationId: strOrNull,
    idempotencyKey: strOrNull,
    pool: str,
    sender: strOrNull,
    providerSid: strOrNull,
    attempts: { type: 'integer' },
    errorCode: strOrNull,
    providerErrorCode: intOrNull,
    errorMessage: strOrNull,
    policyReason: strOrNull,
    notBefore: strOrNull,
    createdAt: str,
    updatedAt: str,
    submittedAt: strOrNull,
    sentAt: strOrNull,
    finalAt: strOrNull,
    latencyMs: intOrNull,
    replay: { type: 'boolean' },
  },
} as const;

/** JSON schema of `MessageHistory`. */
export const messageHistoryJsonSchema = {
  type: 'object',
  properties: {
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          attempt: { type: 'integer' },
          sender: str,
          startedAt: str,
          finishedAt: strOrNull,
          outcome: str,
          httpStatus: intOrNull,
          providerSid: strOrNull,
          providerErrorCode: intOrNull,
          errorCode: strOrNull,
        },
      },
    },
    events: {
      type: 'array',
      items: {
        type: 'object',
        properties: { status: str, at: str, providerErrorCode: intOrNull, source: str },
      },
    },
  },
} as const;

/** JSON schema of the `{ error: { code, message, field? } }` body. */
export const errorBodyJsonSchema = {
  type: 'object',
  properties: { code: str, message: str, field: str, reason: str },
  required: ['code', 'message'],
} as const;
