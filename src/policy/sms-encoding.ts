/**
 * SMS character encoding and segment counting, following GSM 03.38 and Twilio's rules.
 * Pure and allocation-light: every lookup table is built once at module load.
 */

/** The two encodings an SMS body can be sent in. */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** What `analyzeSms` reports about a body. */
export interface SmsAnalysis {
  encoding: SmsEncoding;
  /** GSM-7: septets (extension characters count 2). UCS-2: UTF-16 code units (emoji count 2). */
  units: number;
  /** Billable segments; an empty (e.g. media-only) body counts as 1. */
  segments: number;
  /** Capacity of each segment in `units`: 160 / 153 for GSM-7, 70 / 67 for UCS-2. */
  charsPerSegment: number;
}

/** Twilio rejects bodies longer than this (error 21617), measured as JS string length (UTF-16 code units). */
export const MAX_BODY_CHARS = 1600;

const GSM7_SINGLE = 160;
const GSM7_CONCAT = 153;
const UCS2_SINGLE = 70;
const UCS2_CONCAT = 67;

/** GSM 03.38 basic table (127 characters; ESC at 0x1B is not a text character). */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅå' +
  'Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ' +
  ' !"#¤%&\'()*+,-./' +
  '0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** GSM 03.38 extension table: each is sent as ESC + char, i.e. 2 septets. */
const GSM7_EXTENSION = '\f^{}\\[]~|€';

/** Every GSM-7 character is at or below U+20AC (€), so a small dense table covers them all. */
const SEPTET_TABLE_SIZE = 0x20ad;

/** Septets per UTF-16 code unit: 1 basic, 2 extension, 0 not GSM-7. */
const SEPTETS = new Uint8Array(SEPTET_TABLE_SIZE);
for (let i = 0; i < GSM7_BASIC.length; i++) SEPTETS[GSM7_BASIC.charCodeAt(i)] = 1;
for (let i = 0; i < GSM7_EXTENSION.length; i++) SEPTETS[GSM7_EXTENSION.charCodeAt(i)] = 2;

function septetsOf(code: number): number {
  return code < SEPTET_TABLE_SIZE ? SEPTETS[code]! : 0;
}

/** True when every character of `body` is in the GSM-7 basic or extension table ('' is GSM-7). */
export function isGsm7(body: string): boolean {
  for (let i = 0; i < body.length; i++) {
    if (septetsOf(body.charCodeAt(i)) === 0) return false;
  }
  return true;
}

/**
 * Encoding, length and segment count of an SMS body as Twilio bills it. Any character outside
 * GSM-7 makes the whole body UCS-2. Concatenated segments never split a GSM-7 escape pair or a
 * UTF-16 surrogate pair: a character that would straddle a boundary starts the next segment.
 */
export function analyzeSms(body: string): SmsAnalysis {
  const n = body.length;
  let units = 0;
  let segments = 1;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const w = septetsOf(body.charCodeAt(i));
    if (w === 0) return analyzeUcs2(body);
    units += w;
    if (used + w > GSM7_CONCAT) {
      segments++;
      used = 0;
    }
    used += w;
  }
  if (units <= GSM7_SINGLE) return { encoding: 'GSM-7', units, segments: 1, charsPerSegment: GSM7_SINGLE };
  return { encoding: 'GSM-7', units, segments, charsPerSegment: GSM7_CONCAT };
}

function analyzeUcs2(body: string): SmsAnalysis {
  const n = body.length;
  if (n <= UCS2_SINGLE) return { encoding: 'UCS-2', units: n, segments: 1, charsPerSegment: UCS2_SINGLE };
  let segments = 1;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const c = body.charCodeAt(i);
    let w = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const next = body.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        w = 2;
        i++;
      }
    }
    if (used + w > UCS2_CONCAT) {
      segments++;
      used = 0;
    }
    used += w;
  }
  return { encoding: 'UCS-2', units: n, segments, charsPerSegment: UCS2_CONCAT };
}

