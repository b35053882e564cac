import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Ranks a pool's numbers for a recipient: same area code, then same country, then the rest. */
export interface SenderRanker<T extends { address: string }> {
  /**
   * The best non-empty tier of numbers for this recipient (config order within a tier): same
   * area code (unless `depth` is `country`), same country, else every number.
   */
  preferred(recipient: string, depth?: 'area_code' | 'country'): readonly T[];
}

const CACHE_SIZE = 4_096;

/** An address without its channel prefix (`whatsapp:+1…` → `+1…`). */
export function bareAddress(address: string): string {
  return address.startsWith('whatsapp:') ? address.slice('whatsapp:'.length) : address;
}

interface Place {
  country: string | null;
  /** NANP area code (+1 NXX), else null. */
  areaCode: string | null;
}

function placeOf(address: string): Place {
  const e164 = bareAddress(address);
  if (!e164.startsWith('+')) return { country: null, areaCode: null };
  const phone = parsePhoneNumberFromString(e164);
  return {
    country: phone?.country ?? null,
    areaCode: e164.startsWith('+1') && e164.length === 12 ? e164.slice(2, 5) : null,
  };
}

/**
 * Geomatch over a pool's numbers: their country and area code are worked out once; a
 * recipient's tier is cached per (country, area code), so the dispatcher's hot path does a
 * map lookup returning the cached tier (no copy). Alphanumeric IDs and short codes have no place and sit in the last tier.
 */
export function createSenderRanker<T extends { address: string }>(numbers: readonly T[]): SenderRanker<T> {
  const places = numbers.map((number) => ({ number, ...placeOf(number.address) }));
  const byAreaCode = new Map<string, T[]>();
  for (const p of places) {
    if (p.areaCode !== null) byAreaCode.set(p.areaCode, [...(byAreaCode.get(p.areaCode) ?? []), p.number]);
  }
  const all = [...numbers];
  const cache = new Map<string, readonly T[]>();
  return {
    preferred(recipient, depth = 'area_code') {
      const nanp = recipient.startsWith('+1') && recipient.length === 12;
      const areaCode = nanp ? recipient.slice(2, 5) : null;
      const local = areaCode === null || depth === 'country' ? undefined : byAreaCode.get(areaCode);
      if (local) return local;
      // In NANP the area code decides the country; elsewhere the number is parsed (and cached).
      const key = areaCode ?? recipient;
      let tier = cache.get(key);
      if (tier === undefined) {
        const country = parsePhoneNumberFromString(recipient)?.country ?? null;
        const national = country ? places.filter((p) => p.country === country).map((p) => p.number) : [];
        tier = national.length > 0 ? national : all;
        if (cache.size >= CACHE_SIZE) cache.clear();
        cache.set(key, tier);
      }
      return tier;
    },
  };
}
