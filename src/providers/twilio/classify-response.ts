import { SbError } from '../../errors/index.ts';
import { maskPhone } from '../../observability/index.ts';
import type { SendResult } from '../provider.ts';
import type { TwilioHttpOutcome } from './twilio-client.ts';

/** Twilio's code for a `From` whose outbound queue is full; the create was refused, nothing queued. */
const SENDER_QUEUE_FULL = 21611;

/**
 * Transport error codes raised before a byte of the request was written, so Twilio cannot have
 * seen it. Anything not listed here is treated as "may have reached Twilio".
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  // The pool was already closed: the request was refused before dispatch.
  'UND_ERR_CLOSED',
  // TLS handshake failures: undici writes the request only after the handshake succeeded.
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * The one mapping from what Twilio (or the network) answered to a create to our codes:
 * accepted with its SID; failed when Twilio certainly did not take the message (429, 21611,
 * auth, other 4xx, connection never made); unknown when it may have (5xx, reset or timeout
 * after the request was written, a 2xx without a SID), which must be reconciled before a resend.
 */
export function classifyResponse(outcome: TwilioHttpOutcome): SendResult {
  if (outcome.type === 'network') return classifyNetworkError(outcome.error);
  const { status, body } = outcome;

  if (status >= 200 && status < 300) {
    const json = parseJson(body);
    const sid = json?.sid;
    if (typeof sid === 'string' && sid.length > 0) {
      // Twilio's first status for a plain create is `queued`; it is only a fallback here.
      const providerStatus = typeof json?.status === 'string' ? json.status : 'queued';
      return { kind: 'accepted', providerSid: sid, providerStatus, httpStatus: status };
    }
    return unknown(
      'SB_PROVIDER_OUTCOME_UNKNOWN',
      `Twilio answered ${status} without a message SID; the message may exist.`,
      null,
      status,
    );
  }

  const twilio = parseTwilioError(body);
  const describe = (fallback: string) => twilio.message ?? fallback;

  if (status === 429) {
    // Twilio: a request refused with 429 is never processed, so it is always safe to retry.
    return failed('SB_PROVIDER_RATE_LIMITED', describe('Twilio answered 429.'), twilio.code, status);
  }
  if (status === 400 && twilio.code === SENDER_QUEUE_FULL) {
    return failed('SB_PROVIDER_RATE_LIMITED', describe('The sender queue is full.'), twilio.code, status);
  }
  if (status === 401 || status === 403) {
    return failed('SB_PROVIDER_AUTH', describe(`Twilio answered ${status}.`), twilio.code, status);
  }
  if (status === 408) {
    // The server gave up waiting for our request before it had all of it: nothing was processed.
    return failed('SB_PROVIDER_UNAVAILABLE', describe('Twilio answered 408.'), twilio.code, status);
  }
  if (status >= 400 && status < 500) {
    return failed(
      'SB_PROVIDER_REJECTED',
      describe(`Twilio answered ${status} without an error code.`),
      twilio.code,
      status,
    );
  }
  if (status >= 500 && status < 600) {
    // Twilio may have created the message before failing, and Messages has no idempotency key.
    return unknown('SB_PROVIDER_UNAVAILABLE', describe(`Twilio answered ${status}.`), twilio.code, status);
  }
  return unknown(
    'SB_PROVIDER_OUTCOME_UNKNOWN',
    `Twilio answered an unexpected ${status}.`,
    twilio.code,
    status,
  );
}

function classifyNetworkError(error: unknown): SendResult {
  const codes = errorCodes(error);
  const label = codes.length > 0 ? codes.join(', ') : errorName(error);
  if (codes.length > 0 && codes.every((c) => NOT_SENT_CODES.has(c))) {
    return {
      kind: 'failed',
      error: new SbError('SB_PROVIDER_UNAVAILABLE', `Could not reach Twilio (${label}); nothing was sent.`, {
        cause: error,
      }),
      providerCode: null,
      httpStatus: null,
    };
  }
  return {
    kind: 'unknown',
    error: new SbError(
      'SB_PROVIDER_OUTCOME_UNKNOWN',
      `The connection to Twilio failed after the request was sent (${label}).`,
      { cause: error },
    ),
    providerCode: null,
    httpStatus: null,
  };
}

/** Every `code` in the error, its causes and (for a failed multi-address connect) its inner errors. */
function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 5) return [];
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const codes = typeof e.code === 'string' ? [e.code] : [];
  codes.push(...errorCodes(e.cause, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) codes.push(...errorCodes(inner, depth + 1));
  return [...new Set(codes)];
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown error';
}

function failed(
  code: 'SB_PROVIDER_RATE_LIMITED' | 'SB_PROVIDER_AUTH' | 'SB_PROVIDER_REJECTED' | 'SB_PROVIDER_UNAVAILABLE',
  message: string,
  providerCode: number | null,
  httpStatus: number,
): SendResult {
  return { kind: 'failed', error: new SbError(code, message), providerCode, httpStatus };
}

function unknown(
  code: 'SB_PROVIDER_UNAVAILABLE' | 'SB_PROVIDER_OUTCOME_UNKNOWN',
  message: string,
  providerCode: number | null,
  httpStatus: number | null,
): SendResult {
  return { kind: 'unknown', error: new SbError(code, message), providerCode, httpStatus };
}

/** Twilio's error body `{ code, message, more_info, status }`; either part may be missing. */
function parseTwilioError(body: string): { code: number | null; message: string | null } {
  const json = parseJson(body);
  const rawCode = json?.code;
  const code =
    typeof rawCode === 'number' || (typeof rawCode === 'string' && /^\d+$/.test(rawCode))
      ? Number(rawCode)
      : null;
  const message =
    typeof json?.message === 'string' && json.message.length > 0 ? maskPhoneNumbers(json.message) : null;
  return { code: Number.isSafeInteger(code) ? code : null, message };
}

function parseJson(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Twilio quotes the numbers in its messages (21211, 21408…); error messages end up in logs. */
function maskPhoneNumbers(text: string): string {
  return text.replace(/\+\d{6,15}/g, (n) => maskPhone(n));
}
