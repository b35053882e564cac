import { SbError } from '../../errors/index.ts';
import type { ProviderMessage, SentLookup } from '../provider.ts';
import { classifyResponse } from './classify-response.ts';
import type { TwilioClient, TwilioHttpOutcome } from './twilio-client.ts';

/** Slack for clock skew between this host and Twilio when comparing `date_created` with `since`. */
export const CLOCK_SKEW_MS = 60_000;

/** The most list pages one lookup reads before it gives up. */
export const MAX_LOOKUP_PAGES = 20;

const PAGE_SIZE = 100;

/**
 * Lists the messages Twilio holds from `lookup.from` to `lookup.to` created since `lookup.since`
 * (less the skew margin), newest first, following `next_page_uri` until a page reaches older
 * messages. Throws SbError: SB_PROVIDER_RATE_LIMITED on 429, else SB_PROVIDER_UNAVAILABLE; also
 * when the window spans more than MAX_LOOKUP_PAGES pages, because a partial answer could hide the
 * very message being reconciled and lead to a duplicate.
 */
export async function findSentMessages(client: TwilioClient, lookup: SentLookup): Promise<ProviderMessage[]> {
  const cutoff = lookup.since - CLOCK_SKEW_MS;
  // No DateSent filter: a message still queued has a null date_sent and must be found too.
  const query = new URLSearchParams({ To: lookup.to, From: lookup.from, PageSize: String(PAGE_SIZE) });
  let path = `${client.messagesPath}?${query.toString()}`;
  const found: ProviderMessage[] = [];
  for (let pages = 1; ; pages++) {
    const outcome = await client.get(path);
    if (outcome.type === 'network' || outcome.status < 200 || outcome.status >= 300) {
      throw lookupFailure(outcome);
    }
    const page = parsePage(outcome.body);
    let oldest = Number.POSITIVE_INFINITY;
    for (const message of page.messages) {
      oldest = Math.min(oldest, message.dateCreated);
      if (message.dateCreated >= cutoff) found.push(message);
    }
    if (page.messages.length === 0 || oldest < cutoff || page.nextPageUri === null) break;
    if (pages === MAX_LOOKUP_PAGES) {
      throw new SbError(
        'SB_PROVIDER_UNAVAILABLE',
        `More than ${MAX_LOOKUP_PAGES} pages of messages match this lookup; refusing to answer with a partial list.`,
      );
    }
    const next = client.resolvePageUri(page.nextPageUri);
    if (next === null) {
      throw new SbError('SB_PROVIDER_UNAVAILABLE', 'Twilio returned a next_page_uri on another origin.');
    }
    path = next;
  }
  return found.sort((a, b) => b.dateCreated - a.dateCreated);
}

/** Reads are safe to repeat, so only a rate limit keeps its own code; every other failure is retryable. */
function lookupFailure(outcome: TwilioHttpOutcome): SbError {
  const result = classifyResponse(outcome);
  const error = result.kind === 'accepted' ? null : result.error;
  if (error?.code === 'SB_PROVIDER_RATE_LIMITED') return error;
  const status = outcome.type === 'response' ? ` (HTTP ${outcome.status})` : '';
  return new SbError('SB_PROVIDER_UNAVAILABLE', `Listing messages failed${status}: ${error?.message}`, {
    cause: error,
  });
}

function parsePage(body: string): { messages: ProviderMessage[]; nextPageUri: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw malformed('the body is not JSON', cause);
  }
  if (typeof json !== 'object' || json === null) throw malformed('the body is not an object');
  const { messages, next_page_uri: next } = json as { messages?: unknown; next_page_uri?: unknown };
  if (!Array.isArray(messages)) throw malformed('no messages array');
  if (next !== undefined && next !== null && typeof next !== 'string') throw malformed('bad next_page_uri');
  return {
    messages: messages.map(parseMessage),
    nextPageUri: typeof next === 'string' && next ? next : null,
  };
}

function parseMessage(item: unknown): ProviderMessage {
  const m = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  const { sid, status, to, from, body, date_created: created } = m;
  if (
    typeof sid !== 'string' ||
    typeof status !== 'string' ||
    typeof to !== 'string' ||
    typeof from !== 'string'
  )
    throw malformed('a message lacks sid, status, to or from');
  // RFC 2822, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`. A message without a usable date cannot be
  // placed in the window, and skipping it could hide the message being reconciled.
  const dateCreated = typeof created === 'string' ? Date.parse(created) : Number.NaN;
  if (Number.isNaN(dateCreated)) throw malformed(`message ${sid} has no valid date_created`);
  return { sid, status, to, from, body: typeof body === 'string' ? body : '', dateCreated };
}

function malformed(what: string, cause?: unknown): SbError {
  return new SbError('SB_PROVIDER_UNAVAILABLE', `Twilio's message list is malformed: ${what}.`, { cause });
}
