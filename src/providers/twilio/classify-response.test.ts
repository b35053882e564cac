import { describe, expect, it } from 'vitest';
import type { SbErrorCode } from '../../errors/index.ts';
import { classifyResponse } from './classify-response.ts';
import type { TwilioHttpOutcome } from './twilio-client.ts';

const SID = `SM${'0'.repeat(32)}`;
const twilioError = (code: number, status: number, message = `Twilio says ${code}`) =>
  JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
const response = (status: number, body: string): TwilioHttpOutcome => ({ type: 'response', status, body });
const network = (code: string, extra: object = {}): TwilioHttpOutcome => ({
  type: 'network',
  error: Object.assign(new Error(`network ${code}`), { code }, extra),
});

interface Row {
  case: string;
  outcome: TwilioHttpOutcome;
  kind: 'failed' | 'unknown';
  code: SbErrorCode;
  retryable: boolean;
  providerCode?: number | null;
  httpStatus?: number | null;
}

const rows: Row[] = [
  // Twilio refused the request outright: nothing was created.
  {
    case: '429 / 20429',
    outcome: response(429, twilioError(20429, 429)),
    kind: 'failed',
    code: 'SB_PROVIDER_RATE_LIMITED',
    retryable: true,
    providerCode: 20429,
    httpStatus: 429,
  },
  {
    case: '429 without a body',
    outcome: response(429, ''),
    kind: 'failed',
    code: 'SB_PROVIDER_RATE_LIMITED',
    retryable: true,
    providerCode: null,
  },
  {
    case: '400 / 21611 sender queue full',
    outcome: response(400, twilioError(21611, 400)),
    kind: 'failed',
    code: 'SB_PROVIDER_RATE_LIMITED',
    retryable: true,
    providerCode: 21611,
  },
  {
    case: '401 / 20003',
    outcome: response(401, twilioError(20003, 401)),
    kind: 'failed',
    code: 'SB_PROVIDER_AUTH',
    retryable: false,
    providerCode: 20003,
  },
  {
    case: '403 without a body',
    outcome: response(403, '<html>Forbidden</html>'),
    kind: 'failed',
    code: 'SB_PROVIDER_AUTH',
    retryable: false,
    providerCode: null,
  },
  {
    case: '408 request timeout',
    outcome: response(408, ''),
    kind: 'failed',
    code: 'SB_PROVIDER_UNAVAILABLE',
    retryable: true,
  },
  ...[21211, 21408, 21606, 21610, 21617, 63016].map(
    (code): Row => ({
      case: `400 / ${code}`,
      outcome: response(400, twilioError(code, 400)),
      kind: 'failed',
      code: 'SB_PROVIDER_REJECTED',
      retryable: false,
      providerCode: code,
      httpStatus: 400,
    }),
  ),
  {
    case: '404 / 20404',
    outcome: response(404, twilioError(20404, 404)),
    kind: 'failed',
    code: 'SB_PROVIDER_REJECTED',
    retryable: false,
    providerCode: 20404,
  },
  {
    case: '400 with a string code',
    outcome: response(400, JSON.stringify({ code: '21211', message: 'bad' })),
    kind: 'failed',
    code: 'SB_PROVIDER_REJECTED',
    retryable: false,
    providerCode: 21211,
  },
  {
    case: '413 without a Twilio code',
    outcome: response(413, 'too large'),
    kind: 'failed',
    code: 'SB_PROVIDER_REJECTED',
    retryable: false,
    providerCode: null,
  },
  // Twilio may have created the message.
  {
    case: '500 / 20500',
    outcome: response(500, twilioError(20500, 500)),
    kind: 'unknown',
    code: 'SB_PROVIDER_UNAVAILABLE',
    retryable: true,
    providerCode: 20500,
    httpStatus: 500,
  },
  {
    case: '503 / 20503',
    outcome: response(503, twilioError(20503, 503)),
    kind: 'unknown',
    code: 'SB_PROVIDER_UNAVAILABLE',
    retryable: true,
    providerCode: 20503,
  },
  {
    case: '502 from a proxy',
    outcome: response(502, '<html>Bad Gateway</html>'),
    kind: 'unknown',
    code: 'SB_PROVIDER_UNAVAILABLE',
    retryable: true,
    providerCode: null,
  },
  {
    case: '201 with an unparseable body',
    outcome: response(201, '{"sid":'),
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
    httpStatus: 201,
  },
  {
    case: '201 JSON without a sid',
    outcome: response(201, '{"status":"queued"}'),
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
  },
  {
    case: '204 with no body',
    outcome: response(204, ''),
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
  },
  {
    case: '301 redirect',
    outcome: response(301, ''),
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
  },
  // The request never left: safe to send again.
  ...[
    'ECONNREFUSED',
    'UND_ERR_CONNECT_TIMEOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_CLOSED',
    'CERT_HAS_EXPIRED',
  ].map(
    (c): Row => ({
      case: `network ${c}`,
      outcome: network(c),
      kind: 'failed',
      code: 'SB_PROVIDER_UNAVAILABLE',
      retryable: true,
      providerCode: null,
      httpStatus: null,
    }),
  ),
  {
    case: 'every address refused (AggregateError)',
    outcome: network('ECONNREFUSED', {
      errors: [
        Object.assign(new Error('a'), { code: 'ECONNREFUSED' }),
        Object.assign(new Error('b'), { code: 'ECONNREFUSED' }),
      ],
    }),
    kind: 'failed',
    code: 'SB_PROVIDER_UNAVAILABLE',
    retryable: true,
  },
  // The request may have been written: reconcile first.
  ...[
    'ECONNRESET',
    'UND_ERR_SOCKET',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_ABORTED',
    'UND_ERR_DESTROYED',
    'EPIPE',
    'ETIMEDOUT',
  ].map(
    (c): Row => ({
      case: `network ${c}`,
      outcome: network(c),
      kind: 'unknown',
      code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
      retryable: true,
      providerCode: null,
      httpStatus: null,
    }),
  ),
  {
    case: 'refused and reset mixed',
    outcome: network('ECONNREFUSED', { errors: [Object.assign(new Error('a'), { code: 'ECONNRESET' })] }),
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
  },
  {
    case: 'an AbortError without a code',
    outcome: { type: 'network', error: new DOMException('aborted', 'AbortError') },
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
  },
  {
    case: 'a thrown non-error',
    outcome: { type: 'network', error: 'boom' },
    kind: 'unknown',
    code: 'SB_PROVIDER_OUTCOME_UNKNOWN',
    retryable: true,
  },
];

