/** The catalogue of Switchboard error codes: stable codes, HTTP status, retryable flag. */
export const SB_ERRORS = {
  // intake
  SB_INTAKE_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    message: 'A valid API key is required (Authorization: Bearer <key>).',
  },
  SB_INTAKE_INVALID_JSON: { status: 400, retryable: false, message: 'The request body is not valid JSON.' },
  SB_INTAKE_INVALID_FIELD: { status: 400, retryable: false, message: 'A field is missing or invalid.' },
  SB_INTAKE_INVALID_NUMBER: {
    status: 400,
    retryable: false,
    message: 'The recipient is not a valid phone number.',
  },
  SB_INTAKE_BODY_TOO_LARGE: { status: 413, retryable: false, message: 'The request body is too large.' },
  SB_INTAKE_BATCH_TOO_LARGE: {
    status: 400,
    retryable: false,
    message: 'A batch holds at most 1000 messages.',
  },
  SB_INTAKE_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Send application/json.' },
  SB_INTAKE_IDEMPOTENCY_CONFLICT: {
    status: 409,
    retryable: false,
    message: 'The idempotency key was already used with a different payload.',
  },
  SB_INTAKE_NOT_FOUND: { status: 404, retryable: false, message: 'No such message.' },
  SB_INTAKE_NOT_CANCELABLE: {
    status: 409,
    retryable: false,
    message: 'The message was already handed to the provider and cannot be canceled.',
  },
  SB_INTAKE_ROUTE_NOT_FOUND: { status: 404, retryable: false, message: 'No such route.' },
  SB_INTAKE_METHOD_NOT_ALLOWED: { status: 405, retryable: false, message: 'Method not allowed.' },
  SB_INTAKE_NO_POOL: {
    status: 422,
    retryable: false,
    message: 'No sender pool serves this purpose, channel and country.',
  },
  SB_INTAKE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The gateway is shutting down or not ready.',
  },
  // callbacks
  SB_CALLBACK_BAD_SIGNATURE: {
    status: 403,
    retryable: false,
    message: 'The X-Twilio-Signature header is missing or does not match.',
  },
  SB_CALLBACK_INVALID: {
    status: 400,
    retryable: false,
    message: 'The callback is missing required parameters.',
  },
  // provider (set on messages; the queue retries on `retryable` only)
  SB_PROVIDER_RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: 'The provider rate-limited the request.',
  },
  SB_PROVIDER_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The provider failed or is unavailable.',
  },
  SB_PROVIDER_OUTCOME_UNKNOWN: {
    status: 504,
    retryable: true,
    message: 'The request may have reached the provider; its outcome is unknown.',
  },
  SB_PROVIDER_REJECTED: {
    status: 422,
    retryable: false,
    message: 'The provider rejected the message permanently.',
  },
  SB_PROVIDER_AUTH: { status: 502, retryable: false, message: 'The provider refused our credentials.' },
  SB_QUEUE_RETRIES_EXHAUSTED: {
    status: 503,
    retryable: false,
    message: 'The message was dead-lettered after its last retry.',
  },
  // policy
  SB_POLICY_REFUSED: {
    status: 422,
    retryable: false,
    message: 'A policy refused the message before it reached the provider (see reason).',
  },
  SB_ADMIN_FORBIDDEN: { status: 403, retryable: false, message: 'An admin API key is required.' },
  SB_ADMIN_RELOAD_REJECTED: {
    status: 400,
    retryable: false,
    message: 'The config was not reloaded; the running config stays in force.',
  },
  // config
  SB_CONFIG_INVALID: { status: 500, retryable: false, message: 'The configuration is invalid.' },
  SB_INTERNAL: { status: 500, retryable: false, message: 'Internal error.' },
} as const;

/** A stable Switchboard error code. */
export type SbErrorCode = keyof typeof SB_ERRORS;

/** The one error type: a stable code, its HTTP status, whether a retry may help, and the cause. */
export class SbError extends Error {
  readonly code: SbErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly field: string | undefined;
  /** The stable policy reason of an SB_POLICY_REFUSED error (e.g. `url_shortener`). */
  readonly reason: string | undefined;

  constructor(
    code: SbErrorCode,
    message?: string,
    options: { field?: string | undefined; cause?: unknown; reason?: string | undefined } = {},
  ) {
    super(message ?? SB_ERRORS[code].message, { cause: options.cause });
    this.code = code;
    this.status = SB_ERRORS[code].status;
    this.retryable = SB_ERRORS[code].retryable;
    this.field = options.field;
    this.reason = options.reason;
  }

  /** The HTTP body every error renders as. */
  toBody(): { error: { code: string; message: string; field?: string; reason?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field ? { field: this.field } : {}),
        ...(this.reason ? { reason: this.reason } : {}),
      },
    };
  }
}
