import { describe, expect, it } from 'vitest';
import { IsoTimes } from './message-resource.ts';

describe('IsoTimes', () => {
  it('formats each time as ISO 8601, the remembered one included, and null as null', () => {
    const times = new IsoTimes();
    const t = Date.UTC(2026, 10, 29, 7, 30, 0, 123);
    expect(times.format(t)).toBe('2026-11-29T07:30:00.123Z');
    expect(times.format(t)).toBe('2026-11-29T07:30:00.123Z');
    expect(times.format(t + 1)).toBe('2026-11-29T07:30:00.124Z');
    expect(times.format(t)).toBe('2026-11-29T07:30:00.123Z');
    expect(times.formatOrNull(null)).toBeNull();
    expect(times.formatOrNull(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
