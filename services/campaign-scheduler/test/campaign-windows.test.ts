import { describe, expect, it } from 'vitest';

import {
  isInsideWindows,
  isValidTimeZone,
  localTime,
  parseCallingWindows,
  type CallingWindow,
} from '../src/domain/campaign-windows.js';

const WEEKDAYS_9_TO_17: CallingWindow[] = [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' }];

describe('campaign-scheduler - calling windows', () => {
  it('reads the local weekday and time of an instant in a zone', () => {
    // Monday 2026-11-30 12:30 UTC.
    const at = new Date('2026-11-30T12:30:00Z');
    expect(localTime('UTC', at)).toEqual({ isoDay: 1, minutes: 12 * 60 + 30 });
    expect(localTime('America/New_York', at)).toEqual({ isoDay: 1, minutes: 7 * 60 + 30 });
    // Already Tuesday 01:30 in Auckland (UTC+13 in summer).
    expect(localTime('Pacific/Auckland', at)).toEqual({ isoDay: 2, minutes: 90 });
    // Midnight is 0, never 24.
    expect(localTime('UTC', new Date('2026-11-30T00:00:00Z'))).toEqual({ isoDay: 1, minutes: 0 });
  });

  it('takes the contact zone: the same instant is inside for one contact and outside for another', () => {
    // Monday 14:00 UTC: 09:00 in New York (inside), 06:00 in Los Angeles (outside).
    const at = new Date('2026-11-30T14:00:00Z');
    expect(isInsideWindows(WEEKDAYS_9_TO_17, 'America/New_York', at)).toBe(true);
    expect(isInsideWindows(WEEKDAYS_9_TO_17, 'America/Los_Angeles', at)).toBe(false);
  });

  it('treats the start as inclusive and the end as exclusive', () => {
    const w = WEEKDAYS_9_TO_17;
    expect(isInsideWindows(w, 'UTC', new Date('2026-11-30T08:59:00Z'))).toBe(false);
    expect(isInsideWindows(w, 'UTC', new Date('2026-11-30T09:00:00Z'))).toBe(true);
    expect(isInsideWindows(w, 'UTC', new Date('2026-11-30T16:59:00Z'))).toBe(true);
    expect(isInsideWindows(w, 'UTC', new Date('2026-11-30T17:00:00Z'))).toBe(false);
  });

  it('follows the local day across a day boundary: Friday in UTC is Saturday in Tokyo', () => {
    // Friday 2026-12-04 20:00 UTC = Saturday 05:00 in Tokyo.
    const at = new Date('2026-12-04T20:00:00Z');
    const anyHourWeekdays: CallingWindow[] = [
      { days: [1, 2, 3, 4, 5], start: '00:00', end: '24:00' },
    ];
    expect(isInsideWindows(anyHourWeekdays, 'UTC', at)).toBe(true);
    expect(isInsideWindows(anyHourWeekdays, 'Asia/Tokyo', at)).toBe(false);
  });

  it('keeps wall-clock hours across the spring-forward DST change', () => {
    // New York, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    const sundayMorning: CallingWindow[] = [{ days: [7], start: '09:00', end: '10:00' }];
    // 13:30 UTC = 09:30 EDT (it would be 08:30 under EST).
    expect(
      isInsideWindows(sundayMorning, 'America/New_York', new Date('2026-03-08T13:30:00Z')),
    ).toBe(true);
    // 14:30 UTC = 10:30 EDT: outside, though it was inside a day earlier under EST.
    expect(
      isInsideWindows(sundayMorning, 'America/New_York', new Date('2026-03-08T14:30:00Z')),
    ).toBe(false);
    expect(localTime('America/New_York', new Date('2026-03-08T06:59:00Z')).minutes).toBe(60 + 59);
    expect(localTime('America/New_York', new Date('2026-03-08T07:00:00Z')).minutes).toBe(3 * 60);
  });

  it('keeps wall-clock hours across the fall-back DST change (the repeated hour is inside twice)', () => {
    // New York, Sunday 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC).
    const oneToTwo: CallingWindow[] = [{ days: [7], start: '01:00', end: '02:00' }];
    const zone = 'America/New_York';
    expect(isInsideWindows(oneToTwo, zone, new Date('2026-11-01T05:30:00Z'))).toBe(true); // 01:30 EDT
    expect(isInsideWindows(oneToTwo, zone, new Date('2026-11-01T06:30:00Z'))).toBe(true); // 01:30 EST
    expect(isInsideWindows(oneToTwo, zone, new Date('2026-11-01T07:30:00Z'))).toBe(false); // 02:30 EST
  });

  it('runs an overnight window into the next day', () => {
    // Friday 22:00 to Saturday 02:00.
    const fridayNight: CallingWindow[] = [{ days: [5], start: '22:00', end: '02:00' }];
    expect(isInsideWindows(fridayNight, 'UTC', new Date('2026-12-04T23:00:00Z'))).toBe(true); // Fri
    expect(isInsideWindows(fridayNight, 'UTC', new Date('2026-12-05T01:59:00Z'))).toBe(true); // Sat
    expect(isInsideWindows(fridayNight, 'UTC', new Date('2026-12-05T02:00:00Z'))).toBe(false);
    expect(isInsideWindows(fridayNight, 'UTC', new Date('2026-12-04T01:00:00Z'))).toBe(false); // Fri early
  });

  it('allows any time without windows', () => {
    expect(isInsideWindows([], 'Asia/Tokyo', new Date())).toBe(true);
  });

  it('parses stored windows and refuses malformed ones', () => {
    expect(parseCallingWindows([{ days: [1], start: '09:00', end: '17:30' }])).toEqual([
      { days: [1], start: '09:00', end: '17:30' },
    ]);
    expect(parseCallingWindows([{ days: [0], start: '09:00', end: '17:00' }])).toBeNull();
    expect(parseCallingWindows([{ days: [1], start: '9am', end: '17:00' }])).toBeNull();
    expect(parseCallingWindows({})).toBeNull();
  });

  it('knows valid zones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(() => localTime('Mars/Olympus', new Date())).toThrow(RangeError);
  });
});
