import { describe, expect, it } from 'vitest';

import {
  attemptCallId,
  attemptEventId,
  decideAfterEnd,
  DEFAULT_RETRY_ON,
  MAX_TRANSIENT_BACKOFF_MS,
  retryDelayMs,
  transientDelayMs,
  type RetryPolicy,
} from '../src/domain/attempts.js';

const policy: RetryPolicy = { maxAttempts: 3, backoffMs: 60_000, retryOn: DEFAULT_RETRY_ON };
const now = new Date('2030-01-01T00:00:00.000Z');

describe('campaign-scheduler - attempts', () => {
  it('derives one call id per idempotency key and attempt, the same every time', () => {
    const first = attemptCallId('order-42', 1);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(attemptCallId('order-42', 1)).toBe(first);
    expect(attemptCallId('order-42', 2)).not.toBe(first);
    expect(attemptCallId('order-43', 1)).not.toBe(first);
    expect(attemptEventId(first, 'created')).not.toBe(attemptEventId(first, 'ended'));
    expect(() => attemptCallId('order-42', 0)).toThrow(RangeError);
  });

  it('retries busy, no-answer and failed calls with a doubling backoff', () => {
    expect(decideAfterEnd('busy', 1, policy, now)).toEqual({
      status: 'pending',
      retryInMs: 60_000,
      nextAttemptAt: new Date('2030-01-01T00:01:00.000Z'),
    });
    expect(decideAfterEnd('no-answer', 2, policy, now)).toMatchObject({
      status: 'pending',
      retryInMs: 120_000,
    });
    expect(decideAfterEnd('failed', 1, policy, now)).toMatchObject({ status: 'pending' });
    expect(retryDelayMs(policy, 3)).toBe(240_000);
  });

  it('fails the request with the last outcome once the attempts are used up', () => {
    expect(decideAfterEnd('busy', 3, policy, now)).toEqual({
      status: 'failed',
      error: 'attempt 3 of 3 ended busy; no attempts left',
    });
    expect(decideAfterEnd('no-answer', 1, { ...policy, maxAttempts: 1 }, now)).toMatchObject({
      status: 'failed',
    });
  });

  it('completes on any end that reached the callee, and cancels on canceled', () => {
    for (const reason of [
      'completed',
      'caller-hangup',
      'agent-hangup',
      'transferred',
      'bridge_lost',
    ]) {
      expect(decideAfterEnd(reason, 1, policy, now)).toEqual({ status: 'completed' });
    }
    expect(decideAfterEnd('canceled', 1, policy, now)).toEqual({ status: 'canceled' });
  });

  it('backs off provider errors by doubling, capped at five minutes', () => {
    expect(transientDelayMs(2_000, 1)).toBe(2_000);
    expect(transientDelayMs(2_000, 3)).toBe(8_000);
    expect(transientDelayMs(2_000, 30)).toBe(MAX_TRANSIENT_BACKOFF_MS);
  });
});
