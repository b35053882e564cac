import { PREFIX_ZONES, ZONES } from './time-zone-data.ts';

let table: Map<string, string> | null = null;

/** The prefix table, parsed on first use (a few thousand entries). */
function prefixTable(): Map<string, string> {
  if (table) return table;
  table = new Map();
  for (const pair of PREFIX_ZONES.split(',')) {
    const colon = pair.indexOf(':');
    table.set(pair.slice(0, colon), ZONES[Number.parseInt(pair.slice(colon + 1), 16)]!);
  }
  return table;
}

const LONGEST_PREFIX = 9;

/**
 * The recipient's IANA time zone from its E.164 number: the longest matching prefix (NANP
 * area codes included, so +1 212 is New York and +1 808 Honolulu); for a calling code that
 * spans several zones, its most populous one. `UTC` when nothing matches.
 */
export function timeZoneFor(e164: string): string {
  const digits = e164.startsWith('+') ? e164.slice(1) : e164;
  const zones = prefixTable();
  for (let n = Math.min(LONGEST_PREFIX, digits.length); n > 0; n--) {
    const zone = zones.get(digits.slice(0, n));
    if (zone !== undefined) return zone;
  }
  return 'UTC';
}
