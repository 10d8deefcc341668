import { describe, expect, it } from 'vitest';

import { isKnownTimeZone, localTime } from '../src/domain/local-time.js';

describe('localTime', () => {
  it('gives the local time with the offset in force that day (DST)', () => {
    const winter = localTime(new Date('2026-01-15T12:00:00Z'), 'Europe/Paris');
    const summer = localTime(new Date('2026-07-15T12:00:00Z'), 'Europe/Paris');

    expect(winter).toMatchObject({ iso: '2026-01-15T13:00:00+01:00', utcOffset: '+01:00' });
    expect(summer).toMatchObject({ iso: '2026-07-15T14:00:00+02:00', utcOffset: '+02:00' });
  });

  it('handles negative and half-hour offsets, and the date line', () => {
    expect(localTime(new Date('2026-03-01T03:30:00Z'), 'America/New_York').iso).toBe(
      '2026-02-28T22:30:00-05:00',
    );
    expect(localTime(new Date('2026-03-01T00:00:00Z'), 'Asia/Kolkata').iso).toBe(
      '2026-03-01T05:30:00+05:30',
    );
  });

  it('knows IANA zones and refuses others', () => {
    expect(isKnownTimeZone('America/Los_Angeles')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus')).toBe(false);
  });
});