/**
 * Smart Encoding table: each character of the first string is replaced by the second. Keys are
 * never GSM-7 and replacements always are. Choices: « » become `"` (they are quotation marks),
 * ‹ › become `<` `>`; fullwidth ASCII (U+FF01–U+FF5E) becomes plain ASCII; letters are not
 * transliterated.
 */
const SMART_ENCODING_GROUPS: ReadonlyArray<readonly [string, string]> = [
  // Single quotes, apostrophes, primes, and accents typed as apostrophes.
  ['\u2018\u2019\u201A\u201B\u2032\u2035\u02B9\u02BB\u02BC\u02BD\u02C8\u02CA\u00B4\u0060\u275B\u275C', "'"],
  // Double quotes, double primes, guillemets.
  ['\u201C\u201D\u201E\u201F\u2033\u2036\u02BA\u02EE\u275D\u275E\u301D\u301E\u301F\u00AB\u00BB', '"'],
  ['\u2039', '<'],
  ['\u203A', '>'],
  // Hyphens, dashes, minus signs, bullets.
  ['\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u02D7\uFE58\uFE63\u2022\u2043', '-'],
  ['\u2026', '...'],
  ['\u2025', '..'],
  ['\u203C', '!!'],
  // Slashes and backslash look-alikes.
  ['\u2044\u2215\u29F8', '/'],
  ['\u2216\u29F5\u29F9\uFE68', '\\'],
  ['\u00BC', '1/4'],
  ['\u00BD', '1/2'],
  ['\u00BE', '3/4'],
  // Unicode spaces.
  ['\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u202F\u205F\u3000', ' '],
  ['\u2028\u2029', '\n'],
  // Invisible characters: soft hyphen, zero-width space/non-joiner/joiner, word joiner, BOM.
  ['\u00AD\u200B\u200C\u200D\u2060\uFEFF', ''],
];

const ZWNJ = 0x200c;
const ZWJ = 0x200d;

const SMART_ENCODING = new Map<number, string>();
for (let c = 0x21; c <= 0x7e; c++) {
  // Fullwidth forms; fullwidth grave accent becomes an apostrophe like the ASCII one.
  SMART_ENCODING.set(0xfee0 + c, c === 0x60 ? "'" : String.fromCharCode(c));
}
for (const [chars, replacement] of SMART_ENCODING_GROUPS) {
  for (let i = 0; i < chars.length; i++) SMART_ENCODING.set(chars.charCodeAt(i), replacement);
}

/**
 * True when a ZWJ/ZWNJ after this code unit is joining a script or an emoji sequence
 * (e.g. 👨‍👩‍👧, Persian text): such text stays UCS-2 anyway, so the joiner is kept.
 */
function joinerIsMeaningfulAfter(prev: number): boolean {
  return prev >= 0x0300 && septetsOf(prev) === 0 && !SMART_ENCODING.has(prev);
}

/**
 * Twilio-style Smart Encoding: replaces Unicode look-alikes (curly quotes, dashes, ellipsis,
 * Unicode spaces, fullwidth ASCII, …) with GSM-7 equivalents and drops invisible characters, in
 * one pass. Zero-width (non-)joiners inside emoji sequences or non-Latin script are kept.
 * Returns `body` itself when nothing changes.
 */
export function smartEncode(body: string): string {
  const n = body.length;
  let out = '';
  let start = 0;
  for (let i = 0; i < n; i++) {
    const c = body.charCodeAt(i);
    if (septetsOf(c) !== 0) continue;
    const replacement = SMART_ENCODING.get(c);
    if (replacement === undefined) continue;
    if ((c === ZWJ || c === ZWNJ) && i > 0 && joinerIsMeaningfulAfter(body.charCodeAt(i - 1))) continue;
    out += body.slice(start, i);
    out += replacement;
    start = i + 1;
  }
  return start === 0 ? body : out + body.slice(start);
}
