import { describe, expect, it } from 'vitest';

import { offerSipCall, type OfferAttempt } from '../src/domain/sip-offerer.js';

/**
 * A scripted bus and a manual clock: each attempt takes `takesMs` (at most its timeout) and
 * answers the next scripted reply; the last one repeats.
 */
function scripted(replies: OfferAttempt[], takesMs = 5) {
  let t = 0;
  const timeouts: number[] = [];
  const sleeps: number[] = [];
  return {
    timeouts,
    sleeps,
    elapsed: () => t,
    policy: {
      now: () => t,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        t += ms;
      },
      request: async (timeoutMs: number): Promise<OfferAttempt> => {
        timeouts.push(timeoutMs);
        const reply = replies[Math.min(timeouts.length - 1, replies.length - 1)] as OfferAttempt;
        // A timeout uses the whole time it was given.
        t += reply.status === 'timeout' ? timeoutMs : Math.min(takesMs, timeoutMs);
        return reply;
      },
    },
  };
}

describe('gateway - SIP offer policy', () => {
  it('returns the pod that accepted the first offer', async () => {
    const bus = scripted([{ status: 'accepted', pod: 'bridge-1' }]);
    expect(await offerSipCall({ ...bus.policy, deadlineMs: 2_000 })).toEqual({
      outcome: 'accepted',
      pod: 'bridge-1',
      attempts: 1,
    });
    // The first attempt may wait the whole deadline.
    expect(bus.timeouts).toEqual([2_000]);
  });

  it('offers again after a pause while pods are at capacity or draining, until one accepts', async () => {
    const bus = scripted([
      { status: 'rejected', reason: 'at-capacity' },
      { status: 'rejected', reason: 'draining' },
      { status: 'accepted', pod: 'bridge-3' },
    ]);
    const outcome = await offerSipCall({ ...bus.policy, deadlineMs: 2_000, retryPauseMs: 100 });
    expect(outcome).toEqual({ outcome: 'accepted', pod: 'bridge-3', attempts: 3 });
    expect(bus.sleeps).toEqual([100, 100]);
    // Each attempt waits at most for what is left of the deadline.
    expect(bus.timeouts).toEqual([2_000, 2_000 - 105, 2_000 - 210]);
  });

  it('gives up busy at the deadline when every pod stays full, never pausing past it', async () => {
    const bus = scripted([{ status: 'rejected', reason: 'at-capacity' }], 20);
    const outcome = await offerSipCall({ ...bus.policy, deadlineMs: 1_000, retryPauseMs: 100 });
    expect(outcome).toEqual({ outcome: 'busy', reason: 'at-capacity', attempts: 9 });
    expect(bus.elapsed()).toBe(1_000);
    // Attempt 9 ends at 980 ms: the last pause is cut to the 20 ms left.
    expect(bus.sleeps.at(-1)).toBe(20);
  });

  it('stops at once when no bridge subscribes (no responders)', async () => {
    const bus = scripted([{ status: 'no-responders' }]);
    expect(await offerSipCall({ ...bus.policy, deadlineMs: 2_000 })).toEqual({
      outcome: 'busy',
      reason: 'no-bridge',
      attempts: 1,
    });
    expect(bus.sleeps).toEqual([]);
  });

  it('counts a request timeout against the deadline: busy, reason timeout', async () => {
    const bus = scripted([{ status: 'timeout' }]);
    expect(await offerSipCall({ ...bus.policy, deadlineMs: 2_000 })).toEqual({
      outcome: 'busy',
      reason: 'timeout',
      attempts: 1,
    });
    expect(bus.elapsed()).toBe(2_000);
  });

  it('keeps at-capacity as the reason when the last attempt, in the time left, got no answer', async () => {
    const bus = scripted(
      [
        { status: 'rejected', reason: 'at-capacity' },
        { status: 'rejected', reason: 'at-capacity' },
        { status: 'timeout' },
      ],
      300,
    );
    const outcome = await offerSipCall({ ...bus.policy, deadlineMs: 1_000, retryPauseMs: 100 });
    expect(outcome).toEqual({ outcome: 'busy', reason: 'at-capacity', attempts: 3 });
    expect(bus.elapsed()).toBe(1_000);
  });

  it('does not retry a pod that took the offer and failed it: the bridge already tried', async () => {
    for (const reason of ['accept-failed', 'unknown-agent', 'internal', 'invalid-request']) {
      const bus = scripted([
        { status: 'rejected', reason },
        { status: 'accepted', pod: 'never' },
      ]);
      expect(await offerSipCall({ ...bus.policy, deadlineMs: 2_000 })).toEqual({
        outcome: 'failed',
        reason,
        attempts: 1,
      });
    }
  });

  it('a call a pod already owns (an earlier offer of it was taken) counts as accepted', async () => {
    const bus = scripted([{ status: 'rejected', reason: 'already-owned' }]);
    expect(await offerSipCall({ ...bus.policy, deadlineMs: 2_000 })).toMatchObject({
      outcome: 'accepted',
      attempts: 1,
    });
  });

  it('refuses a deadline that is not a positive number of ms', async () => {
    const bus = scripted([{ status: 'accepted', pod: 'p' }]);
    await expect(offerSipCall({ ...bus.policy, deadlineMs: 0 })).rejects.toThrow(RangeError);
    await expect(offerSipCall({ ...bus.policy, deadlineMs: Number.NaN })).rejects.toThrow(
      RangeError,
    );
  });
});
