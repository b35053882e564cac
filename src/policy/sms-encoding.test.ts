import { describe, expect, it } from 'vitest';
import { analyzeSms, isGsm7, MAX_BODY_CHARS, smartEncode } from './sms-encoding.ts';

const EMOJI = '\u{1F600}'; // 😀, a surrogate pair
const CYRILLIC = 'ж'; // outside GSM-7, one UTF-16 code unit

describe('isGsm7', () => {
  it('accepts exactly the 127 basic and 10 extension characters of GSM 03.38', () => {
    let count = 0;
    for (let c = 0; c <= 0xffff; c++) if (isGsm7(String.fromCharCode(c))) count++;
    expect(count).toBe(137);
  });

  it('accepts text using basic, Greek and extension characters', () => {
    expect(isGsm7('Hello @ £5 ΔΩ {x} [y] ~ | \\ ^ € é ñ Ç\n')).toBe(true);
  });

  it('treats the empty string as GSM-7', () => {
    expect(isGsm7('')).toBe(true);
  });

  it('rejects curly quotes, emoji and non-Latin letters', () => {
    expect(isGsm7('don’t')).toBe(false);
    expect(isGsm7(`hi ${EMOJI}`)).toBe(false);
    expect(isGsm7(CYRILLIC)).toBe(false);
    expect(isGsm7('`')).toBe(false);
  });
});

