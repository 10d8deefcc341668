import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { LiveCalls, type LiveCall } from '../src/domain/live-calls.js';

function fakeCall(callId: string, ended: string[]): LiveCall {
  return {
    callId,
    end: async (reason) => {
      ended.push(`${callId}:${reason}`);
    },
  };
}

describe('call-bridge - live calls', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('refuses calls beyond the limit and a duplicate call id', () => {
    const calls = new LiveCalls(2);
    const ended: string[] = [];
    expect(calls.tryAdd(fakeCall('a', ended))).toBe(true);
    expect(calls.tryAdd(fakeCall('a', ended))).toBe(false);
    expect(calls.tryAdd(fakeCall('b', ended))).toBe(true);
    expect(calls.canAccept).toBe(false);
    expect(calls.tryAdd(fakeCall('c', ended))).toBe(false);
    expect(calls.size).toBe(2);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new LiveCalls(0)).toThrow(RangeError);
    expect(() => new LiveCalls(1.5)).toThrow(RangeError);
  });

  it('drains: stops accepting, waits for calls that finish, ends the rest at the deadline', async () => {
    const calls = new LiveCalls(10);
    const ended: string[] = [];
    calls.tryAdd(fakeCall('short', ended));
    calls.tryAdd(fakeCall('long', ended));
    const drained = calls.drain(60_000);
    expect(calls.canAccept).toBe(false);
    expect(calls.tryAdd(fakeCall('late', ended))).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    calls.remove('short');
    await vi.advanceTimersByTimeAsync(50_000);
    await expect(drained).resolves.toEqual({ finished: 1, forced: 1 });
    expect(ended).toEqual(['long:drain_timeout']);
    expect(calls.size).toBe(0);
  });

  it('finishes the drain as soon as the last call ends', async () => {
    const calls = new LiveCalls(10);
    const ended: string[] = [];
    calls.tryAdd(fakeCall('a', ended));
    let done = false;
    const drained = calls.drain(60_000).then((r) => {
      done = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    calls.remove('a');
    await expect(drained).resolves.toEqual({ finished: 1, forced: 0 });
    expect(ended).toEqual([]);
  });

  it('drains at once when no call is live', async () => {
    const calls = new LiveCalls(1);
    await expect(calls.drain(60_000)).resolves.toEqual({ finished: 0, forced: 0 });
  });
});
