import { describe, expect, it } from 'vitest';

import {
  AgentAudioOut,
  FRAME_BYTES,
  MARK_EVERY_FRAMES,
  type TwilioOutbound,
} from '../src/domain/agent-audio-out.js';

/** An AgentAudioOut over a recording Twilio leg; `writes` holds what each socket write carried. */
function harness(
  opts: { batching?: boolean; accept?: (m: TwilioOutbound, i: number) => boolean } = {},
) {
  const writes: TwilioOutbound[][] = [];
  let batch: TwilioOutbound[] | null = null;
  let sendCount = 0;
  const sent = { frames: 0, dropped: 0 };
  const out = new AgentAudioOut(
    {
      send: (m) => {
        const i = sendCount++;
        if (opts.accept && !opts.accept(m, i)) return false;
        if (batch) batch.push(m);
        else writes.push([m]);
        return true;
      },
      ...(opts.batching === false
        ? {}
        : {
            batch: (sends: () => void) => {
              batch = [];
              sends();
              if (batch.length > 0) writes.push(batch);
              batch = null;
            },
          }),
      close: () => undefined,
    },
    'MZ1',
    { sent: () => (sent.frames += 1), dropped: () => (sent.dropped += 1) },
  );
  return { out, writes, sent };
}

const audio = (bytes: number) => Buffer.alloc(bytes, 0x7f).toString('base64');
const kinds = (ms: TwilioOutbound[]) =>
  ms.map((m) => (m.event === 'mark' ? `mark:${m.mark.name}` : m.event));

describe('AgentAudioOut', () => {
  it('sends a delta as 20 ms frames in one write, with one mark after the last frame', () => {
    const h = harness();
    h.out.delta('item_1', audio(4 * FRAME_BYTES), 0);
    expect(h.writes).toHaveLength(1);
    expect(kinds(h.writes[0]!)).toEqual(['media', 'media', 'media', 'media', 'mark:m1']);
    expect(h.out.clock.sentMs('item_1')).toBe(80);
    h.out.clock.echoed('m1', 100);
    expect(h.out.clock.heardMs('item_1')).toBe(80);
  });

  it(`marks a long delta every ${MARK_EVERY_FRAMES} frames, so an echo confirms every 100 ms`, () => {
    const h = harness();
    h.out.delta('item_1', audio(12 * FRAME_BYTES), 0);
    const marks = h.writes[0]!.filter((m) => m.event === 'mark');
    expect(kinds(h.writes[0]!).indexOf('mark:m1')).toBe(MARK_EVERY_FRAMES);
    expect(marks).toHaveLength(3);
    h.out.clock.echoed('m1', 0);
    expect(h.out.clock.heardMs('item_1')).toBe(100);
    h.out.clock.echoed('m2', 100);
    expect(h.out.clock.heardMs('item_1')).toBe(200);
    // Between echoes the caller's position is extrapolated, never past what was sent.
    expect(h.out.clock.estimateHeardMs('item_1', 130)).toBe(230);
    expect(h.out.clock.estimateHeardMs('item_1', 900)).toBe(240);
  });

  it('keeps a part frame for the next delta and marks only whole frames sent', () => {
    const h = harness();
    h.out.delta('item_1', audio(FRAME_BYTES + 40), 0);
    expect(kinds(h.writes.flat())).toEqual(['media', 'mark:m1']);
    h.out.delta('item_1', audio(FRAME_BYTES - 40), 0);
    expect(kinds(h.writes.flat())).toEqual(['media', 'mark:m1', 'media', 'mark:m2']);
    // A delta shorter than a frame sends nothing and writes nothing.
    h.out.delta('item_1', audio(10), 0);
    expect(h.writes).toHaveLength(2);
    h.out.done('item_1');
    expect(kinds(h.writes.at(-1)!)).toEqual(['media', 'mark:m3']);
    expect(h.out.clock.sentMs('item_1')).toBe(41); // 2 frames + 10 bytes of real audio
  });

  it('a frame the socket refuses is dropped and counted, and no mark covers it', () => {
    // The second media message is refused (full socket).
    let media = 0;
    const h = harness({ accept: (m) => m.event !== 'media' || ++media !== 2 });
    h.out.delta('item_1', audio(3 * FRAME_BYTES), 0);
    expect(h.sent).toEqual({ frames: 2, dropped: 1 });
    expect(h.out.clock.sentMs('item_1')).toBe(40);
  });

  it('with nothing sent, no mark goes out and nothing counts as playing', () => {
    const h = harness({ accept: () => false });
    h.out.delta('item_1', audio(2 * FRAME_BYTES), 0);
    expect(h.writes).toEqual([]);
    expect(h.out.clock.playing).toBe(false);
    expect(h.out.clear(0)).toBeNull();
  });

  it('works without batching: each message is its own write', () => {
    const h = harness({ batching: false });
    h.out.delta('item_1', audio(2 * FRAME_BYTES), 0);
    expect(h.writes.map(kinds)).toEqual([['media'], ['media'], ['mark:m1']]);
  });

  it('a new item closes the previous one: its part frame and mark go out first', () => {
    const h = harness();
    h.out.delta('item_1', audio(FRAME_BYTES + 80), 0);
    h.out.delta('item_2', audio(FRAME_BYTES), 0);
    const names = h.writes.flat().filter((m) => m.event === 'mark');
    expect(names).toHaveLength(3);
    expect(h.out.clock.sentMs('item_1')).toBe(30);
    expect(h.out.clock.sentMs('item_2')).toBe(20);
    expect(h.out.item).toBe('item_2');
  });
});
