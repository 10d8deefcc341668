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
});
