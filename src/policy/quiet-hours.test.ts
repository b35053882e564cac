import { describe, expect, it } from 'vitest';
import { quietHoursEnd, quietHoursSchema } from './quiet-hours.ts';
import { timeZoneFor } from './recipient-time-zone.ts';

const NIGHT = { start: '21:00', end: '08:00' };

describe('quietHoursEnd', () => {
  it('defers 23:00 in New York to 08:00 the next morning, local time', () => {
    // 2026-11-28 23:00 EST = 2026-11-29 04:00 UTC
    expect(quietHoursEnd(Date.parse('2026-11-29T04:00:00Z'), 'America/New_York', NIGHT)).toBe(
      Date.parse('2026-11-29T13:00:00Z'),
    );
    // 02:30 local, after midnight: the same morning
    expect(quietHoursEnd(Date.parse('2026-11-29T07:30:00Z'), 'America/New_York', NIGHT)).toBe(
      Date.parse('2026-11-29T13:00:00Z'),
    );
  });

  it('is null outside the window and at its end', () => {
    expect(quietHoursEnd(Date.parse('2026-11-28T20:00:00Z'), 'America/New_York', NIGHT)).toBeNull(); // 15:00
    expect(quietHoursEnd(Date.parse('2026-11-29T13:00:00Z'), 'America/New_York', NIGHT)).toBeNull(); // 08:00
  });

  it('uses the recipient\u2019s zone: the same instant is quiet in Tokyo and not in London', () => {
    const at = Date.parse('2026-11-28T14:00:00Z'); // 23:00 in Tokyo, 14:00 in London
    expect(quietHoursEnd(at, 'Asia/Tokyo', NIGHT)).toBe(Date.parse('2026-11-28T23:00:00Z'));
    expect(quietHoursEnd(at, 'Europe/London', NIGHT)).toBeNull();
  });

  it('lands on the right instant on the nights the clocks change', () => {
    // Spring forward (2026-03-08): 08:00 EDT = 12:00 UTC; fall back (2026-11-01): 08:00 EST = 13:00 UTC.
    expect(quietHoursEnd(Date.parse('2026-03-08T06:00:00Z'), 'America/New_York', NIGHT)).toBe(
      Date.parse('2026-03-08T12:00:00Z'),
    );
    expect(quietHoursEnd(Date.parse('2026-11-01T05:30:00Z'), 'America/New_York', NIGHT)).toBe(
      Date.parse('2026-11-01T13:00:00Z'),
    );
  });

  it('handles a window within one day', () => {
    const lunch = { start: '12:00', end: '14:00' };
    expect(quietHoursEnd(Date.parse('2026-11-28T12:30:00Z'), 'UTC', lunch)).toBe(
      Date.parse('2026-11-28T14:00:00Z'),
    );
    expect(quietHoursEnd(Date.parse('2026-11-28T14:30:00Z'), 'UTC', lunch)).toBeNull();
  });

  it('refuses a malformed time at load', () => {
    expect(quietHoursSchema.safeParse({ start: '9pm' }).success).toBe(false);
    expect(quietHoursSchema.parse(undefined)).toMatchObject({
      enabled: true,
      start: '21:00',
      end: '08:00',
      purposes: ['marketing'],
    });
  });
});

describe('timeZoneFor', () => {
  it('uses the NANP area code and the most populous zone of multi-zone countries', () => {
    expect(timeZoneFor('+12125550123')).toBe('America/New_York');
    expect(timeZoneFor('+14155550123')).toBe('America/Los_Angeles');
    expect(timeZoneFor('+13125550123')).toBe('America/Chicago');
    expect(timeZoneFor('+18085550123')).toBe('Pacific/Honolulu');
    expect(timeZoneFor('+16045550123')).toBe('America/Vancouver');
    expect(timeZoneFor('+447400123456')).toBe('Europe/London');
    expect(timeZoneFor('+4915123456789')).toBe('Europe/Berlin');
    expect(timeZoneFor('+61412345678')).toBe('Australia/Sydney');
    expect(timeZoneFor('+79161234567')).toBe('Europe/Moscow');
    expect(timeZoneFor('+8613812345678')).toBe('Asia/Shanghai');
  });
});
