import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './list-query.ts';

describe('cursors', () => {
  it('round-trips a seq and refuses anything else', () => {
    expect(decodeCursor(encodeCursor(123_456))).toBe(123_456);
    expect(decodeCursor('')).toBeUndefined();
    expect(decodeCursor(Buffer.from('-1').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('99999999999999999').toString('base64url'))).toBeUndefined();
  });
});
