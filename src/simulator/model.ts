/** Sender types as carriers see them; each has its own default throughput. */
export type SenderType = 'long_code' | 'toll_free' | 'short_code' | 'alphanumeric' | 'whatsapp';

/** Default messages-per-second by sender type (Twilio's published defaults). */
export const DEFAULT_MPS: Record<SenderType, number> = {
  long_code: 1,
  toll_free: 3,
  short_code: 100,
  alphanumeric: 10,
  whatsapp: 10,
};

/** A sender the account owns: a phone number, short code, alphanumeric ID or WhatsApp sender. */
export interface SimSender {
  sid: string;
  accountSid: string;
  /** E.164 number, short-code digits, alphanumeric ID, or `whatsapp:+E164`. */
  address: string;
  type: SenderType;
  /** ISO country the sender belongs to (a short code reaches only its own country). */
  country: string;
  mps: number;
  /** 10DLC campaign registered (long code) or toll-free verification approved. */
  registered: boolean;
  friendlyName: string;
  smsUrl: string | null;
  statusCallback: string | null;
  dateCreated: number;
}

/** An account or subaccount with its credentials. */
export interface SimAccount {
  sid: string;
  authToken: string;
  friendlyName: string;
  parentSid: string | null;
  dateCreated: number;
  /** API key SID → secret. */
  apiKeys: Map<string, { secret: string; friendlyName: string; dateCreated: number }>;
  /** In-flight REST requests, for the concurrency limit. */
  inflight: number;
}

/** Outbound and inbound message statuses (Twilio's `message_enum_status`). */
export type MessageStatus =
  | 'accepted'
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'read'
  | 'received'
  | 'canceled';

/** One webhook delivery attempt the simulator made, as Twilio's debugger would record it. */
export interface CallbackAttempt {
  kind: 'status' | 'inbound';
  status: MessageStatus;
  url: string;
  at: number;
  durationMs: number;
  httpStatus: number | null;
  /** 11200 (retrieval failure: 4xx/5xx/timeout) or 11205 (connection failure), else null. */
  errorCode: number | null;
  attempt: number;
  /** 'sent' | 'duplicate' (injected) | 'dropped' (injected or blackholed). */
  disposition: 'sent' | 'duplicate' | 'dropped';
}

/** A message as the simulator keeps it. */
export interface SimMessage {
  seq: number;
  sid: string;
  accountSid: string;
  from: string;
  to: string;
  body: string;
  direction: 'outbound-api' | 'outbound-reply' | 'inbound';
  status: MessageStatus;
  errorCode: number | null;
  numSegments: number;
  mediaUrls: string[];
  contentSid: string | null;
  statusCallback: string | null;
  validityPeriodS: number;
  senderType: SenderType | null;
  carrier: string | null;
  country: string | null;
  price: string | null;
  dateCreated: number;
  dateUpdated: number;
  /** When the message left the sender queue for the carrier (ms), null until then. */
  dateSent: number | null;
  /** Every status the message took, with its time. */
  history: { status: MessageStatus; at: number; errorCode: number | null }[];
  callbacks: CallbackAttempt[];
  /** The create request's response was deliberately lost (fault injection). */
  responseLost: boolean;
}
