import { createHmac } from 'node:crypto';

/** Form parameters as Twilio signs them: a repeated name carries an array of values. */
export type SignedParams = Record<string, string | readonly string[]>;

/**
 * Computes `X-Twilio-Signature` the way Twilio's servers do: the full URL, then each
 * parameter name (sorted by UTF-16 code unit) followed by its value(s), HMAC-SHA1 with
 * the auth token, base64. Repeated names sign each distinct value, sorted.
 */
export function signTwilioRequest(authToken: string, url: string, params: SignedParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    if (typeof value === 'string') {
      data += name + value;
    } else {
      for (const v of [...new Set(value)].sort()) data += name + v;
    }
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}
