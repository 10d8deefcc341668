import { describe, expect, it } from 'vitest';

import type { RecordingEntry, SentEvent } from '@app/sim';

import { analyseCall } from '../src/load/call-timing.js';

const media = (atEpochMs: number): RecordingEntry => ({
  atMs: 0,
  atEpochMs,
  kind: 'received.media',
  data: { bytes: 160 },
});
const delta = (atEpochMs: number, itemId: string): SentEvent => ({
  type: 'response.output_audio.delta',
  atEpochMs,
  itemId,
});

describe('end-to-end call timing', () => {
  it('pairs each delta with its five frames and counts a frame over 20 ms as late', () => {
    const sent = [delta(1_000, 'a'), delta(1_100, 'a'), delta(1_200, 'a')];
    const recording = [
      ...[1_002, 1_002, 1_002, 1_002, 1_002].map(media),
      ...[1_130, 1_130, 1_130, 1_130, 1_130].map(media),
      // The last delta of an item may carry fewer frames (and a padded one).
      ...[1_203, 1_203].map(media),
    ];
    const t = analyseCall({
      placedAtEpochMs: 900,
      recording,
      sent,
      lateFrameMs: 20,
      generatorStall: () => 0,
    });
    expect(t.frames.map((f) => f.latencyMs)).toEqual([2, 2, 2, 2, 2, 30, 30, 30, 30, 30, 3, 3]);
    expect(t.frames.filter((f) => f.late)).toHaveLength(5);
    expect(t.unmatchedFrames).toBe(0);
    expect(t.firstAudioMs).toBe(102);
  });

  it('does not count as late what the generator`s own stall explains', () => {
    const t = analyseCall({
      placedAtEpochMs: 0,
      recording: [1_030, 1_030, 1_030, 1_030, 1_030].map(media),
      sent: [delta(1_000, 'a')],
      lateFrameMs: 20,
      generatorStall: (from, to) => (from <= 1_005 && to >= 1_025 ? 20 : 0),
    });
    expect(t.frames.every((f) => f.lateRaw && !f.late)).toBe(true);
  });

  it('measures barge-in from speech_started to the caller`s clear and to the truncation', () => {
    const t = analyseCall({
      placedAtEpochMs: 0,
      recording: [{ atMs: 0, atEpochMs: 5_003, kind: 'received.clear' }],
      sent: [
        { type: 'input_audio_buffer.speech_started', atEpochMs: 5_000 },
        { type: 'conversation.item.truncated', atEpochMs: 5_004, itemId: 'a' },
      ],
      lateFrameMs: 20,
      generatorStall: () => 0,
    });
    expect(t.clearMs).toEqual([3]);
    expect(t.truncateMs).toEqual([4]);
  });
});
