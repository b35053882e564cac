import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** A recipient that passed validation: its E.164 form and its region (ISO 3166 alpha-2, `001` if non-geographic). */
export interface ValidNumber {
  e164: string;
  country: string;
}

/** Checks an E.164 number; returns its canonical form and country, or null when it is not a valid number. */
export type NumberValidator = (e164: string) => ValidNumber | null;

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * A validator over libphonenumber's full metadata. Results are memoized in a bounded map
 * (a full parse costs tens of microseconds and producers send to the same recipients again).
 */
export function createNumberValidator(cacheSize = 10_000): NumberValidator {
  const cache = new Map<string, ValidNumber | null>();
  return (e164) => {
    const hit = cache.get(e164);
    if (hit !== undefined) return hit;
    let result: ValidNumber | null = null;
    if (E164.test(e164)) {
      const phone = parsePhoneNumberFromString(e164);
      if (phone?.isValid()) result = { e164: phone.number, country: phone.country ?? '001' };
    }
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
    cache.set(e164, result);
    return result;
  };
}

/**
 * The plain E.164 form of a recipient as sent: `whatsapp:+…` is accepted for WhatsApp
 * only; undefined when the prefix does not belong to the channel.
 */
export function stripChannelPrefix(to: string, channel: string): string | undefined {
  if (to.startsWith('whatsapp:')) return channel === 'whatsapp' ? to.slice('whatsapp:'.length) : undefined;
  return to;
}
