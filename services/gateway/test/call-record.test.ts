import { describe, expect, it } from 'vitest';

import { isUuid, msColumn, statusForEndReason, transcriptRole } from '../src/domain/call-record.js';

describe('gateway - call record rules', () => {
  it('maps end reasons to final statuses', () => {
    expect(statusForEndReason('caller-hangup')).toBe('completed');
    expect(statusForEndReason('transferred')).toBe('completed');
    expect(statusForEndReason('busy')).toBe('busy');
    expect(statusForEndReason('rejected')).toBe('busy');
    expect(statusForEndReason('no-answer')).toBe('no_answer');
    expect(statusForEndReason('canceled')).toBe('canceled');
    expect(statusForEndReason('bridge_lost')).toBe('failed');
    expect(statusForEndReason('error')).toBe('failed');
    // The voice provider failed mid-call: the caller only heard an apology.
    expect(statusForEndReason('provider-error')).toBe('failed');
  });
  it('rounds durations for the integer columns and drops what PostgreSQL would refuse', () => {
    expect(msColumn(61_234.6)).toBe(61_235);
    expect(msColumn(0)).toBe(0);
    expect(msColumn(2_147_483_647)).toBe(2_147_483_647);
    expect(msColumn(undefined)).toBeUndefined();
    expect(msColumn(2_147_483_648)).toBeUndefined();
    expect(msColumn(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(msColumn(-1)).toBeUndefined();
  });
  it('maps transcript roles and recognises UUIDs', () => {
    expect(transcriptRole('caller')).toBe('user');
    expect(transcriptRole('agent')).toBe('assistant');
    expect(isUuid('0b0f6a4e-9d3c-4f4e-8a61-3f2b5c1d7e90')).toBe(true);
    expect(isUuid('CA123')).toBe(false);
    expect(isUuid(undefined)).toBe(false);
  });
});
