import { createHmac } from 'node:crypto';

/** Form parameters as Twilio signs them: a repeated name carries an array of values. */
export type SignedParams = Record<string, string | readonly string[]>;

/**
 * The part of the signed string that follows the URL: each parameter name (sorted by UTF-16
 * code unit) followed by its value; a repeated name signs each distinct value, sorted.
 */
export function signedParams(params: SignedParams): string {
  let data = '';
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    if (typeof value === 'string') {
      data += name + value;
    } else {
      for (const v of [...new Set(value)].sort()) data += name + v;
    }
  }
  return data;
}

/** HMAC-SHA1 of the URL and the signed parameters with the auth token, base64. */
export function signTwilioString(authToken: string, url: string, paramsPart: string): string {
  return createHmac('sha1', authToken)
    .update(url + paramsPart, 'utf8')
    .digest('base64');
}

/**
 * Computes `X-Twilio-Signature` the way Twilio's servers do: the full URL, then the sorted
 * parameters (see `signedParams`), HMAC-SHA1 with the auth token, base64.
 */
export function signTwilioRequest(authToken: string, url: string, params: SignedParams): string {
  return signTwilioString(authToken, url, signedParams(params));
}
