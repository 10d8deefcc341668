import { describe, expect, it } from 'vitest';

import { speechDurationMs, type RecordingEntry, type SentEvent } from '@app/sim';

import { countCallFrames, type ModelSide } from '../src/soak/frame-ledger.js';
import { slopePerMinute } from '../src/soak/trend.js';

const ANSWER = 'It should arrive within two working days.';
/** Frames the answer needs: 8 µ-law bytes a ms, 160 a frame. */
const ANSWER_FRAMES = Math.ceil((speechDurationMs(ANSWER) * 8) / 160);
/** 100 ms deltas (800 bytes) carrying it. */
const ANSWER_DELTAS = Math.ceil((speechDurationMs(ANSWER) * 8) / 800);

const entry = (kind: string, data?: Record<string, unknown>): RecordingEntry =>
  data === undefined ? { atMs: 0, atEpochMs: 0, kind } : { atMs: 0, atEpochMs: 0, kind, data };

const at = (kind: string, atEpochMs: number, data?: Record<string, unknown>): RecordingEntry => ({
  ...entry(kind, data),
  atEpochMs,
});

/** Caller side; the caller hangs up at 10 000 (epoch ms), model deltas end by 5 000. */
function recording(sent: number, received: number): RecordingEntry[] {
  return [
    ...Array.from({ length: received }, () => entry('received.media', { bytes: 160 })),
    at('stream.caller-hangup', 10_000),
    at('sent.stop', 10_000, { reason: 'caller-hangup', mediaSent: sent }),
  ];
}

function model(o: {
  inputFrames: number;
  cutDeltas?: number;
  /** Deltas of the answer: fewer than the line needs means it was stopped. */
  answerDeltas?: number;
  lastDeltaAt?: number;
}): ModelSide {
  const n = o.answerDeltas ?? ANSWER_DELTAS;
  const sent: SentEvent[] = Array.from({ length: n }, (_v, i) => ({
    type: 'response.output_audio.delta',
    atEpochMs: i === n - 1 ? (o.lastDeltaAt ?? 5_000) : i,
    itemId: 'item_a',
  }));
  const said: ModelSide['said'][number][] = [{ role: 'agent', text: ANSWER, itemId: 'item_a' }];
  if (o.cutDeltas !== undefined) {
    said.push({ role: 'agent', text: 'We open at nine', itemId: 'item_b' });
    for (let i = 0; i < o.cutDeltas; i += 1)
      sent.push({ type: 'response.output_audio.delta', atEpochMs: i, itemId: 'item_b' });
    sent.push({ type: 'conversation.item.truncated', atEpochMs: 99, itemId: 'item_b' });
  }
  return { inputAudioMs: o.inputFrames * 20, said, sent };
}

describe('frame ledger of one call', () => {
  it('balances when every side counted the same frames', () => {
    const f = countCallFrames({
      recording: recording(500, ANSWER_FRAMES),
      bridge: { framesIn: 500, framesOut: ANSWER_FRAMES, framesDropped: 0 },
      model: model({ inputFrames: 500 }),
    });
    expect(f.complete).toBe(true);
    expect(f.callerToModel).toEqual({
      sent: 500,
      bridged: 500,
      received: 500,
      lost: 0,
      duplicated: 0,
    });
    expect(f.modelToCaller).toMatchObject({ uncutNeeded: ANSWER_FRAMES, lost: 0, duplicated: 0 });
  });

  it('counts a caller frame the model never got, and a bridge frame the caller never got', () => {
    const f = countCallFrames({
      recording: recording(500, ANSWER_FRAMES - 1),
      bridge: { framesIn: 500, framesOut: ANSWER_FRAMES, framesDropped: 0 },
      model: model({ inputFrames: 498 }),
    });
    expect(f.callerToModel.lost).toBe(2);
    expect(f.modelToCaller.lost).toBe(1);
  });

  it('counts uncut answer audio the bridge never wrote as lost, and frames beyond the model`s as duplicated', () => {
    const short = countCallFrames({
      recording: recording(10, ANSWER_FRAMES - 3),
      bridge: { framesIn: 10, framesOut: ANSWER_FRAMES - 3, framesDropped: 0 },
      model: model({ inputFrames: 10 }),
    });
    expect(short.modelToCaller.lost).toBe(3);
    // A cut answer of 4 deltas may fill up to 20 frames; 25 more is duplication.
    const extra = countCallFrames({
      recording: recording(10, ANSWER_FRAMES + 25),
      bridge: { framesIn: 10, framesOut: ANSWER_FRAMES + 25, framesDropped: 0 },
      model: model({ inputFrames: 12, cutDeltas: 4 }),
    });
    expect(extra.modelToCaller).toMatchObject({ cutAtMost: 20, lost: 0, duplicated: 5 });
    expect(extra.callerToModel.duplicated).toBe(2);
  });

  it('is incomplete without one side, and reports the bridge`s drops', () => {
    const f = countCallFrames({
      recording: [entry('received.media')],
      bridge: { framesIn: 0, framesOut: 1, framesDropped: 7 },
      model: null,
    });
    expect(f.complete).toBe(false);
    expect(f.dropped).toBe(7);
  });
});

