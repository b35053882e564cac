import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time as HH:MM (24-hour)');
const purpose = z.enum(['otp', 'transactional', 'conversational', 'marketing']);
const window = z.strictObject({ start: hhmm, end: hhmm });

/** Quiet hours: local times (of the recipient) when some purposes are not sent, only deferred. */
export const quietHoursSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Start and end in the recipient's local time; the window may cross midnight. */
    start: hhmm.default('21:00'),
    end: hhmm.default('08:00'),
    purposes: z.array(purpose).default(['marketing']),
    /** Per-country windows (ISO 3166 alpha-2), e.g. stricter local rules. */
    countries: z
      .record(z.string().regex(/^[A-Z]{2}$/, 'an upper-case ISO 3166 alpha-2 code'), window)
      .default({}),
  })
  .prefault({});

/** The validated quiet-hours section. */
export type QuietHours = z.infer<typeof quietHoursSchema>;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter for a zone: creating one costs tens of microseconds. */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in a zone. */
function wallClock(at: number, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return parts as { year: number; month: number; day: number; hour: number; minute: number; second: number };
}

/** The zone's offset from UTC at an instant (ms). */
function offsetAt(at: number, timeZone: string): number {
  const w = wallClock(at, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(at / 1000) * 1000;
}

/** The instant a local wall-clock time happens in a zone (the later one across a DST change). */
function instantOf(year: number, month: number, day: number, minutes: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day, 0, minutes);
  // Two passes settle the offset, also on the days the offset changes.
  let at = guess - offsetAt(guess, timeZone);
  at = guess - offsetAt(at, timeZone);
  return at;
}

const minutesOf = (hm: string) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));

/**
 * When `at` falls inside the recipient's quiet window, the instant the window ends
 * (DST-correct for the zone); null otherwise. A window whose start equals its end is empty.
 */
export function quietHoursEnd(
  at: number,
  timeZone: string,
  window: { start: string; end: string },
): number | null {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === end) return null;
  const w = wallClock(at, timeZone);
  const now = w.hour * 60 + w.minute;
  const crossesMidnight = start > end;
  const inside = crossesMidnight ? now >= start || now < end : now >= start && now < end;
  if (!inside) return null;
  // The end is today, unless the window crosses midnight and we are before midnight.
  const endsTomorrow = crossesMidnight && now >= start;
  const day = new Date(Date.UTC(w.year, w.month - 1, w.day + (endsTomorrow ? 1 : 0)));
  return instantOf(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), end, timeZone);
}
