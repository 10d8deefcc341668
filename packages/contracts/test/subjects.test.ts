import { describe, expect, it } from 'vitest';

import { createNames, NAMES } from '../src/subjects.js';

describe('subjects', () => {
  it('builds call event subjects with the id in a fixed position', () => {
    expect(NAMES.subjects.callEvent('CA123', 'ended')).toBe('calls.CA123.ended');
    expect(NAMES.subjects.callEventsOfType('ended')).toBe('calls.*.ended');
  });
  it('rejects tokens with wildcards, dots or whitespace', () => {
    for (const bad of ['a.b', '*', '>', 'a b', '']) {
      expect(() => NAMES.subjects.callEvent(bad, 'ended')).toThrow(TypeError);
    }
  });
  it('prefixes subjects, streams and buckets of a namespace', () => {
    const n = createNames('t42');
    expect(n.subjects.callEvent('c1', 'created')).toBe('t42.calls.c1.created');
    expect(n.streams.calls.name).toBe('T42_CALLS');
    expect(n.kv.callOwners.name).toBe('t42-call-owners');
    expect(n.kv.openaiWebhookIds.name).toBe('t42-openai-webhook-ids');
    expect(n.kv.dialerRateLimits.name).toBe('t42-dialer-rate-limits');
    expect(n.kv.toolRateLimits.name).toBe('t42-tool-rate-limits');
    expect(n.subjects.parseCallEvent('t42.calls.c1.created')).toEqual({
      callId: 'c1',
      event: 'created',
    });
  });
});