describe('frame ledger: stopped answers and hang-ups', () => {
  it('counts every delta of an answer stopped early as five frames', () => {
    const f = countCallFrames({
      recording: recording(10, 15),
      bridge: { framesIn: 10, framesOut: 15, framesDropped: 0 },
      model: model({ inputFrames: 10, answerDeltas: 3 }),
    });
    expect(f.modelToCaller).toMatchObject({ uncutNeeded: 15, lost: 0, duplicated: 0 });
  });

  it('counts the audio in flight when the caller hung up on the agent as hung up on, not lost', () => {
    const during = countCallFrames({
      recording: recording(10, ANSWER_FRAMES - 30),
      bridge: { framesIn: 10, framesOut: ANSWER_FRAMES - 10, framesDropped: 0 },
      model: model({ inputFrames: 10, lastDeltaAt: 9_500 }),
    });
    expect(during.hungUpDuringAgentAudio).toBe(true);
    expect(during.modelToCaller).toMatchObject({ lost: 0, cutByHangUp: 30 });
    // The same shortfall with the agent long quiet before the hang-up is loss.
    const after = countCallFrames({
      recording: recording(10, ANSWER_FRAMES - 30),
      bridge: { framesIn: 10, framesOut: ANSWER_FRAMES - 10, framesDropped: 0 },
      model: model({ inputFrames: 10, lastDeltaAt: 8_000 }),
    });
    expect(after.hungUpDuringAgentAudio).toBe(false);
    expect(after.modelToCaller).toMatchObject({ lost: 30, cutByHangUp: 0 });
  });

  it('takes the answer a hang-up stopped, whose said part needs as many deltas as were sent, as no duplication', () => {
    // The hang-up stopped the answer after its last full delta: the bridge wrote every frame of
    // every delta, more than the line said so far needs, though no fewer deltas than it.
    const stopped = countCallFrames({
      recording: recording(10, ANSWER_DELTAS * 5),
      bridge: { framesIn: 10, framesOut: ANSWER_DELTAS * 5, framesDropped: 0 },
      model: model({ inputFrames: 10, lastDeltaAt: 9_800 }),
    });
    expect(ANSWER_DELTAS * 5).toBeGreaterThan(ANSWER_FRAMES);
    expect(stopped.hungUpDuringAgentAudio).toBe(true);
    expect(stopped.modelToCaller).toMatchObject({ lost: 0, duplicated: 0 });
    // The same frames with the answer long finished before the hang-up are duplicates.
    const finished = countCallFrames({
      recording: recording(10, ANSWER_DELTAS * 5),
      bridge: { framesIn: 10, framesOut: ANSWER_DELTAS * 5, framesDropped: 0 },
      model: model({ inputFrames: 10, lastDeltaAt: 8_000 }),
    });
    expect(finished.modelToCaller.duplicated).toBe(ANSWER_DELTAS * 5 - ANSWER_FRAMES);
  });
});

describe('slope per minute', () => {
  it('is the least-squares slope scaled to a minute, null without two distinct times', () => {
    const pts = [0, 30, 60, 90].map((atSec) => ({
      atSec,
      value: 1_000 + atSec * 2 + (atSec % 90 === 0 ? 5 : -5),
    }));
    expect(slopePerMinute(pts)).toBeCloseTo(120, 6);
    expect(slopePerMinute([{ atSec: 1, value: 1 }])).toBeNull();
    expect(
      slopePerMinute([
        { atSec: 1, value: 1 },
        { atSec: 1, value: 5 },
      ]),
    ).toBeNull();
  });
});
