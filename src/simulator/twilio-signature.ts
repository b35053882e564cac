import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** Form parameters as Twilio signs them: a repeated name carries an array of values. */
export type SignedParams = Record<string, string | readonly string[]>;

/**
 * The part of the signed string that follows the URL: each parameter name (sorted by UTF-16
 * code unit) followed by its value; a repeated name signs each distinct value, sorted.
 */
export function signedParams(params: SignedParams): string {
  let data = '';
  for (const name of sortedKeys(params)) {
    const value = params[name]!;
    if (typeof value === 'string') {
      data += name + value;
    } else {
      for (const v of [...new Set(value)].sort()) data += name + v;
    }
  }
  return data;
}

/**
 * The object's keys in UTF-16 code unit order, as `sort()` orders them. A callback's dozen keys
 * are sorted in place by insertion: `sort()` allocated a work array for them, about 850 bytes
 * of the ~17 KB each verified callback allocated. Many keys (a hostile form) take `sort()`.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  if (keys.length > 32) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}

/** Each auth token as a key object, made once: a string key is converted on every HMAC. */
const keyObjects = new Map<string, KeyObject>();
const MAX_KEYS = 1_000;

/** HMAC-SHA1 of the URL and the signed parameters with the auth token, base64. */
export function signTwilioString(authToken: string, url: string, paramsPart: string): string {
  let key = keyObjects.get(authToken);
  if (!key) {
    if (keyObjects.size >= MAX_KEYS) keyObjects.clear();
    key = createSecretKey(Buffer.from(authToken, 'utf8'));
    keyObjects.set(authToken, key);
  }
  return createHmac('sha1', key)
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