describe('classifyResponse', () => {
  it.each(rows)('maps $case to $kind $code', (row) => {
    const result = classifyResponse(row.outcome);
    expect(result.kind).toBe(row.kind);
    if (result.kind === 'accepted') return;
    expect(result.error.code).toBe(row.code);
    expect(result.error.retryable).toBe(row.retryable);
    if (row.providerCode !== undefined) expect(result.providerCode).toBe(row.providerCode);
    if (row.httpStatus !== undefined) expect(result.httpStatus).toBe(row.httpStatus);
  });

  it('accepts a 201 with a SID, keeping Twilio status and the HTTP status', () => {
    expect(classifyResponse(response(201, JSON.stringify({ sid: SID, status: 'queued' })))).toEqual({
      kind: 'accepted',
      providerSid: SID,
      providerStatus: 'queued',
      httpStatus: 201,
    });
    expect(classifyResponse(response(200, JSON.stringify({ sid: SID, status: 'accepted' })))).toMatchObject({
      kind: 'accepted',
      providerStatus: 'accepted',
      httpStatus: 200,
    });
  });

  it("keeps Twilio's message for a rejection, with phone numbers masked", () => {
    const result = classifyResponse(
      response(400, twilioError(21211, 400, "The 'To' number +14155552671 is not a valid phone number.")),
    );
    expect(result.kind === 'failed' && result.error.message).toBe(
      "The 'To' number +14*******71 is not a valid phone number.",
    );
  });

  it('keeps the transport error as the cause of a network failure', () => {
    const outcome = network('ECONNRESET');
    const result = classifyResponse(outcome);
    expect(result.kind !== 'accepted' && result.error.cause).toBe(
      outcome.type === 'network' && outcome.error,
    );
  });
});
