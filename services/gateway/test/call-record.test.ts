import { describe, expect, it } from 'vitest';

import { isUuid, statusForEndReason, transcriptRole } from '../src/domain/call-record.js';

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
  });
  it('maps transcript roles and recognises UUIDs', () => {
    expect(transcriptRole('caller')).toBe('user');
    expect(transcriptRole('agent')).toBe('assistant');
    expect(isUuid('0b0f6a4e-9d3c-4f4e-8a61-3f2b5c1d7e90')).toBe(true);
    expect(isUuid('CA123')).toBe(false);
    expect(isUuid(undefined)).toBe(false);
  });
});
