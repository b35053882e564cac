import { z } from 'zod';
import { SbError } from '../errors/index.ts';
import type { MessageFilter } from '../store/index.ts';
import { fieldError, idText } from './message-input.ts';
import type { NumberValidator } from './phone-numbers.ts';

/** Default and largest page size of `GET /v1/messages`. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

const listQuerySchema = z.strictObject({
  status: z
    .enum([
      'queued',
      'sending',
      'submitted',
      'sent',
      'delivered',
      'undelivered',
      'failed',
      'read',
      'canceled',
      'dead',
    ])
    .optional(),
  to: z.string().max(64).optional(),
  purpose: z.enum(['otp', 'transactional', 'conversational', 'marketing']).optional(),
  correlationId: idText(128).optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be an integer from 1 to ${MAX_PAGE}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE))
    .optional(),
  cursor: z.string().max(64).optional(),
});

/** Encodes a page position (the last seq seen) as an opaque cursor. */
export function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

/** Decodes a cursor; undefined when it is not one we issued. */
export function decodeCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,24}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const seq = Number(text);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** Parses the list query into a store filter (asking for one extra row to know whether a next page exists). */
export function parseListQuery(raw: unknown, validateNumber: NumberValidator): MessageFilter | SbError {
  const parsed = listQuerySchema.safeParse(raw ?? {});
  if (!parsed.success) return fieldError(parsed.error.issues, raw);
  const q = parsed.data;
  let recipient: string | undefined;
  if (q.to !== undefined) {
    // An unencoded '+' in a query string arrives as a space.
    const to = q.to.replace(/^ (?=\d)/, '+');
    const plain = to.startsWith('whatsapp:') ? to.slice('whatsapp:'.length) : to;
    const number = validateNumber(plain);
    if (!number) {
      return new SbError('SB_INTAKE_INVALID_NUMBER', 'to: expected an E.164 number such as +14155550123.', {
        field: 'to',
      });
    }
    recipient = number.e164;
  }
  let beforeSeq: number | undefined;
  if (q.cursor !== undefined) {
    beforeSeq = decodeCursor(q.cursor);
    if (beforeSeq === undefined) {
      return new SbError('SB_INTAKE_INVALID_FIELD', 'cursor: not a cursor from a previous page.', {
        field: 'cursor',
      });
    }
  }
  return {
    status: q.status,
    recipient,
    purpose: q.purpose,
    correlationId: q.correlationId,
    beforeSeq,
    limit: (q.limit ?? DEFAULT_PAGE) + 1,
  };
}
