import { describe, expect, it } from 'vitest';

import { ContactBatch, readContact } from '../src/domain/campaign-contacts.js';
import { isTimeZone, readCampaignBody, scheduleIssues } from '../src/domain/campaign-input.js';
import {
  campaignProgress,
  eventCounts,
  type ContactTally,
} from '../src/domain/campaign-progress.js';

describe('gateway - campaign input', () => {
  it('knows IANA zones through Intl and refuses the rest', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('reads an update with only the fields sent, normalising numbers and window days', () => {
    const read = readCampaignBody(
      {
        fromNumbers: ['+1 555 555 0100', '+15555550100'],
        callingWindows: [{ days: [5, 1, 1], start: '08:00', end: '12:00' }],
      },
      true,
    );
    expect(read).toEqual({
      ok: true,
      fields: {
        fromNumbers: ['+15555550100'],
        callingWindows: [{ days: [1, 5], start: '08:00', end: '12:00' }],
      },
    });
  });

  it('refuses a body that is not an object and reports every field at once', () => {
    expect(readCampaignBody([], false)).toMatchObject({ ok: false, issues: [{ field: 'body' }] });
    const read = readCampaignBody(
      { name: 'x', agentId: 'a', timezone: 'Nope', fromNumbers: ['1'] },
      false,
    );
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.issues.map((i) => i.field)).toEqual(['fromNumbers.0', 'timezone']);
  });

  it('wants endAt after startAt', () => {
    const startAt = new Date('2026-12-02T00:00:00Z');
    expect(scheduleIssues({ startAt, endAt: startAt })).toHaveLength(1);
    expect(scheduleIssues({ startAt, endAt: null })).toEqual([]);
  });
});

describe('gateway - campaign contacts', () => {
  it('refuses an empty or unparseable phone, naming the row and field', () => {
    expect(readContact(3, { phone: ' ' })).toMatchObject({
      ok: false,
      rejected: { row: 3, field: 'phone' },
    });
    expect(readContact(4, { phone: '0612345678' })).toMatchObject({
      ok: false,
      rejected: { row: 4, field: 'phone', message: expect.stringMatching(/international/) },
    });
    expect(readContact(5, { phone: '+14155550123', name: 7 })).toMatchObject({
      ok: false,
      rejected: { field: 'name' },
    });
  });

  it('merges rows with the same phone: later name and variables win, empty cells say nothing', () => {
    const batch = new ContactBatch();
    const first = readContact(1, {
      phone: '+14155550123',
      name: 'Ada',
      variables: { a: '1', b: '2' },
    });
    const second = readContact(2, {
      phone: '+1 415 555 0123',
      name: '',
      variables: { b: '3', c: '' },
    });
    if (!first.ok || !second.ok) throw new Error('rows refused');
    expect(batch.add(first.contact)).toBe(false);
    expect(batch.add(second.contact)).toBe(true);
    expect(batch.take()).toEqual([
      {
        phone: '+14155550123',
        name: 'Ada',
        timezone: null,
        // +1 415 is San Francisco: one zone.
        derivedTimezone: 'America/Los_Angeles',
        maxAttempts: null,
        variables: { a: '1', b: '3' },
      },
    ]);
    expect(batch.size).toBe(0);
  });
});

describe('gateway - campaign progress', () => {
  const tally: ContactTally = {
    byStatus: { pending: 5, dialing: 2, completed: 3, failed: 1, skipped: 1, canceled: 0 },
    attempts: 9,
    dialed: 6,
  };

  it('estimates completion from the pending contacts at callsPerMinute, only while running', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(campaignProgress(tally, { status: 'running', callsPerMinute: 2 }, now)).toEqual({
      total: 12,
      byStatus: tally.byStatus,
      attempts: 9,
      live: 2,
      remaining: 7,
      estimatedCompletionAt: '2026-12-01T10:03:00.000Z',
    });
    expect(
      campaignProgress(tally, { status: 'paused', callsPerMinute: 2 }, now).estimatedCompletionAt,
    ).toBeNull();
  });

  it('gives the event counts', () => {
    expect(eventCounts(tally)).toEqual({
      total: 12,
      dialed: 6,
      completed: 3,
      failed: 1,
      remaining: 7,
      live: 2,
      skipped: 1,
    });
  });
});
