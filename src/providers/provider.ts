import type { SbError } from '../errors/index.ts';

/** One message handed to a provider. */
export interface SendRequest {
  /** Our message id; it travels in the StatusCallback URL so callbacks and reconciliation find it. */
  messageId: string;
  to: string;
  from: string;
  body: string | null;
  mediaUrls: string[];
  contentSid: string | null;
  contentVariables: string | null;
  statusCallback: string;
}

/** What a send attempt came to. */
export type SendResult =
  /** The provider accepted the message. */
  | { kind: 'accepted'; providerSid: string; providerStatus: string; httpStatus: number }
  /**
   * The provider did not take the message. `error.retryable` says whether the queue may try
   * again; `providerCode` keeps the provider's own code (e.g. Twilio 21610).
   */
  | { kind: 'failed'; error: SbError; providerCode: number | null; httpStatus: number | null }
  /**
   * The request may have reached the provider (timeout, reset, 5xx): it must be reconciled
   * with `findSent` before any resend.
   */
  | { kind: 'unknown'; error: SbError; providerCode: number | null; httpStatus: number | null };

/** A message the provider holds, as far as reconciliation needs it. */
export interface ProviderMessage {
  sid: string;
  status: string;
  to: string;
  from: string;
  body: string;
  dateCreated: number;
}

/** What to look for when reconciling an ambiguous attempt. */
export interface SentLookup {
  to: string;
  from: string;
  /** Only messages created at or after this time (ms since epoch). */
  since: number;
}

/** A messaging provider (Twilio, or another one for failover): each lives in `providers/<name>/`. */
export interface Provider {
  readonly name: string;
  /** Submits one message; never throws for provider or network failures (they are results). */
  send(request: SendRequest): Promise<SendResult>;
  /** Messages the provider holds from `from` to `to` created since `since`, newest first. Throws SbError. */
  findSent(lookup: SentLookup): Promise<ProviderMessage[]>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}
