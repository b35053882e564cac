/**
 * Twilio's own error codes as the simulator answers them. These are Twilio's codes,
 * kept apart from Switchboard's `SB_*` catalogue on purpose.
 */
export interface TwilioErrorInfo {
  status: number;
  message: string;
}

/** Codes the simulator answers synchronously, with Twilio's HTTP status. */
export const TWILIO_REST_ERRORS = {
  20001: { status: 400, message: 'Unknown parameters' },
  20003: { status: 401, message: 'Authenticate' },
  20404: { status: 404, message: 'The requested resource was not found' },
  20429: { status: 429, message: 'Too Many Requests' },
  20500: { status: 500, message: 'Internal Server Error' },
  20503: { status: 503, message: 'Service Unavailable' },
  21211: { status: 400, message: "The 'To' number is not a valid phone number." },
  21408: {
    status: 400,
    message: 'Permission to send an SMS has not been enabled for the region indicated by the To number',
  },
  21602: { status: 400, message: 'Message body is required.' },
  21604: { status: 400, message: "A 'To' phone number is required." },
  21603: { status: 400, message: "A 'From' phone number is required." },
  21606: {
    status: 400,
    message:
      "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account.",
  },
  21609: { status: 400, message: 'Invalid StatusCallback URL.' },
  21610: { status: 400, message: 'Attempt to send to unsubscribed recipient' },
  21611: { status: 400, message: 'This From number has exceeded the maximum number of queued messages' },
  21617: { status: 400, message: 'The concatenated message body exceeds the 1600 character limit.' },
  21620: { status: 400, message: 'Invalid media URL(s)' },
  21623: { status: 400, message: 'Number of media files exceeds allowed limit' },
  21654: { status: 400, message: 'ContentSid Required' },
  21655: { status: 400, message: 'The ContentSid is Invalid' },
  21656: { status: 400, message: 'The ContentVariables Parameter is invalid' },
  90007: { status: 400, message: 'Invalid ValidityPeriod' },
} as const satisfies Record<number, TwilioErrorInfo>;

export type TwilioRestErrorCode = keyof typeof TWILIO_REST_ERRORS;

/** Messages for the asynchronous (delivery) codes that end up in `error_code` and callbacks. */
export const TWILIO_DELIVERY_ERRORS: Record<number, string> = {
  30001: 'Queue overflow',
  30003: 'Unreachable destination handset',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
  30007: 'Message filtered',
  30008: 'Unknown error',
  30032: 'Toll-Free Number Has Not Been Verified',
  30034: 'Message from an Unregistered Number',
  30036: 'Validity Period Expired',
  30500: 'Internal error',
  63016: 'Failed to send freeform message because you are outside the allowed window. Please use a Template.',
  11200: 'HTTP retrieval failure',
  11205: 'HTTP connection failure',
};

/** An error the simulator renders in Twilio's JSON error shape. */
export class TwilioApiError extends Error {
  readonly code: number;
  readonly status: number;
  constructor(code: number, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** Builds the error for one of the catalogued REST codes, optionally with a more specific message. */
  static of(code: TwilioRestErrorCode, message?: string): TwilioApiError {
    const info = TWILIO_REST_ERRORS[code];
    return new TwilioApiError(code, info.status, message ?? info.message);
  }

  /** Twilio's 2010 API error body. */
  toJSON(): { code: number; message: string; more_info: string; status: number } {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}
