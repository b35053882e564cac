import { createHash, randomBytes } from 'node:crypto';
import { SbError } from '../errors/index.ts';
import { orderKeyFor, type Router } from '../routing/index.ts';
import type { NewMessage } from '../store/index.ts';
import type { MessageInput } from './message-input.ts';
import { type NumberValidator, stripChannelPrefix } from './phone-numbers.ts';

/** What turning a request into a stored message needs. */
export interface PrepareContext {
  tenantId: string;
  router: Router;
  validateNumber: NumberValidator;
  now: number;
}

/** Hex SHA-256 of a UTF-8 string. */
/**
 * A message id: `msg_`, 12 hex digits of the creation time in ms, 20 random hex digits.
 * Time-ordered ids land at the end of the id index instead of all over it, which keeps
 * batched inserts to a few dirty pages.
 */
export function newMessageId(now: number): string {
  return `msg_${now.toString(16).padStart(12, '0')}${randomBytes(10).toString('hex')}`;
}

/** Hex SHA-256 of a string. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * The canonical form of what a message says, as hashed for idempotency: fields in a fixed
 * order, defaults applied, the recipient normalized and template variables sorted, so two
 * requests that mean the same message hash the same. The idempotency key is not part of it.
 * Keep in sync with the fields of `MessageInput`.
 */
export function canonicalPayload(input: MessageInput, recipient: string): string {
  const t = input.template;
  const template = t
    ? [
        t.id,
        t.version ?? null,
        t.locale ?? null,
        t.variables
          ? Object.keys(t.variables)
              .sort()
              .map((k) => [k, t.variables?.[k]])
          : null,
      ]
    : null;
  return JSON.stringify([
    recipient,
    input.channel,
    input.purpose,
    input.body ?? null,
    template,
    input.mediaUrls ?? null,
    input.userId ?? null,
    input.correlationId ?? null,
  ]);
}

/**
 * Checks the recipient, picks the pool and builds the row to insert; returns the error to
 * answer instead when the number is invalid (400) or no pool serves the message (422).
 */
export function prepareMessage(input: MessageInput, ctx: PrepareContext): NewMessage | SbError {
  const plain = stripChannelPrefix(input.to, input.channel);
  const number = plain === undefined ? null : ctx.validateNumber(plain);
  if (!number) {
    return new SbError(
      'SB_INTAKE_INVALID_NUMBER',
      input.channel === 'whatsapp'
        ? 'to: expected a valid E.164 number such as +14155550123 (or whatsapp:+14155550123).'
        : 'to: expected a valid E.164 number such as +14155550123.',
      { field: 'to' },
    );
  }
  const pool = ctx.router.selectPool({
    purpose: input.purpose,
    channel: input.channel,
    country: number.country,
  });
  if (!pool) {
    return new SbError(
      'SB_INTAKE_NO_POOL',
      `No sender pool serves ${input.purpose} messages on ${input.channel} to ${number.country}.`,
    );
  }
  const body = input.body ?? null;
  return {
    id: newMessageId(ctx.now),
    tenantId: ctx.tenantId,
    idempotencyKey: input.idempotencyKey ?? null,
    payloadHash: sha256Hex(canonicalPayload(input, number.e164)),
    channel: input.channel,
    purpose: input.purpose,
    recipient: number.e164,
    country: number.country,
    body,
    bodyHash: body === null ? null : sha256Hex(body),
    contentSid: input.template?.id ?? null,
    contentVariables: input.template?.variables ? JSON.stringify(input.template.variables) : null,
    mediaUrls: input.mediaUrls ?? null,
    userId: input.userId ?? null,
    correlationId: input.correlationId ?? null,
    poolId: pool.id,
    orderKey: orderKeyFor(input.purpose, ctx.tenantId, number.e164),
    now: ctx.now,
  };
}
