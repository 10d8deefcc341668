import { describe, expect, it } from 'vitest';

import {
  attemptCallId,
  attemptEventId,
  decideAfterEnd,
  DEFAULT_RETRY_ON,
  MAX_RETRY_DELAY_MS,
  MAX_TRANSIENT_BACKOFF_MS,
  policyFor,
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

describe('campaign-scheduler - a request’s own retry policy', () => {
  const defaults: RetryPolicy = { maxAttempts: 3, backoffMs: 1_000, retryOn: DEFAULT_RETRY_ON };

  it('takes each field the request’s policy sets, the defaults for the rest', () => {
    expect(policyFor(defaults, null)).toBe(defaults);
    expect(policyFor(defaults, {})).toEqual(defaults);
    const own = policyFor(defaults, { maxAttempts: 5, backoffMultiplier: 3, retryOn: ['busy'] });
    expect(own).toEqual({
      maxAttempts: 5,
      backoffMs: 1_000,
      backoffMultiplier: 3,
      retryOn: new Set(['busy']),
    });
  });

  it('grows the backoff by the policy’s multiplier (1: constant), capped at a week', () => {
    const tripling = { ...defaults, backoffMultiplier: 3 };
    expect([1, 2, 3].map((n) => retryDelayMs(tripling, n))).toEqual([1_000, 3_000, 9_000]);
    const constant = { ...defaults, backoffMultiplier: 1 };
    expect([1, 2, 3].map((n) => retryDelayMs(constant, n))).toEqual([1_000, 1_000, 1_000]);
    const huge = { ...defaults, backoffMs: 7 * 86_400_000, backoffMultiplier: 10 };
    expect(retryDelayMs(huge, 5)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('retries only the end reasons the policy names; fails an unreached callee it does not retry', () => {
    const busyOnly = policyFor(defaults, { retryOn: ['busy'] });
    expect(decideAfterEnd('busy', 1, busyOnly, now)).toMatchObject({ status: 'pending' });
    expect(decideAfterEnd('no-answer', 1, busyOnly, now)).toEqual({
      status: 'failed',
      error: 'attempt 1 ended no-answer; the retry policy does not retry no-answer',
    });
    expect(decideAfterEnd('completed', 1, busyOnly, now)).toEqual({ status: 'completed' });
    // A policy may opt in to retrying a call that broke on our side.
    const lost = policyFor(defaults, { retryOn: ['bridge_lost'] });
    expect(decideAfterEnd('bridge_lost', 1, lost, now)).toMatchObject({ status: 'pending' });
  });
});
