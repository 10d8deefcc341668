/**
 * A moment as a person in a time zone reads it, for get_time: ISO 8601 with that zone's offset
 * (`2026-11-30T14:05:00+01:00`) and a spoken-style line (`Monday, 30 November 2026, 14:05`).
 */

/** Whether the runtime knows `zone` as an IANA time zone. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function offsetMinutes(at: Date, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return Math.round((asUtc - Math.floor(at.getTime() / 1_000) * 1_000) / 60_000);
}

export interface LocalTime {
  readonly timeZone: string;
  /** ISO 8601 local time with the zone's offset, to the second. */
  readonly iso: string;
  /** E.g. `Monday, 30 November 2026, 14:05`. */
  readonly spoken: string;
  /** Offset from UTC, e.g. `+01:00`. */
  readonly utcOffset: string;
}

export function localTime(at: Date, zone: string): LocalTime {
  const offset = offsetMinutes(at, zone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const utcOffset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const local = new Date(Math.floor(at.getTime() / 1_000) * 1_000 + offset * 60_000);
  const iso = `${local.toISOString().slice(0, 19)}${utcOffset}`;
  const spoken = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(at);
  return { timeZone: zone, iso, spoken, utcOffset };
}
