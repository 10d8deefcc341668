import { describe, expect, it } from 'vitest';

import { bridgeOwnsEnd, endReasonForStatus } from '../src/domain/twilio-status.js';

describe('gateway - Twilio status rules', () => {
  it('ends a call on a final status only', () => {
    expect(endReasonForStatus('completed')).toBe('completed');
    expect(endReasonForStatus('no-answer')).toBe('no-answer');
    expect(endReasonForStatus('in-progress')).toBeNull();
    expect(endReasonForStatus('ringing')).toBeNull();
  });
  it('leaves the end to the bridge only for an answered Media Streams call', () => {
    const answeredAt = new Date(0);
    expect(bridgeOwnsEnd({ transport: 'media_streams', answeredAt })).toBe(true);
    expect(bridgeOwnsEnd({ transport: 'media_streams', answeredAt: null })).toBe(false);
    expect(bridgeOwnsEnd({ transport: 'sip', answeredAt })).toBe(false);
    expect(bridgeOwnsEnd({ transport: null, answeredAt })).toBe(false);
  });
});
