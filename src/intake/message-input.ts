import { z } from 'zod';
import { SbError } from '../errors/index.ts';
import type { MessageChannel, MessagePurpose } from '../routing/index.ts';

/** Longest body a message may carry, in characters (Twilio's limit). */
export const MAX_BODY_CHARS = 1600;
/** Most media URLs one MMS may carry. */
export const MAX_MEDIA_URLS = 10;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY = 255;

// NUL cannot be stored in PostgreSQL text, and a lone surrogate would be stored altered:
// both are refused at the edge so the database never sees them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Identifiers carry no control characters at all.
const UNSAFE_ID =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Characters as a person counts them (code points), cheap when the UTF-16 length already fits. */
function charCount(s: string, max: number): number {
  if (s.length <= max) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A stored identifier: 1..max characters, no control characters. */
export function idText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !UNSAFE_ID.test(s), 'must not contain control characters or invalid Unicode');
}

const bodyText = z
  .string()
  .min(1)
  .refine(
    (s) => charCount(s, MAX_BODY_CHARS) <= MAX_BODY_CHARS,
    `must be at most ${MAX_BODY_CHARS} characters`,
  )
  .refine((s) => !UNSTORABLE.test(s), 'must not contain NUL characters or invalid Unicode');

const templateSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'a template id: letters, digits, _ . : -'),
  version: z.union([z.number().int().min(0), z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/)]).optional(),
  locale: z
    .string()
    .regex(/^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,3}$/, 'a locale such as en or pt-BR')
    .optional(),
  variables: z
    .record(
      z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'variable names are letters, digits, _ . -'),
      z.string().max(MAX_BODY_CHARS),
    )
    .refine((v) => Object.keys(v).length <= 100, 'at most 100 variables')
    .optional(),
});

/** A template reference as a producer sends it (rendering comes later; it is stored as content SID and variables). */
export type TemplateInput = z.infer<typeof templateSchema>;

const mediaUrl = z
  .string()
  .max(2048)
  .transform((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an https URL' });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' || url.hostname === '' || url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must be an https URL without credentials' });
      return z.NEVER;
    }
    return url.href;
  });

const purposeSchema = z.enum(['otp', 'transactional', 'conversational', 'marketing']);
const channelSchema = z.enum(['sms', 'mms', 'whatsapp']);

/** One message as a producer sends it (before the recipient is checked and routed). */
export const messageInputSchema = z.strictObject({
  to: z.string().max(64),
  body: bodyText.optional(),
  template: templateSchema.optional(),
  purpose: purposeSchema,
  channel: channelSchema.default('sms'),
  mediaUrls: z.array(mediaUrl).min(1).max(MAX_MEDIA_URLS).optional(),
  userId: idText(128).optional(),
  correlationId: idText(128).optional(),
  idempotencyKey: idText(MAX_IDEMPOTENCY_KEY).optional(),
});

/** A validated message request; `to` is still as sent (see `prepareMessage`). */
export interface MessageInput {
  to: string;
  body: string | undefined;
  template: TemplateInput | undefined;
  purpose: MessagePurpose;
  channel: MessageChannel;
  mediaUrls: string[] | undefined;
  userId: string | undefined;
  correlationId: string | undefined;
  idempotencyKey: string | undefined;
}

/**
 * Validates one message request. The `Idempotency-Key` header, when sent, wins over the
 * field; both with different values is an error. Returns the input or the error to answer.
 */
export function parseMessageInput(raw: unknown, headerKey: string | undefined): MessageInput | SbError {
  const parsed = messageInputSchema.safeParse(raw);
  if (!parsed.success) return fieldError(parsed.error.issues, raw);
  const m = parsed.data;
  if (m.body === undefined && m.template === undefined && !(m.channel === 'mms' && m.mediaUrls)) {
    return new SbError('SB_INTAKE_INVALID_FIELD', 'body: a body or a template is required.', {
      field: 'body',
    });
  }
  if (m.body !== undefined && m.template !== undefined) {
    return new SbError('SB_INTAKE_INVALID_FIELD', 'template: send either a body or a template, not both.', {
      field: 'template',
    });
  }
  if (m.mediaUrls && m.channel !== 'mms') {
    return new SbError('SB_INTAKE_INVALID_FIELD', 'mediaUrls: media needs channel "mms".', {
      field: 'mediaUrls',
    });
  }
  let idempotencyKey = m.idempotencyKey;
  if (headerKey !== undefined) {
    if (headerKey.length === 0 || headerKey.length > MAX_IDEMPOTENCY_KEY || UNSAFE_ID.test(headerKey)) {
      return new SbError(
        'SB_INTAKE_INVALID_FIELD',
        `idempotencyKey: the Idempotency-Key header must be 1..${MAX_IDEMPOTENCY_KEY} characters without control characters.`,
        { field: 'idempotencyKey' },
      );
    }
    if (idempotencyKey !== undefined && idempotencyKey !== headerKey) {
      return new SbError(
        'SB_INTAKE_INVALID_FIELD',
        'idempotencyKey: the Idempotency-Key header and the idempotencyKey field differ.',
        { field: 'idempotencyKey' },
      );
    }
    idempotencyKey = headerKey;
  }
  return {
    to: m.to,
    body: m.body,
    template: m.template,
    purpose: m.purpose,
    channel: m.channel,
    mediaUrls: m.mediaUrls,
    userId: m.userId,
    correlationId: m.correlationId,
    idempotencyKey,
  };
}

/** The error for the first schema issue, naming its field (the path joined by '.'). */
export function fieldError(issues: readonly z.core.$ZodIssue[], raw: unknown): SbError {
  const issue = issues[0];
  if (!issue) return new SbError('SB_INTAKE_INVALID_FIELD');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const field = [...path, issue.keys[0] ?? ''].join('.');
    return new SbError('SB_INTAKE_INVALID_FIELD', `${field}: unknown field.`, { field });
  }
  const field = path.join('.');
  if (field === '') {
    return new SbError('SB_INTAKE_INVALID_FIELD', `Expected a JSON object (${issue.message}).`);
  }
  const missing = issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined;
  return new SbError('SB_INTAKE_INVALID_FIELD', `${field}: ${missing ? 'is required' : issue.message}.`, {
    field,
  });
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
