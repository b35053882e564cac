import { randomFillSync } from 'node:crypto';
import { SbError } from '../errors/index.ts';
import { type Admission, type IntakeRequest, PolicyRefusal, sha256Hex } from '../policy/index.ts';
import { orderKeyFor } from '../routing/index.ts';
import type { NewMessage } from '../store/index.ts';
import type { MessageInput } from './message-input.ts';
import { type NumberValidator, stripChannelPrefix } from './phone-numbers.ts';

/** What turning a request into a stored message needs. */
export interface PrepareContext {
  tenantId: string;
  admit: AdmitFn;
  validateNumber: NumberValidator;
  newId: MessageIdSource;
  now: number;
}

const ID_RANDOM_BYTES = 10;

/** Makes message ids; see `createMessageIdSource`. */
export type MessageIdSource = (now: number) => string;

/**
 * Message ids: `msg_`, 12 hex digits of the creation time in ms, 20 random hex digits.
 * Time-ordered ids land at the end of the id index instead of all over it, which keeps
 * batched inserts to a few dirty pages. The random bytes come from a pool refilled 4 KiB at
 * a time by `fill` (one randomBytes call per message was 3% of intake's CPU, a call into
 * OpenSSL each); each intake has its own source.
 */
export function createMessageIdSource(fill: (buf: Buffer) => void = randomFillSync): MessageIdSource {
  const pool = Buffer.alloc(4096 - (4096 % ID_RANDOM_BYTES));
  let offset = pool.length;
  return (now) => {
    if (offset === pool.length) {
      fill(pool);
      offset = 0;
    }
    const random = pool.toString('hex', offset, offset + ID_RANDOM_BYTES);
    offset += ID_RANDOM_BYTES;
    return `msg_${now.toString(16).padStart(12, '0')}${random}`;
  };
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

/** The policy check intake runs on each message (see the policy engine's `admit`). */
export type AdmitFn = (req: IntakeRequest) => Admission | PolicyRefusal;

/**
 * Checks the recipient, runs the policy (templates, content lint, routing, registration,
 * quiet hours…) and builds the row to insert; returns the error to answer instead when the
 * number is invalid (400), no pool serves the message (422) or a policy refuses it (422 with
 * its reason).
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
  const t = input.template;
  const version = t?.version === undefined ? undefined : Number(t.version);
  if (t && version !== undefined && !Number.isInteger(version)) {
    return new SbError('SB_POLICY_REFUSED', `template.version: no version ${t.version} of ${t.id}.`, {
      field: 'template.version',
      reason: 'template_unknown',
    });
  }
  const admitted = ctx.admit({
    channel: input.channel,
    purpose: input.purpose,
    recipient: number.e164,
    country: number.country,
    body: input.body ?? null,
    template: t ? { id: t.id, version, locale: t.locale, variables: t.variables } : null,
    mediaUrls: input.mediaUrls ?? null,
  });
  if (admitted instanceof PolicyRefusal) {
    if (admitted.reason === 'no_pool') return new SbError('SB_INTAKE_NO_POOL', admitted.message);
    return new SbError('SB_POLICY_REFUSED', admitted.message, {
      field: admitted.field,
      reason: admitted.reason,
    });
  }
  return {
    id: ctx.newId(ctx.now),
    tenantId: ctx.tenantId,
    idempotencyKey: input.idempotencyKey ?? null,
    payloadHash: sha256Hex(canonicalPayload(input, number.e164)),
    channel: admitted.channel,
    purpose: input.purpose,
    recipient: number.e164,
    country: number.country,
    body: admitted.body,
    bodyHash: admitted.bodyHash,
    contentSid: null,
    contentVariables: t?.variables ? JSON.stringify(t.variables) : null,
    mediaUrls: admitted.mediaUrls,
    userId: input.userId ?? null,
    correlationId: input.correlationId ?? null,
    poolId: admitted.pool.id,
    orderKey: orderKeyFor(input.purpose, ctx.tenantId, number.e164),
    now: ctx.now,
    notBefore: admitted.notBefore,
    templateId: admitted.templateId,
    templateVersion: admitted.templateVersion,
    templateLocale: admitted.templateLocale,
    policyReason: admitted.policyReason,
  };
}
