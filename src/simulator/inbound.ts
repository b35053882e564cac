import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { analyzeSms, HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS } from '../policy/index.ts';
import type { CallbackAttempt, SimMessage } from './model.ts';
import type { SimContext } from './sim-context.ts';
import { TwilioApiError } from './twilio-errors.ts';

// Twilio's default opt-out, opt-in and help keywords: the same sets the gateway's policy uses.
export { HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS };

/** An inbound message a test or game-day operator injects, as if a handset sent it. */
export interface InboundSpec {
  from: string;
  to: string;
  body: string;
  mediaUrls?: string[];
  profileName?: string;
}

/** What happened to an injected inbound message. */
export interface InboundResult {
  message: SimMessage;
  optOutType: 'STOP' | 'START' | 'HELP' | null;
  webhook: CallbackAttempt[];
  /** Replies the webhook answered with (TwiML `<Message>`), recorded as sent. */
  replies: SimMessage[];
}

/**
 * Receives an inbound message at one of the simulator's senders: applies Twilio's default
 * opt-out handling (long codes and toll-free only), opens the WhatsApp session window, and
 * posts the signed inbound webhook to the sender's SmsUrl.
 */
export async function injectInbound(ctx: SimContext, spec: InboundSpec): Promise<InboundResult> {
  const sender = ctx.accounts.sender(spec.to);
  if (!sender) throw TwilioApiError.of(20404, `No account owns ${spec.to}`);
  const account = ctx.accounts.get(sender.accountSid)!;
  const whatsapp = sender.type === 'whatsapp';
  if (whatsapp !== spec.from.startsWith('whatsapp:'))
    throw TwilioApiError.of(21211, 'The sender and the receiving channel do not match.');
  const now = ctx.clock.now();
  const mediaUrls = spec.mediaUrls ?? [];
  const message = ctx.engine.recordInbound({
    accountSid: account.sid,
    from: spec.from,
    to: spec.to,
    body: spec.body,
    direction: 'inbound',
    status: 'received',
    errorCode: null,
    numSegments: whatsapp || mediaUrls.length > 0 ? 1 : analyzeSms(spec.body).segments,
    mediaUrls,
    contentSid: null,
    statusCallback: null,
    validityPeriodS: 0,
    senderType: sender.type,
    carrier: null,
    country: sender.country,
    price: null,
    dateCreated: now,
    dateUpdated: now,
    dateSent: now,
    history: [{ status: 'received', at: now, errorCode: null }],
    callbacks: [],
    responseLost: false,
  });

  let optOutType: InboundResult['optOutType'] = null;
  const word = spec.body.trim().toUpperCase();
  if (!/\s/.test(word) && sender.type !== 'short_code' && !whatsapp) {
    const pair = `${spec.to}|${spec.from}`;
    if (OPT_OUT_KEYWORDS.has(word)) {
      ctx.engine.optOuts.add(pair);
      optOutType = 'STOP';
    } else if (OPT_IN_KEYWORDS.has(word)) {
      ctx.engine.optOuts.delete(pair);
      optOutType = 'START';
    } else if (HELP_KEYWORDS.has(word)) {
      optOutType = 'HELP';
    }
  }
  if (whatsapp) ctx.engine.sessions.set(`${spec.to}|${spec.from}`, now);

  let webhook: CallbackAttempt[] = [];
  const replies: SimMessage[] = [];
  if (sender.smsUrl) {
    const params = inboundParams(message, optOutType, spec, mediaUrls);
    const attempts = await ctx.webhooks.deliver(
      sender.smsUrl,
      params,
      account.authToken,
      `${message.sid}:received`,
      { readBody: true },
    );
    webhook = attempts.map((a) => ({
      kind: 'inbound' as const,
      status: 'received' as const,
      disposition: 'sent' as const,
      ...a,
    }));
    message.callbacks.push(...webhook);
    const twiml = attempts.at(-1)?.responseBody;
    for (const text of twimlMessages(twiml)) replies.push(recordReply(ctx, message, text));
  }
  return { message, optOutType, webhook, replies };
}

/** The texts of the `<Message>` verbs in a TwiML answer (Twilio sends each as a reply). */
export function twimlMessages(twiml: string | undefined): string[] {
  if (!twiml?.includes('<Message')) return [];
  const out: string[] = [];
  for (const m of twiml.matchAll(/<Message(?:\s[^>]*)?>([\s\S]*?)<\/Message>/g)) {
    const inner = m[1]!.replace(/<Body(?:\s[^>]*)?>([\s\S]*?)<\/Body>/, '$1');
    out.push(
      inner
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&'),
    );
  }
  return out;
}

/** Records the reply a TwiML `<Message>` makes: from the number written to, back to the sender. */
function recordReply(ctx: SimContext, inbound: SimMessage, body: string): SimMessage {
  const now = ctx.clock.now();
  return ctx.engine.recordInbound({
    ...inbound,
    from: inbound.to,
    to: inbound.from,
    body,
    direction: 'outbound-reply',
    status: 'sent',
    numSegments: analyzeSms(body).segments,
    mediaUrls: [],
    dateCreated: now,
    dateUpdated: now,
    dateSent: now,
    history: [{ status: 'sent', at: now, errorCode: null }],
    callbacks: [],
  });
}

function inboundParams(
  m: SimMessage,
  optOutType: string | null,
  spec: InboundSpec,
  mediaUrls: string[],
): Record<string, string> {
  const fromNumber = m.from.replace(/^whatsapp:/, '');
  const toNumber = m.to.replace(/^whatsapp:/, '');
  const params: Record<string, string> = {
    AccountSid: m.accountSid,
    ApiVersion: '2010-04-01',
    Body: m.body,
    From: m.from,
    FromCity: '',
    FromCountry: parsePhoneNumberFromString(fromNumber)?.country ?? '',
    FromState: '',
    FromZip: '',
    MessageSid: m.sid,
    NumMedia: String(mediaUrls.length),
    NumSegments: String(m.numSegments),
    SmsMessageSid: m.sid,
    SmsSid: m.sid,
    SmsStatus: 'received',
    To: m.to,
    ToCity: '',
    ToCountry: parsePhoneNumberFromString(toNumber)?.country ?? '',
    ToState: '',
    ToZip: '',
  };
  mediaUrls.forEach((url, i) => {
    params[`MediaUrl${i}`] = url;
    params[`MediaContentType${i}`] = 'image/jpeg';
  });
  if (optOutType) params.OptOutType = optOutType;
  if (m.from.startsWith('whatsapp:')) {
    params.WaId = fromNumber.slice(1);
    params.ProfileName = spec.profileName ?? 'Simulated User';
  }
  return params;
}
