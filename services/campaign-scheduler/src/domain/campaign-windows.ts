/**
 * Calling windows of a campaign: local days and hours in which a call may start, in the
 * contact's IANA zone (or the campaign's). Pure: zone math with `Intl.DateTimeFormat`, so the
 * tz database of the runtime decides DST, and a window is wall-clock time on both sides of a
 * transition (09:00-17:00 stays 09:00-17:00 local on the day clocks change).
 */
import { z } from 'zod';

const HH_MM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** One window: ISO days (1 = Monday … 7 = Sunday), start inclusive, end exclusive, `HH:MM`. */
export const callingWindowSchema = z.object({
  days: z.array(z.number().int().min(1).max(7)).min(1),
  start: z.string().regex(HH_MM, 'expected HH:MM'),
  end: z.string().regex(HH_MM, 'expected HH:MM (24:00 = midnight)'),
});
export type CallingWindow = z.output<typeof callingWindowSchema>;

/** A campaign's `calling_windows`: an empty list means any time. */
export const callingWindowsSchema = z.array(callingWindowSchema);

/** Local wall-clock position of an instant in a zone. */
export interface LocalTime {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  readonly isoDay: number;
  /** Minutes since local midnight, 0..1439. */
  readonly minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    // Throws a RangeError for an unknown zone.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` is an IANA zone this runtime knows. */
export function isValidTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The local weekday and time of `at` in `zone`. @throws RangeError for an unknown zone */
export function localTime(zone: string, at: Date): LocalTime {
  let isoDay = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(at)) {
    if (part.type === 'weekday') isoDay = WEEKDAYS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { isoDay, minutes: hour * 60 + minute };
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** The day before an ISO day (Monday's is Sunday). */
function previousDay(isoDay: number): number {
  return isoDay === 1 ? 7 : isoDay - 1;
}

/**
 * Whether a call may start at `at` for a contact in `zone`. No windows: any time. A window whose
 * end is before its start runs overnight (22:00-02:00 on Friday covers Friday 22:00 to Saturday
 * 02:00); equal start and end cover the whole day.
 *
 * @throws RangeError for an unknown zone
 */
export function isInsideWindows(
  windows: readonly CallingWindow[],
  zone: string,
  at: Date,
): boolean {
  if (windows.length === 0) return true;
  const { isoDay, minutes } = localTime(zone, at);
  return windows.some((w) => {
    const start = toMinutes(w.start);
    const end = toMinutes(w.end);
    if (start === end) return w.days.includes(isoDay);
    if (start < end) return w.days.includes(isoDay) && minutes >= start && minutes < end;
    // Overnight: the evening part on a listed day, the morning part on the day after one.
    return (
      (w.days.includes(isoDay) && minutes >= start) ||
      (w.days.includes(previousDay(isoDay)) && minutes < end)
    );
  });
}

/**
 * The campaign's windows as stored (JSON). Null when they do not parse: the runner then starts
 * no call for the campaign (calling outside someone's hours is worse than not calling).
 */
export function parseCallingWindows(value: unknown): CallingWindow[] | null {
  const parsed = callingWindowsSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
