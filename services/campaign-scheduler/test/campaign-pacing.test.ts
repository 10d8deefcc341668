import { describe, expect, it } from 'vitest';

import { afterSlots, CATCH_UP_MS, dueSlots } from '../src/domain/campaign-pacing.js';

const at = (ms: number) => new Date(ms);

/** The next slot after taking every due slot at `now`. */
function take(slot: Date | null, now: number, perMinute: number): { due: number; next: Date } {
  const slots = dueSlots(slot, at(now), perMinute);
  if (!slots) throw new Error('nothing due');
  return { due: slots.due, next: afterSlots(slots, slots.due) };
}

describe('campaign-scheduler - campaign pacing', () => {
  it('starts an idle campaign now, the next start one interval later', () => {
    // 60 calls a minute: one a second.
    expect(take(null, 10_000, 60)).toEqual({ due: 1, next: at(11_000) });
  });

  it('has nothing due before the slot', () => {
    expect(dueSlots(at(10_000), at(9_999), 60)).toBeNull();
  });

  it('keeps to the grid when a start is a little late, so the pace does not drift', () => {
    // Slot at 10 000, started 200 ms late: the next is still 11 000.
    expect(take(at(10_000), 10_200, 60)).toEqual({ due: 1, next: at(11_000) });
  });

  it('gives a late pass of a fast campaign every slot it missed, in one batch', () => {
    // 1 200 a minute: a slot every 50 ms. A pass 180 ms after the slot owes 4 (0, 50, 100, 150).
    expect(take(at(10_000), 10_180, 1_200)).toEqual({ due: 4, next: at(10_200) });
  });

  it('catches a fast campaign up by at most CATCH_UP_MS after a wait', () => {
    // Waited a minute at its cap: the slots of the last CATCH_UP_MS only, not 1 200.
    const { due, next } = take(at(10_000), 70_000, 1_200);
    expect(due).toBe(CATCH_UP_MS / 50 + 1);
    expect(next.getTime()).toBe(70_000 - CATCH_UP_MS + due * 50);
  });

  it('catches a slow campaign up by at most half an interval after a long idle time', () => {
    expect(take(at(10_000), 50_000, 60)).toEqual({ due: 1, next: at(50_500) });
  });

  it('moves the slot by the slots taken when the cap leaves room for fewer', () => {
    const slots = dueSlots(at(10_000), at(10_180), 1_200)!;
    expect(afterSlots(slots, 1)).toEqual(at(10_050));
  });

  it('never allows more than callsPerMinute + 1 starts in a minute, however late each is', () => {
    let slot: Date | null = null;
    let now = 0;
    const starts: number[] = [];
    for (let i = 0; i < 200; i++) {
      const taken = take(slot, now, 30);
      for (let k = 0; k < taken.due; k++) starts.push(now);
      slot = taken.next;
      // Start at the slot, or up to 1.5 s late.
      now = slot.getTime() + ((i * 7919) % 1_500);
    }
    for (const s of starts) {
      expect(starts.filter((t) => t >= s && t < s + 60_000).length).toBeLessThanOrEqual(31);
    }
  });

  it('holds a fast pace within one catch-up window, and keeps it, however late the passes', () => {
    // 1 200 a minute with passes 0-300 ms late: any second holds at most 20 + CATCH_UP_MS/50 + 1
    // starts, and the long run keeps the pace.
    let slot: Date | null = null;
    let now = 0;
    const starts: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const taken = take(slot, now, 1_200);
      for (let k = 0; k < taken.due; k++) starts.push(now);
      slot = taken.next;
      now = slot.getTime() + ((i * 7919) % 300);
    }
    for (const s of starts) {
      expect(starts.filter((t) => t >= s && t < s + 1_000).length).toBeLessThanOrEqual(
        20 + CATCH_UP_MS / 50 + 1,
      );
    }
    const rate = (starts.length - 1) / ((starts.at(-1)! - starts[0]!) / 60_000);
    expect(rate).toBeLessThanOrEqual(1_200 * 1.01);
    expect(rate).toBeGreaterThan(1_200 * 0.99);
  });

  it('treats a pace below one a minute as one a minute', () => {
    expect(take(null, 0, 0).next).toEqual(at(60_000));
  });
});
