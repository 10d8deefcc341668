import { describe, expect, it } from 'vitest';

import { nextSlot } from '../src/domain/campaign-pacing.js';

const at = (ms: number) => new Date(ms);

describe('campaign-scheduler - campaign pacing', () => {
  it('puts the first start of an idle campaign half an interval to one interval apart', () => {
    // 60 calls a minute: one a second.
    expect(nextSlot(null, at(10_000), 60).getTime()).toBe(11_000);
  });

  it('keeps to the grid when a start is a little late, so the pace does not drift', () => {
    // Slot at 10 000, started 200 ms late: the next is still 11 000.
    expect(nextSlot(at(10_000), at(10_200), 60).getTime()).toBe(11_000);
  });

  it('catches up by at most half an interval after a long idle time', () => {
    expect(nextSlot(at(10_000), at(50_000), 60).getTime()).toBe(50_500);
  });

  it('never allows more than callsPerMinute + 1 starts in a minute, however late each is', () => {
    let slot: Date | null = null;
    let now = 0;
    const starts: number[] = [];
    for (let i = 0; i < 200; i++) {
      starts.push(now);
      slot = nextSlot(slot, at(now), 30);
      // Start at the slot, or up to 1.5 s late.
      now = slot.getTime() + ((i * 7919) % 1_500);
    }
    for (const s of starts) {
      expect(starts.filter((t) => t >= s && t < s + 60_000).length).toBeLessThanOrEqual(31);
    }
  });

  it('treats a pace below one a minute as one a minute', () => {
    expect(nextSlot(null, at(0), 0).getTime()).toBe(60_000);
  });
});
