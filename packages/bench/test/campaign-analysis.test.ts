import { describe, expect, it } from 'vitest';

import {
  dialsOf,
  maxInWindow,
  maxOverlap,
  paceOf,
  type LoggedCall,
} from '../src/campaign/campaign-analysis.js';

const call = (
  to: string,
  createdMs: number,
  endMs: number | null = createdMs + 500,
): LoggedCall => ({
  to,
  createdMs,
  endMs,
  status: endMs === null ? 'in-progress' : 'completed',
});

describe('campaign bench analysis', () => {
  it('measures the pace from the first to the last start', () => {
    // 11 calls 50 ms apart: 1 200 a minute.
    const calls = Array.from({ length: 11 }, (_, i) => call(`+1${i}`, 1_000 + i * 50));
    const pace = paceOf(calls);
    expect(pace).toMatchObject({ calls: 11, spanMs: 500, meanGapMs: 50, busiestSecond: 11 });
    expect(pace.perMinute).toBeCloseTo(1_200, 6);
  });

  it('has no pace for a single call', () => {
    expect(paceOf([call('+1', 0)])).toMatchObject({ calls: 1, perMinute: null, meanGapMs: null });
  });

  it('finds the busiest window, its start inclusive and its end exclusive', () => {
    expect(maxInWindow([0, 100, 999, 1_000, 1_100, 2_500], 1_000)).toBe(3);
    expect(maxInWindow([0, 100, 999, 1_000, 1_099], 1_000)).toBe(4);
    expect(maxInWindow([], 1_000)).toBe(0);
  });

  it('counts calls live at once; one ending as another starts does not overlap, a live one does', () => {
    expect(maxOverlap([call('a', 0, 100), call('b', 100, 200), call('c', 150, 300)])).toBe(2);
    expect(maxOverlap([call('a', 0, null), call('b', 1_000, 1_100), call('c', 2_000, 2_100)])).toBe(
      2,
    );
  });

  it('tells contacts dialed once, twice and never, and calls to strangers', () => {
    const calls = [
      call('+1a', 0),
      call('+1b', 10),
      call('+1b', 20),
      call('+1b', 30),
      call('+1x', 40),
    ];
    expect(dialsOf(calls, ['+1a', '+1b', '+1c'])).toEqual({
      contacts: 3,
      dialedOnce: 1,
      dialedTwiceOrMore: 1,
      extraCalls: 2,
      lost: 1,
      strangers: 1,
    });
  });
});
