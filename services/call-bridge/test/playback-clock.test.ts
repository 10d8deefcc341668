import { describe, expect, it } from 'vitest';

import { PlaybackClock } from '../src/domain/playback-clock.js';

describe('PlaybackClock', () => {
  it('counts pcmu audio as bytes / 8 ms and hears only up to the last echoed mark', () => {
    const clock = new PlaybackClock();
    const m1 = clock.sent('item_a', 160);
    const m2 = clock.sent('item_a', 160);
    const m3 = clock.sent('item_a', 320);
    expect(clock.sentMs('item_a')).toBe(80);
    expect(clock.heardMs('item_a')).toBe(0);
    expect(clock.playing).toBe(true);
    expect(clock.echoed(m1)).toBe(true);
    expect(clock.heardMs('item_a')).toBe(20);
    // An echo implies every earlier mark played too.
    expect(clock.echoed(m3)).toBe(true);
    expect(clock.heardMs('item_a')).toBe(80);
    expect(clock.echoed(m2)).toBe(false);
    expect(clock.playing).toBe(false);
  });

  it('keeps items apart and ignores marks of cleared audio', () => {
    const clock = new PlaybackClock();
    const a = clock.sent('item_a', 800);
    clock.echoed(a);
    const b1 = clock.sent('item_b', 400);
    const b2 = clock.sent('item_b', 400);
    clock.echoed(b1);
    expect(clock.heardMs('item_a')).toBe(100);
    expect(clock.heardMs('item_b')).toBe(50);
    clock.cleared();
    expect(clock.playing).toBe(false);
    // Twilio may echo marks of cleared audio: they were never played.
    expect(clock.echoed(b2)).toBe(false);
    expect(clock.heardMs('item_b')).toBe(50);
    expect(clock.heardMs('unknown')).toBe(0);
  });

  it('estimates what was heard from the last echo of the item plus the time since, never beyond what was sent', () => {
    const clock = new PlaybackClock();
    const marks = [1, 2, 3, 4, 5].map(() => clock.sent('item_a', 160));
    // Nothing echoed yet: nothing is known to have played.
    expect(clock.estimateHeardMs('item_a', 1_000)).toBe(0);
    clock.echoed(marks[1]!, 1_000); // 40 ms confirmed at t=1000
    expect(clock.estimateHeardMs('item_a', 1_000)).toBe(40);
    expect(clock.estimateHeardMs('item_a', 1_013)).toBe(53);
    // Twilio cannot have played more than it was given.
    expect(clock.estimateHeardMs('item_a', 5_000)).toBe(100);
    // Another item's echo says nothing about this one's playback.
    const b = clock.sent('item_b', 160);
    clock.echoed(b, 2_000);
    expect(clock.estimateHeardMs('item_b', 2_010)).toBe(20);
  });
});