describe('analyzeSms: GSM-7', () => {
  it('counts an empty body as one segment of zero units', () => {
    expect(analyzeSms('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 1, charsPerSegment: 160 });
  });

  it('fits 160 GSM-7 characters in a single segment', () => {
    expect(analyzeSms('a'.repeat(160))).toEqual({
      encoding: 'GSM-7',
      units: 160,
      segments: 1,
      charsPerSegment: 160,
    });
  });

  it('counts 161 GSM-7 characters as two segments of 153', () => {
    expect(analyzeSms('a'.repeat(161))).toEqual({
      encoding: 'GSM-7',
      units: 161,
      segments: 2,
      charsPerSegment: 153,
    });
  });

  it('counts 306 GSM-7 characters as two segments and 307 as three', () => {
    expect(analyzeSms('a'.repeat(306)).segments).toBe(2);
    expect(analyzeSms('a'.repeat(307)).segments).toBe(3);
  });

  it('counts each extension character as two septets', () => {
    for (const ch of ['^', '{', '}', '\\', '[', ']', '~', '|', '€', '\f']) {
      expect(analyzeSms(ch)).toMatchObject({ encoding: 'GSM-7', units: 2 });
    }
  });

  it('fits 80 euro signs in one segment but needs two for 81', () => {
    expect(analyzeSms('€'.repeat(80))).toMatchObject({ units: 160, segments: 1 });
    expect(analyzeSms('€'.repeat(81))).toMatchObject({ units: 162, segments: 2, charsPerSegment: 153 });
  });

  it('moves an extension character that would straddle a segment boundary into the next segment', () => {
    // 152 + 2 + 152 = 306 septets = 2 × 153, but the € cannot be split after septet 152.
    const body = `${'a'.repeat(152)}€${'b'.repeat(152)}`;
    expect(analyzeSms(body)).toMatchObject({ encoding: 'GSM-7', units: 306, segments: 3 });
    // One septet earlier the € ends segment one exactly, so two segments suffice.
    expect(analyzeSms(`${'a'.repeat(151)}€${'b'.repeat(153)}`).segments).toBe(2);
  });
});

describe('analyzeSms: UCS-2', () => {
  it('switches the whole message to UCS-2 when one emoji is present, counting it as two units', () => {
    expect(analyzeSms(`Hello ${EMOJI}`)).toEqual({
      encoding: 'UCS-2',
      units: 8,
      segments: 1,
      charsPerSegment: 70,
    });
  });

  it('turns a single-segment GSM-7 message into three UCS-2 segments when one emoji is added', () => {
    const body = 'a'.repeat(150);
    expect(analyzeSms(body).segments).toBe(1);
    expect(analyzeSms(body + EMOJI)).toMatchObject({ encoding: 'UCS-2', units: 152, segments: 3 });
  });

  it('fits 70 UCS-2 code units in a single segment', () => {
    expect(analyzeSms(CYRILLIC.repeat(70))).toEqual({
      encoding: 'UCS-2',
      units: 70,
      segments: 1,
      charsPerSegment: 70,
    });
  });

  it('counts 71 UCS-2 code units as two segments of 67', () => {
    expect(analyzeSms(CYRILLIC.repeat(71))).toEqual({
      encoding: 'UCS-2',
      units: 71,
      segments: 2,
      charsPerSegment: 67,
    });
  });

  it('does not split a surrogate pair across a segment boundary', () => {
    // 66 + 2 + 66 = 134 units = 2 × 67, but the emoji cannot be split after unit 66.
    expect(analyzeSms(`${CYRILLIC.repeat(66)}${EMOJI}${CYRILLIC.repeat(66)}`)).toMatchObject({
      units: 134,
      segments: 3,
    });
    expect(analyzeSms(`${CYRILLIC.repeat(65)}${EMOJI}${CYRILLIC.repeat(67)}`).segments).toBe(2);
  });

  it('packs only 33 emoji into each concatenated segment', () => {
    expect(analyzeSms(EMOJI.repeat(35))).toMatchObject({ units: 70, segments: 1 });
    expect(analyzeSms(EMOJI.repeat(36))).toMatchObject({ units: 72, segments: 2 });
    expect(analyzeSms(EMOJI.repeat(66)).segments).toBe(2);
    expect(analyzeSms(EMOJI.repeat(67)).segments).toBe(3);
  });

  it('counts a lone surrogate as one unit', () => {
    expect(analyzeSms('\uD83D')).toMatchObject({ encoding: 'UCS-2', units: 1, segments: 1 });
  });
});

describe('MAX_BODY_CHARS', () => {
  it('is the 1600-character limit of Twilio error 21617', () => {
    expect(MAX_BODY_CHARS).toBe(1600);
  });

  it('allows at most 11 GSM-7 segments for a body at the limit', () => {
    expect(analyzeSms('a'.repeat(MAX_BODY_CHARS))).toMatchObject({ units: 1600, segments: 11 });
  });

  it('allows at most 24 UCS-2 segments for a body at the limit', () => {
    expect(analyzeSms(CYRILLIC.repeat(MAX_BODY_CHARS))).toMatchObject({ units: 1600, segments: 24 });
  });

  it('measures emoji against the limit in UTF-16 code units', () => {
    const body = EMOJI.repeat(800);
    expect(body.length).toBe(MAX_BODY_CHARS);
    expect(analyzeSms(body)).toMatchObject({ units: 1600, segments: 25 });
    expect((body + EMOJI).length).toBeGreaterThan(MAX_BODY_CHARS);
  });
});

describe('smartEncode', () => {
  it('turns a curly-quote message back into GSM-7 with fewer segments', () => {
    const body = `“Don’t forget” – your appointment is tomorrow at 9…${' Reply C to confirm.'.repeat(3)}`;
    const before = analyzeSms(body);
    const encoded = smartEncode(body);
    const after = analyzeSms(encoded);
    expect(encoded).toBe(
      `"Don't forget" - your appointment is tomorrow at 9...${' Reply C to confirm.'.repeat(3)}`,
    );
    expect(before).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(after).toMatchObject({ encoding: 'GSM-7', segments: 1 });
  });

  it('replaces quotes, dashes, ellipsis and bullets with GSM-7 equivalents', () => {
    expect(smartEncode('‘a’ ‚b‛ “c” „d‟ 5′ 6″')).toBe('\'a\' \'b\' "c" "d" 5\' 6"');
    expect(smartEncode('a–b—c‒d―e−f‐g‑h')).toBe('a-b-c-d-e-f-g-h');
    expect(smartEncode('wait…')).toBe('wait...');
    expect(smartEncode('• one • two')).toBe('- one - two');
  });

  it('maps « » to double quotes and ‹ › to angle brackets', () => {
    expect(smartEncode('«oui» ‹non›')).toBe('"oui" <non>');
  });

  it('replaces Unicode spaces with a plain space', () => {
    const spaces =
      '\u00A0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u202F\u205F\u3000';
    expect(smartEncode(`a${spaces}b`)).toBe(`a${' '.repeat(spaces.length)}b`);
  });

  it('removes zero-width characters, the BOM and soft hyphens', () => {
    expect(smartEncode('\uFEFFzero\u200Bwidth\u200C\u200Djoin\u00ADed')).toBe('zerowidthjoined');
  });

  it('keeps zero-width joiners inside emoji sequences', () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
    expect(smartEncode(`${family}’s trip`)).toBe(`${family}'s trip`);
  });

  it('replaces fraction slash, fractions and fullwidth ASCII', () => {
    expect(smartEncode('1⁄2 ½ ＡＢＣ１２３！')).toBe('1/2 1/2 ABC123!');
  });

  it('returns the same string when nothing needs replacing', () => {
    const body = 'Plain GSM-7 text with € and {braces}';
    expect(smartEncode(body)).toBe(body);
    expect(smartEncode('')).toBe('');
    expect(smartEncode('привет')).toBe('привет');
  });

  it('never changes a GSM-7 character and only ever produces GSM-7 replacements', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      const encoded = smartEncode(ch);
      if (isGsm7(ch)) expect(encoded).toBe(ch);
      else if (encoded !== ch) expect(isGsm7(encoded)).toBe(true);
    }
  });

  it('is idempotent', () => {
    for (const body of ['“a” – b…', `${EMOJI}\u200D\u200D${EMOJI}`, 'x\u00AD\u200Dy', 'ж\u00A0\u200Dж']) {
      const once = smartEncode(body);
      expect(smartEncode(once)).toBe(once);
    }
  });
});
