import type { Logger } from 'pino';
import { SbError } from '../../errors/index.ts';
import { maskPhone } from '../../observability/index.ts';
import type { Provider, SendRequest, SendResult } from '../provider.ts';
import { classifyResponse } from './classify-response.ts';
import { findSentMessages } from './find-sent.ts';
import { buildMessageForm } from './message-form.ts';
import { createTwilioClient } from './twilio-client.ts';

/** The shortest read timeout allowed: below it, ordinary slowness would be taken for a lost response. */
export const MIN_TIMEOUT_MS = 2_000;

/** Where the Twilio account is and how the connection pool behaves. */
export interface TwilioProviderOptions {
  accountSid: string;
  authToken: string;
  /** `https://api.twilio.com`, or the simulator, e.g. `http://127.0.0.1:4010`. */
  baseUrl: string;
  /** Keep-alive connections, hence the most requests in flight at once. */
  maxConcurrency: number;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** Time allowed for the response headers and between body chunks; default 15000, at least 2000. */
  timeoutMs?: number;
}

/** What the Twilio provider uses besides its options. */
export interface TwilioProviderDeps {
  /** Bodies and full phone numbers are never logged. */
  logger?: Logger;
}

/**
 * The Twilio provider: creates messages over a keep-alive undici Pool, maps every outcome
 * to a SendResult (never retrying a create itself), and lists messages for reconciliation.
 * Throws SbError SB_CONFIG_INVALID for unusable options.
 */
export function createTwilioProvider(deps: TwilioProviderDeps, options: TwilioProviderOptions): Provider {
  const settings = checkOptions(options);
  const client = createTwilioClient(settings);
  const log = deps.logger?.child({ provider: 'twilio' });

  function report(request: SendRequest, result: SendResult): void {
    // The accepted path is hot: build nothing unless debug is on.
    if (!log || (result.kind === 'accepted' && !log.isLevelEnabled('debug'))) return;
    const fields = { messageId: request.messageId, to: maskPhone(request.to), from: maskPhone(request.from) };
    if (result.kind === 'accepted') {
      log.debug({ ...fields, providerSid: result.providerSid }, 'twilio accepted the message');
      return;
    }
    const detail = {
      ...fields,
      code: result.error.code,
      providerCode: result.providerCode,
      httpStatus: result.httpStatus,
      reason: result.error.message,
    };
    if (result.kind === 'unknown')
      log.warn(detail, 'twilio send outcome unknown; reconcile before resending');
    else log.info(detail, 'twilio did not take the message');
  }

  return {
    name: 'twilio',
    async send(request) {
      let result: SendResult;
      try {
        result = classifyResponse(await client.postForm(client.messagesPath, buildMessageForm(request)));
      } catch (error) {
        // Unreachable in practice (postForm resolves every transport error); send must not throw,
        // and the request may have left, so the outcome is unknown.
        result = {
          kind: 'unknown',
          error: new SbError('SB_PROVIDER_OUTCOME_UNKNOWN', undefined, { cause: error }),
          providerCode: null,
          httpStatus: null,
        };
      }
      report(request, result);
      return result;
    },
    findSent: (lookup) => findSentMessages(client, lookup),
    close: () => client.close(),
  };
}

function checkOptions(options: TwilioProviderOptions) {
  const invalid = (field: string, why: string) =>
    new SbError('SB_CONFIG_INVALID', `Twilio provider: ${field} ${why}.`, { field });
  if (!options.accountSid) throw invalid('accountSid', 'is required');
  if (!options.authToken) throw invalid('authToken', 'is required');
  if (!URL.canParse(options.baseUrl) || !/^https?:$/.test(new URL(options.baseUrl).protocol))
    throw invalid('baseUrl', 'must be an http(s) URL');
  if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1)
    throw invalid('maxConcurrency', 'must be a positive integer');
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  if (!(connectTimeoutMs > 0)) throw invalid('connectTimeoutMs', 'must be positive');
  const timeoutMs = options.timeoutMs ?? 15_000;
  if (!(timeoutMs >= MIN_TIMEOUT_MS)) throw invalid('timeoutMs', `must be at least ${MIN_TIMEOUT_MS}`);
  return { ...options, connectTimeoutMs, timeoutMs };
}
